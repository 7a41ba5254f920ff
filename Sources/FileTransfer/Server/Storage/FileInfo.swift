/// What the store tells about a stored file (Slice `FileInfo`).
public struct FileInfo: Equatable, Hashable, Sendable {
    /// Path relative to the store root, "/"-separated, as the client names it.
    public var path: String
    /// Size in bytes.
    public var size: Int64
    /// Checksum of the content, self-describing: `"xxh3:<16 hex digits>"` (what `stat` and
    /// `list` report), or `"xxh64:<16 hex digits>"` / `"sha256:<64 hex digits>"` (what `commit`
    /// returns when the client committed with that algorithm); `Checksum(parsing:)` reads it.
    public var checksum: String
    /// Last modification time, unix seconds.
    public var modified: Int64

    public init(path: String, size: Int64, checksum: String, modified: Int64) {
        self.path = path
        self.size = size
        self.checksum = checksum
        self.modified = modified
    }
}
