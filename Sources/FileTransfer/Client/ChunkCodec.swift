import CompressNIO
import Foundation
import NIOCore

/// When to deflate chunks.
public enum CompressionMode: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Every chunk is sent as is (`send`).
    case off
    /// Every chunk is deflated (`sendCompressed`).
    case on
    /// Chunks that shrink by at least `minSavings` are deflated, the others are sent as is;
    /// after several incompressible chunks in a row, compression pauses for a while.
    case auto

    public var description: String { rawValue }
}

/// A chunk ready to go on the wire.
struct PreparedChunk: @unchecked Sendable {
    var offset: Int64
    /// The number of file bytes it carries.
    var length: Int
    /// The bytes to send: the raw chunk, or its zlib stream when `compressed`.
    var payload: ByteBuffer
    var compressed: Bool
}

/// Decides, in `auto` mode, whether trying to compress the next chunk is worth it. Shared by
/// the compression workers.
final class AutoCompressionPolicy: @unchecked Sendable {
    /// Incompressible chunks in a row before compression pauses.
    let threshold: Int
    /// Chunks sent raw without trying, once paused.
    let pauseLength: Int
    private let lock = NSLock()
    private var misses = 0
    private var skipping = 0

    init(threshold: Int = 4, pauseLength: Int = 32) {
        self.threshold = threshold
        self.pauseLength = pauseLength
    }

    /// Whether the next chunk should be tried.
    func shouldTry() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if skipping > 0 {
            skipping -= 1
            if skipping == 0 { misses = threshold - 1 }  // one more miss pauses again
            return false
        }
        return true
    }

    func record(shrank: Bool) {
        lock.lock()
        defer { lock.unlock() }
        if shrank {
            misses = 0
        } else {
            misses += 1
            if misses >= threshold {
                skipping = pauseLength
                misses = 0
            }
        }
    }
}

/// Deflates chunks into zlib streams (RFC 1950), as `Upload.sendCompressed` expects. Not
/// thread-safe: one per thread.
final class ChunkCompressor {
    let mode: CompressionMode
    /// In `auto` mode, a chunk is sent compressed only if that saves at least this fraction.
    let minSavings: Double
    private let zlib: ZlibCompressor
    private let policy: AutoCompressionPolicy?

    init(mode: CompressionMode, level: Int, minSavings: Double = 0.10, policy: AutoCompressionPolicy?) throws {
        self.mode = mode
        self.minSavings = minSavings
        self.policy = policy
        let level = Int32(min(9, max(1, level)))
        zlib = try ZlibCompressor(algorithm: .zlib, configuration: ZlibConfiguration(compressionLevel: level))
    }

    /// The chunk as it will be sent: compressed when the mode (and, for `auto`, the data)
    /// says so, otherwise raw.
    func prepare(offset: Int64, bytes: ByteBuffer) throws -> PreparedChunk {
        var input = bytes
        let length = input.readableBytes
        let raw = PreparedChunk(offset: offset, length: length, payload: bytes, compressed: false)
        guard length > 0, mode != .off else { return raw }
        if mode == .auto, let policy, !policy.shouldTry() { return raw }
        try zlib.reset()
        let start = input.readerIndex
        let capacity: Int
        if mode == .on {
            capacity = zlib.maxSize(from: input)
        } else {
            capacity = max(0, Int(Double(length) * (1 - minSavings)))
        }
        var output = ByteBufferAllocator().buffer(capacity: max(capacity, 16))
        do {
            try zlib.deflate(from: &input, to: &output, flush: .finish)
        } catch let error as CompressNIOError where error == .bufferOverflow && mode == .auto {
            policy?.record(shrank: false)
            input.moveReaderIndex(to: start)
            return PreparedChunk(offset: offset, length: length, payload: input, compressed: false)
        }
        if mode == .auto, output.readableBytes > capacity {
            policy?.record(shrank: false)
            input.moveReaderIndex(to: start)
            return PreparedChunk(offset: offset, length: length, payload: input, compressed: false)
        }
        policy?.record(shrank: true)
        return PreparedChunk(offset: offset, length: length, payload: output, compressed: true)
    }
}

/// zlib helpers for chunks (the server side of `sendCompressed`, and tests).
public enum ZlibChunk {
    /// Deflates `bytes` into one zlib stream.
    public static func compress(_ bytes: ByteBuffer, level: Int = 6) throws -> ByteBuffer {
        if bytes.readableBytes == 0 { return ByteBuffer(bytes: [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]) }
        var input = bytes
        let compressor = try ZlibCompressor(
            algorithm: .zlib, configuration: ZlibConfiguration(compressionLevel: Int32(min(9, max(1, level)))))
        var output = ByteBufferAllocator().buffer(capacity: compressor.maxSize(from: input))
        try compressor.deflate(from: &input, to: &output, flush: .finish)
        return output
    }

    /// Inflates one zlib stream that must yield exactly `length` bytes; nil if it is corrupt,
    /// shorter or longer.
    public static func decompress(_ zlibData: ByteBuffer, length: Int) -> ByteBuffer? {
        guard length >= 0, zlibData.readableBytes > 0 else { return nil }
        var input = zlibData
        do {
            let decompressor = try ZlibDecompressor(algorithm: .zlib)
            // One spare byte tells "too long" from "exactly right".
            var output = ByteBufferAllocator().buffer(capacity: length + 1)
            try decompressor.inflate(from: &input, to: &output)
            return output.readableBytes == length ? output : nil
        } catch {
            return nil
        }
    }
}
