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

/// Reads the file being sent from start to end in chunk-sized buffers, hashing every byte (with
/// each of `algorithms`, in order), and returns the parts the server does not have yet. Chunk
/// buffers come from a pool and are reused once nothing references them any more.
///
/// Not thread-safe: one thread calls `next()` at a time.
struct ChunkReader {
    let fd: Int32
    let path: String
    let size: Int64
    let chunkSize: Int
    private let skip: RangeSet
    private let buffers: ByteBufferPool
    private let allocator = ByteBufferAllocator()
    private var hashers: [ChecksumHasher]
    private var offset: Int64 = 0
    private var digests: [Checksum]?

    /// - Parameters:
    ///   - skip: byte ranges already stored on the server (read and hashed, not returned).
    ///   - buffers: where chunk buffers come from and go back to.
    ///   - algorithms: the checksums to compute over the whole file.
    init(
        fd: Int32, path: String, size: Int64, chunkSize: Int, skip: RangeSet, buffers: ByteBufferPool,
        algorithms: [ChecksumAlgorithm]
    ) {
        self.fd = fd
        self.path = path
        self.size = size
        self.chunkSize = chunkSize
        self.skip = skip
        self.buffers = buffers
        self.hashers = algorithms.map(ChecksumHasher.init)
    }

    /// The next chunk with bytes the server lacks; nil once the whole file was read (having
    /// checked that it did not grow). Throws a local read error.
    mutating func next() throws -> PreparedItem? {
        while offset < size {
            let start = offset
            let count = Int(min(Int64(chunkSize), size - start))
            var buffer = buffers.takeAligned(capacity: count, allocator: allocator)
            defer { buffers.recycle(buffer) }
            try LocalFileRead.append(count: count, at: start, of: fd, path: path, to: &buffer)
            buffer.withUnsafeReadableBytes { bytes in
                for i in hashers.indices { hashers[i].update(bytes) }
            }
            offset += Int64(count)
            let range = start..<offset
            let missing = skip.missing(in: range)
            if missing.isEmpty { continue }
            if missing.count == 1 && missing[0] == range {
                return PreparedItem(pieces: [PreparedChunk(offset: start, length: count, payload: buffer, compressed: false)])
            }
            return PreparedItem(pieces: missing.map { r in
                PreparedChunk(
                    offset: r.lowerBound, length: Int(r.count),
                    payload: buffer.getSlice(at: Int(r.lowerBound - start), length: Int(r.count))!,
                    compressed: false)
            })
        }
        if digests == nil {
            // Nothing may follow the declared size: the file must not have grown.
            var probe = allocator.buffer(capacity: 1)
            let extra = probe.writeWithUnsafeMutableBytes(minimumWritableBytes: 1) { pread(fd, $0.baseAddress, 1, off_t(size)) }
            if extra > 0 {
                throw LocalFileError(.changed, path: path, reason: "it grew while being sent; send it again once it is complete")
            }
            digests = hashers.map { $0.finalize() }
        }
        return nil
    }

    /// The checksums of the whole file, one per algorithm given to `init` (in that order);
    /// available once `next()` returned nil.
    var checksums: [Checksum]? { digests }
}
