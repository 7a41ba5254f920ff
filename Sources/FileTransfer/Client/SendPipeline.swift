import Foundation
import Ice

/// The producer side of `Sender`. Without compression the sending thread reads each chunk
/// itself when it asks for the next one (`ChunkReader`): the chunk is read into a buffer the
/// caches still hold, and no other thread has to be woken per chunk. With compression a reader
/// thread feeds up to two worker threads that deflate chunks while the sender waits for the
/// network; at most `readAhead` items then exist between the reader and the sender
/// (`finish(_:)` gives one back), so memory stays bounded whatever the network does.
final class SendPipeline: @unchecked Sendable {
    private let tokens: TokenPool
    /// The reader, when the sending thread reads (no compression).
    private var directReader: ChunkReader?
    private let raw = BlockingQueue<PreparedItem>()
    private let ready = BlockingQueue<PreparedItem>()
    private let group = DispatchGroup()
    private let lock = NSLock()
    private var digests: [Checksum]?
    private var workersLeft = 0

    /// - Parameters:
    ///   - maxChunksAlive: how many chunk buffers may be referenced at once (read ahead, being
    ///     sent and awaiting replies); the buffer pool keeps no more than that.
    ///   - skip: byte ranges already stored on the server (read and hashed, not queued).
    ///   - algorithms: the checksums to compute over the whole file.
    ///   - compression: nil sends raw; otherwise the worker threads' settings.
    init(
        fd: Int32, path: String, size: Int64, chunkSize: Int, readAhead: Int, maxChunksAlive: Int, skip: RangeSet,
        algorithms: [ChecksumAlgorithm],
        compression: (mode: CompressionMode, level: Int, minSavings: Double, workers: Int)?
    ) throws {
        self.tokens = TokenPool(max(1, readAhead))
        let reader = ChunkReader(
            fd: fd, path: path, size: size, chunkSize: chunkSize, skip: skip,
            buffers: ByteBufferPool(maxBytes: max(1, maxChunksAlive) * chunkSize), algorithms: algorithms)
        guard let compression, compression.mode != .off else {
            directReader = reader
            return
        }
        let policy = compression.mode == .auto ? AutoCompressionPolicy() : nil
        let count = max(1, compression.workers)
        // Create every compressor first so that a zlib failure surfaces here.
        let compressors = try (0..<count).map { _ in
            try ChunkCompressor(mode: compression.mode, level: compression.level, minSavings: compression.minSavings, policy: policy)
        }
        workersLeft = count
        for (i, compressor) in compressors.enumerated() {
            let box = UncheckedBox(compressor)
            startThread(name: "ftclient-deflate-\(i)", group: group) { [self] in compress(with: box.value) }
        }
        let box = UncheckedBox(reader)
        startThread(name: "ftclient-reader", group: group) { [self] in read(with: box.value) }
    }

    /// The next item to send; nil once the whole file was read and queued. Throws a local read
    /// error.
    func next() throws -> PreparedItem? {
        guard directReader != nil else { return try ready.take() }
        return try directReader?.next()
    }

    /// Changes how many buffers may be read ahead (`--window auto` follows the window).
    func setReadAhead(_ count: Int) {
        tokens.resize(to: max(1, count))
    }

    /// The sender is done with one item (all its pieces were sent): one more may be read.
    func finish(_ item: PreparedItem) {
        if directReader == nil { tokens.release() }
    }

    /// The checksums of the whole file, one per algorithm given to `init` (in that order);
    /// available once `next()` returned nil.
    var checksums: [Checksum]? {
        if let directReader { return directReader.checksums }
        lock.lock()
        defer { lock.unlock() }
        return digests
    }

    /// Stops the threads and waits for them (the file descriptor may be closed afterwards).
    func cancel() {
        tokens.cancel()
        raw.fail(CancellationError())
        ready.fail(CancellationError())
        group.wait()
    }

    /// Waits for the threads after the last item.
    func join() {
        group.wait()
    }

    // MARK: Threads

    private func read(with reader: ChunkReader) {
        var reader = reader
        do {
            while tokens.acquire() {
                guard let item = try reader.next() else {
                    lock.withLock { digests = reader.checksums }
                    raw.close()
                    return
                }
                raw.put(item)
            }
            // Cancelled: `cancel()` failed both queues.
        } catch {
            raw.fail(error)
            ready.fail(error)
        }
    }

    private func compress(with compressor: ChunkCompressor) {
        do {
            while var item = try raw.take() {
                for i in item.pieces.indices {
                    item.pieces[i] = try compressor.prepare(offset: item.pieces[i].offset, bytes: item.pieces[i].payload)
                }
                ready.put(item)
            }
        } catch {
            raw.fail(error)
            ready.fail(error)
            return
        }
        lock.lock()
        workersLeft -= 1
        let last = workersLeft == 0
        lock.unlock()
        if last { ready.close() }
    }
}

/// Lets a non-Sendable value cross into a thread that becomes its only user.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
