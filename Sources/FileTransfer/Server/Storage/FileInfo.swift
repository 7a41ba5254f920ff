/// What the store tells about a stored file (Slice `FileInfo`).
public struct FileInfo: Equatable, Hashable, Sendable {
    /// Path relative to the store root, "/"-separated, as the client names it.
    public var path: String
    /// Size in bytes.
    public var size: Int64
    /// SHA-256 of the content, lowercase hex (64 characters).
    public var sha256: String
    /// Last modification time, unix seconds.
    public var modified: Int64

    public init(path: String, size: Int64, sha256: String, modified: Int64) {
        self.path = path
        self.size = size
        self.sha256 = sha256
        self.modified = modified
    }
}
