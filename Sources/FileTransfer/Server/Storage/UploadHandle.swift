/// The result of `FileStore.open`: names an upload in progress.
public struct UploadHandle: Equatable, Hashable, Sendable {
    /// Server-chosen identifier of the upload (also the name of its staging files).
    public var id: String
    /// Normalised client path the upload will be committed to.
    public var path: String
    /// Declared size in bytes.
    public var size: Int64
    /// True when `open(resume: true)` continued an existing partial upload; its
    /// already stored ranges are then reported by `FileStore.received`.
    public var resumed: Bool

    public init(id: String, path: String, size: Int64, resumed: Bool = false) {
        self.id = id
        self.path = path
        self.size = size
        self.resumed = resumed
    }
}
