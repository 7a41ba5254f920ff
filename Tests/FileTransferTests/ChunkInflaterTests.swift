import Ice
import NIOCore
import XCTest

@testable import FileTransfer

/// Inflated chunks land in pooled buffers: lent again once released, never while referenced,
/// and a stream that fails to inflate keeps nothing in the pool.
final class ChunkInflaterTests: XCTestCase {
    func testInflatedBuffersAreLentAgainOnlyOnceReleased() throws {
        let pool = ByteBufferPool()
        let data = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 / 7) }
        let zlib = try ChunkInflater.deflate(ByteBuffer(bytes: data))

        var first: ByteBuffer? = try ChunkInflater.inflate(zlib, length: data.count, buffers: pool)
        let firstStorage = first.map(bytesAddress)
        let second = try ChunkInflater.inflate(zlib, length: data.count, buffers: pool)
        XCTAssertNotEqual(bytesAddress(second), firstStorage, "a referenced buffer is not lent")
        XCTAssertEqual(first.map { Array(buffer: $0) }, data)
        XCTAssertEqual(Array(buffer: second), data)
        first = nil
        let third = try ChunkInflater.inflate(zlib, length: data.count, buffers: pool)
        XCTAssertEqual(bytesAddress(third), firstStorage)
        XCTAssertEqual(Array(buffer: third), data)
        XCTAssertEqual(pool.count, 2)
    }

    func testAFailedInflateKeepsNothingInThePool() throws {
        let pool = ByteBufferPool()
        let data = [UInt8](repeating: 9, count: 100_000)
        let zlib = try ChunkInflater.deflate(ByteBuffer(bytes: data))
        XCTAssertThrowsError(try ChunkInflater.inflate(zlib, length: data.count - 1, buffers: pool)) {
            XCTAssertEqual($0 as? ChunkInflater.Failure, .tooLong)
        }
        XCTAssertThrowsError(try ChunkInflater.inflate(zlib, length: data.count + 1, buffers: pool)) {
            XCTAssertEqual($0 as? ChunkInflater.Failure, .wrongLength(actual: data.count))
        }
        XCTAssertEqual(pool.count, 0)
    }
}
