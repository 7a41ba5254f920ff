import Ice
import NIOCore

/// Proxy of `FileTransfer::Upload`: one file being uploaded.
public struct UploadPrx: ObjectPrx {
    public let _reference: Reference
    public init(_reference: Reference) { self._reference = _reference }
    public static var ice_staticId: String { "::FileTransfer::Upload" }

    /// Stores `bytes` at `offset`. The reply comes once the server wrote them.
    public func sendAsync(offset: Int64, bytes: ByteBuffer, context: Context? = nil) throws -> InvocationFuture<Void> {
        try _invoke(
            "send", returnsData: true, context: context, write: { $0.write(offset); $0.write(bytes: bytes) },
            userExceptions: transferErrorTypes)
    }

    public func send(offset: Int64, bytes: ByteBuffer, context: Context? = nil) throws {
        try sendAsync(offset: offset, bytes: bytes, context: context).result()
    }

    /// Stores the zlib stream `zlibData`, which inflates to `length` bytes, at `offset`.
    public func sendCompressedAsync(offset: Int64, length: Int32, zlibData: ByteBuffer, context: Context? = nil) throws -> InvocationFuture<Void> {
        try _invoke(
            "sendCompressed", returnsData: true, context: context,
            write: { $0.write(offset); $0.write(length); $0.write(bytes: zlibData) },
            userExceptions: transferErrorTypes)
    }

    public func sendCompressed(offset: Int64, length: Int32, zlibData: ByteBuffer, context: Context? = nil) throws {
        try sendCompressedAsync(offset: offset, length: length, zlibData: zlibData, context: context).result()
    }

    /// The stored ranges, flattened as start, end, start, end…
    public func receivedAsync(context: Context? = nil) throws -> InvocationFuture<[Int64]> {
        try _invoke("received", mode: .idempotent, context: context, read: { try $0.read([Int64].self) })
    }

    public func received(context: Context? = nil) throws -> [Int64] {
        try receivedAsync(context: context).result()
    }

    /// Verifies `checksum` (`"xxh3:<16 hex>"`, `"xxh64:<16 hex>"`, `"sha256:<64 hex>"`, or 64 hex digits meaning
    /// SHA-256) and moves the file into place; returns what was stored, its checksum in the
    /// algorithm of `checksum`.
    public func commitAsync(checksum: String, context: Context? = nil) throws -> InvocationFuture<FileInfo> {
        try _invoke(
            "commit", context: context, write: { $0.write(checksum) }, read: { try $0.read(FileInfo.self) },
            userExceptions: transferErrorTypes)
    }

    public func commit(checksum: String, context: Context? = nil) throws -> FileInfo {
        try commitAsync(checksum: checksum, context: context).result()
    }

    /// Drops the partial upload.
    public func abortAsync(context: Context? = nil) throws -> InvocationFuture<Void> {
        try _invoke("abort", context: context)
    }

    public func abort(context: Context? = nil) throws {
        try abortAsync(context: context).result()
    }
}

/// Servant side of `FileTransfer::Upload`. `send` and `sendCompressed` are asynchronous (AMD):
/// they return a future completed once the bytes are written.
public protocol UploadServant: Servant {
    func send(offset: Int64, bytes: ByteBuffer, current: Current) throws -> Future<Void>
    func sendCompressed(offset: Int64, length: Int32, zlibData: ByteBuffer, current: Current) throws -> Future<Void>
    func received(current: Current) throws -> [Int64]
    func commit(checksum: String, current: Current) throws -> FileInfo
    func abort(current: Current) throws
}

extension UploadServant {
    public var ice_ids: [String] { ["::FileTransfer::Upload", "::Ice::Object"] }
    public var ice_id: String { UploadPrx.ice_staticId }

    public func dispatch(_ request: IncomingRequest) -> DispatchResult? {
        let current = request.current
        switch current.operation {
        case "send":
            return request.dispatchFuture(
                sliced: true, read: { (try $0.read(Int64.self), try $0.readByteSeq()) }, write: { _, _ in }
            ) { try self.send(offset: $0.0, bytes: $0.1, current: current) }
        case "sendCompressed":
            return request.dispatchFuture(
                sliced: true, read: { (try $0.read(Int64.self), try $0.read(Int32.self), try $0.readByteSeq()) },
                write: { _, _ in }
            ) { try self.sendCompressed(offset: $0.0, length: $0.1, zlibData: $0.2, current: current) }
        case "received":
            return request.dispatch(mode: .idempotent, read: { _ in () }, write: { $0.write($1) }) {
                try self.received(current: current)
            }
        case "commit":
            return request.dispatch(sliced: true, read: { try $0.read(String.self) }, write: { $0.write($1) }) {
                try self.commit(checksum: $0, current: current)
            }
        case "abort":
            return request.dispatch(read: { _ in () }, write: { _, _ in }) { try self.abort(current: current) }
        default:
            return nil
        }
    }
}
