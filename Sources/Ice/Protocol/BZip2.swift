import CBZip2
import NIOCore

/// bzip2 compression of message bodies (compression status 2), through the system's libbz2.
enum BZip2 {
    /// Messages smaller than this are never compressed (as in Ice).
    static let minimumMessageSize = 100

    /// Compresses `body` at `blockSize` (1–9); returns nil if the result would not be smaller.
    static func compress(_ body: ByteBuffer, blockSize: Int) -> ByteBuffer? {
        let inputCount = body.readableBytes
        // libbz2 guarantees the output fits in input + 1% + 600 bytes.
        var capacity = UInt32(inputCount + inputCount / 100 + 600)
        var out = ByteBufferAllocator().buffer(capacity: Int(capacity))
        var input = body
        let rc: Int32 = input.withUnsafeMutableReadableBytes { src in
            out.withUnsafeMutableWritableBytes { dst in
                BZ2_bzBuffToBuffCompress(
                    dst.baseAddress?.assumingMemoryBound(to: CChar.self), &capacity,
                    src.baseAddress?.assumingMemoryBound(to: CChar.self), UInt32(inputCount),
                    Int32(blockSize), 0, 0)
            }
        }
        guard rc == BZ_OK, Int(capacity) < inputCount else { return nil }
        out.moveWriterIndex(forwardBy: Int(capacity))
        return out
    }

    /// Decompresses `data` into exactly `expectedSize` bytes, or throws `CompressionException`.
    static func decompress(_ data: ByteBuffer, expectedSize: Int) throws -> ByteBuffer {
        var out = ByteBufferAllocator().buffer(capacity: max(expectedSize, 1))
        var produced = UInt32(expectedSize)
        var input = data
        let inputCount = data.readableBytes
        let rc: Int32 = input.withUnsafeMutableReadableBytes { src in
            out.withUnsafeMutableWritableBytes { dst in
                BZ2_bzBuffToBuffDecompress(
                    dst.baseAddress?.assumingMemoryBound(to: CChar.self), &produced,
                    src.baseAddress?.assumingMemoryBound(to: CChar.self), UInt32(inputCount), 0, 0)
            }
        }
        guard rc == BZ_OK, Int(produced) == expectedSize else {
            throw CompressionException(
                "bzip2 decompression failed (code \(rc)); \(produced) of \(expectedSize) bytes produced")
        }
        out.moveWriterIndex(forwardBy: Int(produced))
        return out
    }
}
