/// Errors raised by the storage layer.
///
/// Each case maps one-to-one onto an exception of the Slice contract:
///
/// | case        | Slice exception   |
/// |-------------|-------------------|
/// | `path`      | `PathError`       |
/// | `conflict`  | `ConflictError`   |
/// | `range`     | `RangeError`      |
/// | `integrity` | `IntegrityError`  |
/// | `storage`   | `StorageError`    |
///
/// Every `reason` is meant to be shown to a user as is: it says what went wrong and
/// what the client can do about it.
public enum FileStoreError: Error, Equatable, Sendable {
    /// The client path is unusable: empty, absolute, contains `..` or NUL, names the
    /// staging area, escapes the root (also through a symbolic link), or names
    /// something that does not exist / is of the wrong kind.
    case path(reason: String, path: String)
    /// The path already exists and overwrite was not requested, or it is busy
    /// (another upload of it is open, a commit is in progress), or the upload is no
    /// longer open.
    case conflict(reason: String, path: String)
    /// An offset/length is outside the file, or bytes are missing at commit.
    case range(reason: String, offset: Int64, length: Int32, size: Int64)
    /// The content does not have the expected checksum, or the checksum given is malformed.
    case integrity(reason: String, expected: String, actual: String)
    /// The server cannot store the data: disk full, quota, size limit, I/O error.
    case storage(reason: String)

    /// The human-readable reason of any case.
    public var reason: String {
        switch self {
        case .path(let reason, _), .conflict(let reason, _), .storage(let reason):
            return reason
        case .range(let reason, _, _, _):
            return reason
        case .integrity(let reason, _, _):
            return reason
        }
    }
}

extension FileStoreError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .path(let reason, let path):
            return "PathError(\(path)): \(reason)"
        case .conflict(let reason, let path):
            return "ConflictError(\(path)): \(reason)"
        case .range(let reason, let offset, let length, let size):
            return "RangeError(offset: \(offset), length: \(length), size: \(size)): \(reason)"
        case .integrity(let reason, let expected, let actual):
            return "IntegrityError(expected: \(expected), actual: \(actual)): \(reason)"
        case .storage(let reason):
            return "StorageError: \(reason)"
        }
    }
}
