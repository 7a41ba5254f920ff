import Ice
import NIOCore

/// Proxy of `FileTransfer::Store` (identity `store`).
public struct StorePrx: ObjectPrx {
    public let _reference: Reference
    public init(_reference: Reference) { self._reference = _reference }
    public static var ice_staticId: String { "::FileTransfer::Store" }

    /// Starts (or with `resume`, continues) an upload of `size` bytes to `path`.
    public func openAsync(path: String, size: Int64, overwrite: Bool, resume: Bool, context: Context? = nil) throws -> InvocationFuture<UploadPrx?> {
        let communicator = _reference.communicator
        return try _invoke(
            "open", context: context,
            write: { $0.write(path); $0.write(size); $0.write(overwrite); $0.write(resume) },
            read: { try $0.readProxy(UploadPrx.self, communicator: communicator) },
            userExceptions: transferErrorTypes)
    }

    public func open(path: String, size: Int64, overwrite: Bool, resume: Bool, context: Context? = nil) throws -> UploadPrx? {
        try openAsync(path: path, size: size, overwrite: overwrite, resume: resume, context: context).result()
    }

    public func statAsync(path: String, context: Context? = nil) throws -> InvocationFuture<FileInfo> {
        try _invoke(
            "stat", mode: .idempotent, context: context, write: { $0.write(path) },
            read: { try $0.read(FileInfo.self) }, userExceptions: transferErrorTypes)
    }

    public func stat(path: String, context: Context? = nil) throws -> FileInfo {
        try statAsync(path: path, context: context).result()
    }

    public func listAsync(dir: String, context: Context? = nil) throws -> InvocationFuture<[FileInfo]> {
        try _invoke(
            "list", mode: .idempotent, context: context, write: { $0.write(dir) },
            read: { try $0.read([FileInfo].self) }, userExceptions: transferErrorTypes)
    }

    public func list(dir: String, context: Context? = nil) throws -> [FileInfo] {
        try listAsync(dir: dir, context: context).result()
    }

    /// Reads up to `length` bytes of `path` at `offset` (fewer at the end of the file).
    public func readAsync(path: String, offset: Int64, length: Int32, context: Context? = nil) throws -> InvocationFuture<ByteBuffer> {
        try _invoke(
            "read", mode: .idempotent, context: context,
            write: { $0.write(path); $0.write(offset); $0.write(length) },
            read: { try $0.readByteSeq() }, userExceptions: transferErrorTypes)
    }

    public func read(path: String, offset: Int64, length: Int32, context: Context? = nil) throws -> ByteBuffer {
        try readAsync(path: path, offset: offset, length: length, context: context).result()
    }
}

/// Servant side of `FileTransfer::Store`.
public protocol StoreServant: Servant {
    func open(path: String, size: Int64, overwrite: Bool, resume: Bool, current: Current) throws -> UploadPrx?
    func stat(path: String, current: Current) throws -> FileInfo
    func list(dir: String, current: Current) throws -> [FileInfo]
    func read(path: String, offset: Int64, length: Int32, current: Current) throws -> ByteBuffer
}

extension StoreServant {
    public var ice_ids: [String] { ["::FileTransfer::Store", "::Ice::Object"] }
    public var ice_id: String { StorePrx.ice_staticId }

    public func dispatch(_ request: IncomingRequest) -> DispatchResult? {
        let current = request.current
        switch current.operation {
        case "open":
            return request.dispatch(
                sliced: true,
                read: { (try $0.read(String.self), try $0.read(Int64.self), try $0.read(Bool.self), try $0.read(Bool.self)) },
                write: { $0.write(proxy: $1) }
            ) { try self.open(path: $0.0, size: $0.1, overwrite: $0.2, resume: $0.3, current: current) }
        case "stat":
            return request.dispatch(mode: .idempotent, sliced: true, read: { try $0.read(String.self) }, write: { $0.write($1) }) {
                try self.stat(path: $0, current: current)
            }
        case "list":
            return request.dispatch(mode: .idempotent, sliced: true, read: { try $0.read(String.self) }, write: { $0.write($1) }) {
                try self.list(dir: $0, current: current)
            }
        case "read":
            return request.dispatch(
                mode: .idempotent, sliced: true,
                read: { (try $0.read(String.self), try $0.read(Int64.self), try $0.read(Int32.self)) },
                write: { $0.write(bytes: $1) }
            ) { try self.read(path: $0.0, offset: $0.1, length: $0.2, current: current) }
        default:
            return nil
        }
    }
}
