import CompressNIO
import Ice
import NIOCore

/// Inflates the zlib stream of one `sendCompressed` chunk into exactly the announced number of
/// bytes, never allocating more than that (plus one byte), whatever the stream claims.
enum ChunkInflater {
    enum Failure: Error, Equatable {
        /// The stream is not valid zlib (bad header, bad data, bad checksum).
        case corrupt
        /// The stream ended early (or was cut): it produced `actual` bytes, or it lacks its end.
        case truncated(actual: Int)
        /// The stream inflates to more than `length` bytes.
        case tooLong
        /// The stream ended after `actual` bytes, not `length`.
        case wrongLength(actual: Int)
        /// Bytes follow the end of the zlib stream.
        case trailingData(count: Int)
    }

    /// The inflated bytes, exactly `length` of them, in a buffer from `buffers` (given back to
    /// it, so lent again once the caller releases the bytes).
    static func inflate(_ zlibData: ByteBuffer, length: Int, buffers: ByteBufferPool) throws(Failure) -> ByteBuffer {
        precondition(length >= 0)
        guard zlibData.readableBytes > 0 else { throw .truncated(actual: 0) }
        var input = zlibData
        // One spare byte: a stream that fills it is longer than announced. Aligned, to be
        // written to the file faster.
        var output = buffers.takeAligned(capacity: length + 1, allocator: ByteBufferAllocator())
        let decompressor: ZlibDecompressor
        do {
            decompressor = try ZlibDecompressor(algorithm: .zlib)
        } catch {
            throw .corrupt
        }
        do {
            try decompressor.inflate(from: &input, to: &output)
        } catch let error as CompressNIOError {
            switch error {
            case .bufferOverflow: throw .tooLong
            case .inputBufferOverflow: throw .truncated(actual: output.readableBytes)
            default: throw .corrupt
            }
        } catch {
            throw .corrupt
        }
        if output.readableBytes > length { throw .tooLong }
        // Did the stream really end (Z_STREAM_END)? Inflating again with no input reports its
        // end again; a stream that merely ran out of input fails with "needs more input".
        var empty = ByteBufferAllocator().buffer(capacity: 1)  // no bytes, but a real pointer
        var probe = ByteBufferAllocator().buffer(capacity: 16)
        do {
            try decompressor.inflate(from: &empty, to: &probe)
        } catch let error as CompressNIOError where error == .inputBufferOverflow {
            throw .truncated(actual: output.readableBytes)
        } catch {
            throw .corrupt
        }
        if probe.readableBytes > 0 { throw .tooLong }
        if output.readableBytes != length { throw .wrongLength(actual: output.readableBytes) }
        if input.readableBytes > 0 { throw .trailingData(count: input.readableBytes) }
        buffers.recycle(output)
        return output
    }

    /// One zlib stream of `bytes` (for tests and tools; clients have their own compressor).
    static func deflate(_ bytes: ByteBuffer, level: Int32 = 6) throws -> ByteBuffer {
        var input = ByteBufferAllocator().buffer(capacity: max(1, bytes.readableBytes))  // never a nil pointer
        input.writeImmutableBuffer(bytes)
        let compressor = try ZlibCompressor(algorithm: .zlib, configuration: ZlibConfiguration(compressionLevel: level))
        var output = ByteBufferAllocator().buffer(capacity: compressor.maxSize(from: input))
        try compressor.deflate(from: &input, to: &output, flush: .finish)
        return output
    }
}
