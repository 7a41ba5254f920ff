import Ice

/// The server's settings, read from `FileServer.*` properties (see config/ftserver.conf).
///
/// | property                       | field                 | default                    |
/// |--------------------------------|-----------------------|----------------------------|
/// | `FileServer.Root`              | `root`                | `./ftserver-data`          |
/// | `FileServer.Endpoints`         | `endpoints`           | `tcp -h 127.0.0.1 -p 10000`|
/// | `FileServer.PublishedEndpoints`| `publishedEndpoints`  | the real listening ones    |
/// | `FileServer.Workers`           | `workers`             | 4                          |
/// | `FileServer.QueueLimit`        | `queueLimit`          | 32                         |
/// | `FileServer.MaxFileSize`       | `maxFileSize`         | 0 = no limit but free space|
/// | `FileServer.MaxChunkSize`      | `maxChunkSize`        | 16M                        |
/// | `FileServer.UploadTimeout`     | `uploadTimeout` (s)   | 3600                       |
/// | `FileServer.CleanupInterval`   | `cleanupInterval` (s) | min(60, UploadTimeout / 4) |
///
/// Sizes accept `K`, `M`, `G` suffixes (binary multiples).
public struct FileServerConfig: Sendable {
    /// Name of the object adapter, hence the prefix of its Ice properties
    /// (`FileServer.Endpoints`, `FileServer.PublishedEndpoints`, `FileServer.MaxDispatches`…).
    public static let adapterName = "FileServer"

    /// Directory the files are stored in (created if missing).
    public var root: String
    /// Where to listen, in Ice endpoint syntax (`-p 0` picks a free port).
    public var endpoints: String
    /// Endpoints put in the proxies `open` returns (e.g. behind NAT); empty = the real ones.
    public var publishedEndpoints: String
    /// Threads that inflate and write chunks.
    public var workers: Int
    /// Most write jobs held at once; also the adapter's `MaxDispatches` (beyond it the server
    /// stops reading from connections: TCP backpressure).
    public var queueLimit: Int
    /// Largest declared file size `open` accepts.
    public var maxFileSize: Int64
    /// Largest chunk `sendCompressed` may announce (bounds what one chunk inflates to).
    public var maxChunkSize: Int32
    /// Seconds without activity after which an upload is abandoned and removed.
    public var uploadTimeout: Int
    /// Seconds between two passes of the abandoned-upload cleanup.
    public var cleanupInterval: Int
    /// Test hook: runs on the worker thread before each write (e.g. to hold workers).
    public var beforeWrite: (@Sendable (_ uploadID: String, _ offset: Int64) -> Void)?

    public init(
        root: String = "./ftserver-data",
        endpoints: String = "tcp -h 127.0.0.1 -p 10000",
        publishedEndpoints: String = "",
        workers: Int = 4,
        queueLimit: Int = 32,
        maxFileSize: Int64 = .max,
        maxChunkSize: Int32 = 16 << 20,
        uploadTimeout: Int = 3600,
        cleanupInterval: Int? = nil,
        beforeWrite: (@Sendable (_ uploadID: String, _ offset: Int64) -> Void)? = nil
    ) {
        self.root = root
        self.endpoints = endpoints
        self.publishedEndpoints = publishedEndpoints
        self.workers = workers
        self.queueLimit = queueLimit
        self.maxFileSize = maxFileSize
        self.maxChunkSize = maxChunkSize
        self.uploadTimeout = uploadTimeout
        self.cleanupInterval = cleanupInterval ?? Self.defaultCleanupInterval(uploadTimeout)
        self.beforeWrite = beforeWrite
    }

    /// Reads `FileServer.*` from `properties`; fields not set keep their defaults.
    /// Throws `InitializationException` for an invalid value.
    public init(properties: Properties) throws {
        let p = Self.adapterName
        self.init()
        root = properties.getPropertyWithDefault("\(p).Root", root)
        endpoints = properties.getPropertyWithDefault("\(p).Endpoints", endpoints)
        publishedEndpoints = properties.getProperty("\(p).PublishedEndpoints")
        workers = try Self.positive(properties, "\(p).Workers", workers)
        queueLimit = try Self.positive(properties, "\(p).QueueLimit", queueLimit)
        let maxSize = try properties.getPropertyAsSize("\(p).MaxFileSize", default: 0)
        maxFileSize = maxSize == 0 ? .max : Int64(maxSize)
        let chunk = try properties.getPropertyAsSize("\(p).MaxChunkSize", default: Int(maxChunkSize))
        guard chunk >= 1, chunk <= Int(Int32.max) else {
            throw InitializationException("\(p).MaxChunkSize must be between 1 byte and 2G - 1 (got \(chunk))")
        }
        maxChunkSize = Int32(chunk)
        uploadTimeout = try Self.positive(properties, "\(p).UploadTimeout", uploadTimeout)
        cleanupInterval = try Self.positive(properties, "\(p).CleanupInterval", Self.defaultCleanupInterval(uploadTimeout))
        if root.isEmpty {
            throw InitializationException("\(p).Root is empty; set it to the directory the files are stored in")
        }
    }

    static func defaultCleanupInterval(_ uploadTimeout: Int) -> Int {
        max(1, min(60, uploadTimeout / 4))
    }

    private static func positive(_ properties: Properties, _ key: String, _ defaultValue: Int) throws -> Int {
        let text = properties.getProperty(key)
        if text.isEmpty { return defaultValue }
        guard let value = Int(text.trimmingSpaces), value >= 1 else {
            throw InitializationException("invalid value `\(text)' for property `\(key)': expected a positive integer")
        }
        return value
    }
}

private extension String {
    var trimmingSpaces: Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        var s = self[...]
        while let first = s.first, isSpace(first) { s = s.dropFirst() }
        while let last = s.last, isSpace(last) { s = s.dropLast() }
        return s
    }
}
