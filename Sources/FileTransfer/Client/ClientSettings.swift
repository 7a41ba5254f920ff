import Ice

/// ftclient's settings: each one a command-line flag and a `FileClient.*` property (in the
/// config file or as `--FileClient.Name=value`); a flag wins over the property, which wins over
/// the default.
public struct ClientSettings: Sendable, Equatable {
    public static let defaultProxy = "store:tcp -h 127.0.0.1 -p 10000"
    public static let defaultHost = "127.0.0.1"
    public static let defaultPort = 10000
    /// Largest chunk: the server's largest read, and far below Int32.max.
    public static let maxChunkSize = 64 << 20
    /// The window without a flag or property: `auto`. Measured with release builds over
    /// emulated WAN links (RTT 20 ms at 500 Mbit/s, RTT 50 ms at 200 Mbit/s, 256 KiB chunks) it
    /// fills both as well as `--window 8` (≥ 0.95 of the link rate), does as well on loopback,
    /// and unlike a fixed window keeps filling links whose bandwidth-delay product exceeds
    /// 8 chunks. See docs/ftclient.md.
    public static let defaultWindow: WindowSetting = .auto

    /// The store's proxy (`FileClient.Proxy`, or built from `FileClient.Host`/`FileClient.Port`).
    public var proxy = ClientSettings.defaultProxy
    /// `FileClient.ChunkSize`: bytes per request (`256KiB`).
    public var chunkSize = 256 * 1024
    /// `FileClient.Window`: most requests outstanding, or `auto` (the default, see `defaultWindow`).
    public var window: WindowSetting = ClientSettings.defaultWindow
    /// `FileClient.MaxInFlight`: the memory cap of `auto` (64MiB).
    public var maxInFlight = 64 << 20
    /// `FileClient.Compress`: off, on or auto (off).
    public var compression = CompressionMode.off
    /// `FileClient.Level`: zlib level 1–9 (1).
    public var level = 1
    /// `FileClient.Checksum`: the end-to-end checksum of `send` (committed) and `get`
    /// (reported), xxh3, xxh64 or sha256 (xxh3).
    public var checksum = ChecksumAlgorithm.standard
    /// `FileClient.Retries`: reconnections in a row without progress before giving up (5).
    public var retries = 5
    /// `FileClient.RetryDelay`: first reconnection delay in ms, doubled each time (200).
    public var retryDelay: Duration = .milliseconds(200)
    /// `FileClient.Timeout`: per-request timeout in seconds, 0 for none (60).
    public var timeout: Duration? = .seconds(60)
    /// `FileClient.Progress`: show progress on a terminal (1).
    public var progress = true
    /// `FileClient.Overwrite` (0), `FileClient.Resume` (0), `FileClient.Json` (0).
    public var overwrite = false
    public var resume = false
    public var json = false

    public init() {}

    /// Values given as flags; nil when absent.
    public struct Flags: Sendable {
        public var proxy: String?
        public var host: String?
        public var port: Int?
        public var chunkSize: String?
        public var window: WindowSetting?
        public var maxInFlight: String?
        public var compress: String?
        public var level: Int?
        public var checksum: String?
        public var retries: Int?
        public var noProgress = false
        public var overwrite = false
        public var resume = false
        public var json = false

        public init() {}
    }

    /// Resolves every setting from `flags`, then `properties`, then the defaults.
    public static func resolve(_ properties: Properties, flags: Flags) throws -> ClientSettings {
        var s = ClientSettings()
        func prop(_ name: String) -> String? {
            let v = properties.getProperty("FileClient.\(name)")
            return v.isEmpty ? nil : v
        }
        func int(_ name: String) throws -> Int? {
            guard let text = prop(name) else { return nil }
            guard let n = Int(text.trimmingASCIIWhitespace()) else {
                throw UsageError("invalid value `\(text)' for property FileClient.\(name): expected an integer")
            }
            return n
        }
        func bool(_ name: String) throws -> Bool? {
            guard let text = prop(name)?.trimmingASCIIWhitespace().lowercased() else { return nil }
            switch text {
            case "1", "yes", "true", "on": return true
            case "0", "no", "false", "off": return false
            default: throw UsageError("invalid value `\(text)' for property FileClient.\(name): expected 1 or 0")
            }
        }

        // Where the store is.
        if flags.proxy != nil, flags.host != nil || flags.port != nil {
            throw UsageError("use either --proxy or --host/--port, not both")
        }
        if let p = flags.proxy {
            s.proxy = p
        } else if flags.host != nil || flags.port != nil || prop("Host") != nil || prop("Port") != nil {
            let host = flags.host ?? prop("Host") ?? defaultHost
            let port = try flags.port ?? int("Port") ?? defaultPort
            guard (1...65535).contains(port) else { throw UsageError("invalid port \(port): expected 1 to 65535") }
            s.proxy = "store:tcp -h \(host) -p \(port)"
        } else if let p = prop("Proxy") {
            s.proxy = p
        }

        if let text = flags.chunkSize ?? prop("ChunkSize") {
            guard let size = ByteSize.parse(text), size >= 1, size <= maxChunkSize else {
                throw UsageError("invalid chunk size `\(text)': expected 1 byte to 64MiB, e.g. 262144, 256KiB or 1MiB")
            }
            s.chunkSize = size
        }
        var window = flags.window
        if window == nil, let text = prop("Window") {
            guard let w = WindowSetting.parse(text) else {
                throw UsageError("invalid value `\(text)' for property FileClient.Window: expected auto or 1 to 1024")
            }
            window = w
        }
        if let window {
            if case .fixed(let w) = window, !(1...1024).contains(w) {
                throw UsageError("invalid window \(w): expected auto or 1 to 1024")
            }
            s.window = window
        }
        if let text = flags.maxInFlight ?? prop("MaxInFlight") {
            guard let size = ByteSize.parse(text), size >= 1 else {
                throw UsageError("invalid in-flight cap `\(text)': expected a size such as 64MiB")
            }
            s.maxInFlight = size
        }
        if let text = flags.compress ?? prop("Compress") {
            guard let mode = CompressionMode(rawValue: text.trimmingASCIIWhitespace().lowercased()) else {
                throw UsageError("invalid compression `\(text)': expected off, on or auto")
            }
            s.compression = mode
        }
        if let l = try flags.level ?? int("Level") {
            guard (1...9).contains(l) else { throw UsageError("invalid compression level \(l): expected 1 to 9") }
            s.level = l
        }
        if let text = flags.checksum ?? prop("Checksum") {
            guard let algorithm = ChecksumAlgorithm(parsing: text) else {
                throw UsageError("invalid checksum `\(text)': expected xxh3, xxh64 or sha256")
            }
            s.checksum = algorithm
        }
        if let r = try flags.retries ?? int("Retries") {
            guard r >= 0 else { throw UsageError("invalid retries \(r): expected 0 or more") }
            s.retries = r
        }
        if let ms = try int("RetryDelay") {
            guard ms >= 0 else { throw UsageError("invalid FileClient.RetryDelay \(ms): expected milliseconds >= 0") }
            s.retryDelay = .milliseconds(ms)
        }
        if let t = try int("Timeout") {
            guard t >= 0 else { throw UsageError("invalid FileClient.Timeout \(t): expected seconds >= 0") }
            s.timeout = t == 0 ? nil : .seconds(t)
        }
        s.progress = flags.noProgress ? false : try bool("Progress") ?? true
        s.overwrite = flags.overwrite ? true : try bool("Overwrite") ?? false
        s.resume = flags.resume ? true : try bool("Resume") ?? false
        s.json = flags.json ? true : try bool("Json") ?? false
        return s
    }

    /// `Ice.MessageSizeMax` (KiB) that fits a request or reply carrying one chunk: the chunk plus
    /// 64 KiB for headers, never below Ice's default of 1024.
    public static func messageSizeMaxKiB(forChunkSize chunkSize: Int) -> Int {
        max(1024, (chunkSize + 64 * 1024 + 1023) / 1024)
    }

    /// Sets `Ice.MessageSizeMax` for `chunkSize` unless the user set it.
    public static func applyMessageSizeMax(to properties: Properties, chunkSize: Int) {
        if properties.getProperty("Ice.MessageSizeMax").isEmpty {
            properties.setProperty("Ice.MessageSizeMax", String(messageSizeMaxKiB(forChunkSize: chunkSize)))
        }
    }

    public var sendOptions: SendOptions {
        var o = SendOptions()
        o.chunkSize = chunkSize
        o.windowSetting = window
        o.maxBytesInFlight = maxInFlight
        o.compression = compression
        o.level = level
        o.overwrite = overwrite
        o.resume = resume
        o.checksum = checksum
        o.maxRetries = retries
        o.initialBackoff = retryDelay
        o.invocationTimeout = timeout
        return o
    }

    public var downloadOptions: DownloadOptions {
        var o = DownloadOptions()
        o.chunkSize = chunkSize
        o.windowSetting = window
        o.maxBytesInFlight = maxInFlight
        o.checksum = checksum
        o.maxRetries = retries
        o.initialBackoff = retryDelay
        o.invocationTimeout = timeout
        return o
    }
}
