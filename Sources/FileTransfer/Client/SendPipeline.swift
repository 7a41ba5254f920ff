import Foundation
import Ice
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One read buffer's worth of chunks to send (several pieces only when some of its bytes are
/// already stored on the server).
struct PreparedItem: @unchecked Sendable {
    var pieces: [PreparedChunk]
}

/// The producer side of `Sender`: a reader thread reads the file sequentially into chunk-sized
/// buffers, hashing everything (with each of `algorithms`, in order), and queues the parts the server does not
/// have yet; with compression, up to two worker threads deflate them. At most `readAhead`
/// buffers exist between the reader and the sender (`finish(_:)` gives one back), so memory
/// stays bounded whatever the network does. Chunk buffers come from a pool and are reused once
/// the runtime lets go of them, so the file is read into memory that is still in the caches.
final class SendPipeline: @unchecked Sendable {
    let fd: Int32
    let path: String
    let size: Int64
    let chunkSize: Int
    private let skip: RangeSet
    private let tokens: TokenPool
    private let buffers: ByteBufferPool
    private let raw = BlockingQueue<PreparedItem>()
    private let ready: BlockingQueue<PreparedItem>
    private let group = DispatchGroup()
    private let lock = NSLock()
    private let algorithms: [ChecksumAlgorithm]
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
        self.algorithms = algorithms
        self.fd = fd
        self.path = path
        self.size = size
        self.chunkSize = chunkSize
        self.skip = skip
        self.tokens = TokenPool(max(1, readAhead))
        self.buffers = ByteBufferPool(maxBytes: max(1, maxChunksAlive) * chunkSize)
        if let compression, compression.mode != .off {
            ready = BlockingQueue<PreparedItem>()
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
        } else {
            ready = raw
        }
        startThread(name: "ftclient-reader", group: group) { [self] in read() }
    }

    /// The next item to send; nil once the whole file was read and queued. Throws a local read
    /// error.
    func next() throws -> PreparedItem? {
        try ready.take()
    }

    /// Changes how many buffers may be read ahead (`--window auto` follows the window).
    func setReadAhead(_ count: Int) {
        tokens.resize(to: max(1, count))
    }

    /// The sender is done with one item (all its pieces were sent): one more may be read.
    func finish(_ item: PreparedItem) {
        tokens.release()
    }

    /// The checksums of the whole file, one per algorithm given to `init` (in that order);
    /// available once `next()` returned nil.
    var checksums: [Checksum]? {
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

    private func read() {
        var hashers = algorithms.map(ChecksumHasher.init)
        var offset: Int64 = 0
        let allocator = ByteBufferAllocator()
        do {
            while offset < size {
                guard tokens.acquire() else { return }
                let count = Int(min(Int64(chunkSize), size - offset))
                var buffer = buffers.take(capacity: count, allocator: allocator)
                defer { buffers.recycle(buffer) }
                try LocalFileRead.append(count: count, at: offset, of: fd, path: path, to: &buffer)
                buffer.withUnsafeReadableBytes { bytes in
                    for i in hashers.indices { hashers[i].update(bytes) }
                }
                let range = offset..<(offset + Int64(count))
                let missing = skip.missing(in: range)
                if missing.isEmpty {
                    tokens.release()
                } else if missing.count == 1 && missing[0] == range {
                    raw.put(PreparedItem(pieces: [PreparedChunk(offset: offset, length: count, payload: buffer, compressed: false)]))
                } else {
                    let pieces = missing.map { r in
                        PreparedChunk(
                            offset: r.lowerBound, length: Int(r.count),
                            payload: buffer.getSlice(at: Int(r.lowerBound - offset), length: Int(r.count))!,
                            compressed: false)
                    }
                    raw.put(PreparedItem(pieces: pieces))
                }
                offset += Int64(count)
            }
            // Nothing may follow the declared size: the file must not have grown.
            var probe = allocator.buffer(capacity: 1)
            let extra = probe.writeWithUnsafeMutableBytes(minimumWritableBytes: 1) { pread(fd, $0.baseAddress, 1, off_t(size)) }
            if extra > 0 {
                throw LocalFileError(.changed, path: path, reason: "it grew while being sent; send it again once it is complete")
            }
            lock.lock()
            digests = hashers.map { $0.finalize() }
            lock.unlock()
            raw.close()
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
