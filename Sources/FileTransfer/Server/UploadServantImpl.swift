import Ice
import Logging
import NIOCore

/// The one default servant of category `upload`: the identity's name is the upload id.
///
/// `send` / `sendCompressed` check the range at once (RangeError), then queue a job and return
/// its future; a worker inflates and writes the chunk and completes the future, which sends the
/// reply. The other operations run on the dispatch thread.
final class UploadServantImpl: UploadServant {
    let store: FileStore
    let jobs: UploadJobQueue
    let maxChunkSize: Int32
    let beforeWrite: (@Sendable (String, Int64) -> Void)?
    let logger: Logger
    /// The buffers compressed chunks are inflated into.
    let inflated: ByteBufferPool

    init(store: FileStore, jobs: UploadJobQueue, inflated: ByteBufferPool, config: FileServerConfig, logger: Logger) {
        self.store = store
        self.jobs = jobs
        self.inflated = inflated
        self.maxChunkSize = config.maxChunkSize
        self.beforeWrite = config.beforeWrite
        self.logger = logger
    }

    /// `send` and `sendCompressed` only check the request and queue a job, so they run on the
    /// I/O thread that read them (no hop to the server thread pool). Queueing never waits: the
    /// adapter's `MaxDispatches` equals the queue's capacity, and every waiting job is a
    /// dispatch in progress.
    func dispatchesInline(_ operation: String) -> Bool {
        operation == "send" || operation == "sendCompressed" || Self.isBuiltinOperation(operation)
    }

    func send(offset: Int64, bytes: ByteBuffer, current: Current) throws -> Future<Void> {
        let upload = try openUpload(current)
        try checkRange(upload, offset: offset, length: Int64(bytes.readableBytes), operation: current.operation)
        // Raw chunks of one upload go through one worker at a time, in order (see `enqueue`).
        return enqueue(upload, offset: offset, operation: current.operation, inOrder: true) { bytes }
    }

    func sendCompressed(offset: Int64, length: Int32, zlibData: ByteBuffer, current: Current) throws -> Future<Void> {
        let upload = try openUpload(current)
        if length < 0 || length > maxChunkSize {
            let error = FileStoreError.range(
                reason: "a compressed chunk must inflate to between 0 and \(maxChunkSize) bytes (got a length of \(length)); send smaller chunks",
                offset: offset, length: length, size: upload.size)
            logFailure(logger, error, operation: current.operation, metadata: ["upload": "\(upload.id)"])
            throw error.transferError
        }
        try checkRange(upload, offset: offset, length: Int64(length), operation: current.operation)
        return enqueue(upload, offset: offset, operation: current.operation, inOrder: false) { () throws -> ByteBuffer in
            do throws(ChunkInflater.Failure) {
                return try ChunkInflater.inflate(zlibData, length: Int(length), buffers: self.inflated)
            } catch {
                let integrityError = error.transferError(offset: offset, length: length)
                self.logger.warning("request failed", metadata: [
                    "operation": "sendCompressed", "upload": "\(upload.id)", "offset": "\(offset)",
                    "error": "IntegrityError: \(integrityError.reason)",
                ])
                throw integrityError
            }
        }
    }

    func received(current: Current) throws -> [Int64] {
        let upload = try openUpload(current)
        return try mapped(upload, current) { () throws(FileStoreError) in try store.received(uploadID: upload.id) }
    }

    func commit(checksum: String, current: Current) throws -> FileInfo {
        let upload = try openUpload(current)
        let info = try mapped(upload, current) { () throws(FileStoreError) in
            try store.commit(uploadID: upload.id, checksum: checksum)
        }
        logger.info("upload committed", metadata: [
            "upload": "\(upload.id)", "path": "\(info.path)", "size": "\(info.size)", "checksum": "\(info.checksum)",
        ])
        return info
    }

    func abort(current: Current) throws {
        let upload = try openUpload(current)
        try mapped(upload, current) { () throws(FileStoreError) in try store.abort(uploadID: upload.id) }
        logger.info("upload aborted", metadata: ["upload": "\(upload.id)", "path": "\(upload.path)"])
    }

    // MARK: Helpers

    /// The upload named by the identity, or `ObjectNotExistException`.
    private func openUpload(_ current: Current) throws -> UploadHandle {
        guard let upload = store.upload(id: current.id.name) else {
            throw ObjectNotExistException(id: current.id, facet: current.facet, operation: current.operation)
        }
        return upload
    }

    private func checkRange(_ upload: UploadHandle, offset: Int64, length: Int64, operation: String) throws {
        let (end, overflow) = offset.addingReportingOverflow(length)
        guard offset < 0 || overflow || end > upload.size else { return }
        let reason: String
        if offset < 0 {
            reason = "offset \(offset) is negative; send data only within [0, \(upload.size))"
        } else if overflow {
            reason = "offset \(offset) plus \(length) bytes overflows a 64-bit offset; send data only within [0, \(upload.size))"
        } else {
            reason = "\(length) bytes at offset \(offset) end at \(end), beyond the declared size of \(upload.size) bytes; send data only within [0, \(upload.size)), or open the file again with its real size"
        }
        let error = FileStoreError.range(reason: reason, offset: offset, length: Int32(clamping: length), size: upload.size)
        logFailure(logger, error, operation: operation, metadata: ["upload": "\(upload.id)"])
        throw error.transferError
    }

    /// Queues the job that produces the chunk's bytes and writes them; its future is the reply.
    /// With `inOrder` the upload's jobs run one at a time in arrival order, each taken by the
    /// worker that finished the one before: the writes to one file are serialised anyway, and a
    /// second worker would only be woken to wait for the first. Without it (compressed chunks)
    /// the workers inflate in parallel, and the upload's write serializer orders the writes.
    private func enqueue(_ upload: UploadHandle, offset: Int64, operation: String, inOrder: Bool,
                         bytes: @escaping @Sendable () throws -> ByteBuffer) -> Future<Void> {
        let done = Future<Void>()
        let store = self.store
        let beforeWrite = self.beforeWrite
        let logger = self.logger
        jobs.submit(key: inOrder ? upload.id : nil) {
            do {
                let data = try bytes()
                beforeWrite?(upload.id, offset)
                try store.write(uploadID: upload.id, offset: offset, bytes: data)
                done.setResult(())
            } catch let error as FileStoreError {
                logFailure(logger, error, operation: operation, metadata: ["upload": "\(upload.id)", "offset": "\(offset)"])
                done.setException(error.transferError)
            } catch {
                done.setException(error)
            }
        }
        return done
    }

    private func mapped<T>(_ upload: UploadHandle, _ current: Current, _ body: () throws(FileStoreError) -> T) throws -> T {
        do {
            return try body()
        } catch {
            logFailure(logger, error, operation: current.operation, metadata: ["upload": "\(upload.id)", "path": "\(upload.path)"])
            throw error.transferError
        }
    }
}
