import Ice
import Logging
import NIOCore

/// `FileTransfer::Store` (identity `store`): opens uploads and reads committed files. Every
/// operation does blocking disk I/O; the runtime runs it on the server thread pool.
final class StoreServantImpl: StoreServant {
    let store: FileStore
    let logger: Logger

    init(store: FileStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    func open(path: String, size: Int64, overwrite: Bool, resume: Bool, current: Current) throws -> UploadPrx? {
        let handle = try mapped(current, path) { () throws(FileStoreError) in
            try store.open(path: path, size: size, overwrite: overwrite, resume: resume)
        }
        guard let adapter = current.adapter else {
            throw ObjectNotExistException(id: current.id, facet: current.facet, operation: current.operation)
        }
        logger.info(handle.resumed ? "upload resumed" : "upload started", metadata: [
            "upload": "\(handle.id)", "path": "\(handle.path)", "size": "\(handle.size)",
            "remote": "\(current.connection?.remoteAddress ?? "")",
        ])
        return uncheckedCast(adapter.createProxy(FileServer.uploadIdentity(handle.id)), to: UploadPrx.self)
    }

    func stat(path: String, current: Current) throws -> FileInfo {
        try mapped(current, path) { () throws(FileStoreError) in try store.stat(path: path) }
    }

    func list(dir: String, current: Current) throws -> [FileInfo] {
        try mapped(current, dir) { () throws(FileStoreError) in try store.list(dir: dir) }
    }

    func read(path: String, offset: Int64, length: Int32, current: Current) throws -> ByteBuffer {
        try mapped(current, path) { () throws(FileStoreError) in try store.read(path: path, offset: offset, length: length) }
    }

    /// Runs `body`, turning a `FileStoreError` into its Slice exception (and a log line).
    private func mapped<T>(_ current: Current, _ path: String, _ body: () throws(FileStoreError) -> T) throws -> T {
        do {
            return try body()
        } catch {
            logFailure(logger, error, operation: current.operation, metadata: ["path": "\(path)"])
            throw error.transferError
        }
    }
}

/// One log line per failed request: warnings for what the client can fix, errors for the server.
func logFailure(_ logger: Logger, _ error: FileStoreError, operation: String, metadata: Logger.Metadata) {
    var metadata = metadata
    metadata["operation"] = "\(operation)"
    metadata["error"] = "\(error)"
    if case .storage = error {
        logger.error("request failed", metadata: metadata)
    } else {
        logger.warning("request failed", metadata: metadata)
    }
}
