import Ice

extension FileStoreError {
    /// The Slice exception that reports this error to the client.
    public var transferError: TransferError {
        switch self {
        case .path(let reason, let path):
            return PathError(reason: reason, path: path)
        case .conflict(let reason, let path):
            return ConflictError(reason: reason, path: path)
        case .range(let reason, let offset, let length, let size):
            return RangeError(reason: reason, offset: offset, length: length, size: size)
        case .integrity(let reason, let expected, let actual):
            return IntegrityError(reason: reason, expected: expected, actual: actual)
        case .storage(let reason):
            return StorageError(reason: reason)
        }
    }
}

extension ChunkInflater.Failure {
    /// The `IntegrityError` a client gets for a chunk that does not inflate to `length` bytes.
    func transferError(offset: Int64, length: Int32) -> IntegrityError {
        let expected = "a zlib stream of \(length) bytes"
        let resend = "compress the chunk at offset \(offset) again (zlib format, RFC 1950) and resend it, or send it uncompressed"
        switch self {
        case .corrupt:
            return IntegrityError(reason: "the compressed chunk at offset \(offset) is not valid zlib data; \(resend)",
                                  expected: expected, actual: "corrupt zlib data")
        case .truncated(let actual):
            return IntegrityError(reason: "the compressed chunk at offset \(offset) is incomplete (the zlib stream ends early after \(actual) bytes); \(resend)",
                                  expected: expected, actual: "an incomplete zlib stream (\(actual) bytes)")
        case .tooLong:
            return IntegrityError(reason: "the compressed chunk at offset \(offset) inflates to more than the announced \(length) bytes; send the chunk's real uncompressed length",
                                  expected: expected, actual: "more than \(length) bytes")
        case .wrongLength(let actual):
            return IntegrityError(reason: "the compressed chunk at offset \(offset) inflates to \(actual) bytes, not the announced \(length); send the chunk's real uncompressed length",
                                  expected: expected, actual: "\(actual) bytes")
        case .trailingData(let count):
            return IntegrityError(reason: "the compressed chunk at offset \(offset) has \(count) extra bytes after the end of its zlib stream; send exactly one zlib stream per chunk",
                                  expected: expected, actual: "\(count) bytes after the stream")
        }
    }
}
