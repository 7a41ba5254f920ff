import NIOCore
import XCTest

@testable import Ice

final class ByteBufferPoolTests: XCTestCase {
    private let allocator = ByteBufferAllocator()

    private func storage(_ buffer: ByteBuffer) -> UnsafeRawPointer? {
        buffer.withUnsafeReadableBytes { $0.baseAddress.map { $0 - buffer.readerIndex } }
    }

    func testHoldsAtMostMaxBytes() {
        let pool = ByteBufferPool(maxBytes: 300_000)
        let a = pool.take(capacity: 100_000, allocator: allocator)
        let b = pool.take(capacity: 100_000, allocator: allocator)
        let c = pool.take(capacity: 200_000, allocator: allocator)
        pool.recycle(a)
        pool.recycle(b)
        pool.recycle(c)  // would exceed 300 000 bytes
        XCTAssertEqual(pool.count, 2)
        pool.recycle(pool.take(capacity: 1_000, allocator: allocator))  // small buffers are never pooled
        XCTAssertEqual(pool.count, 2)
    }

    func testLendsTheFreeBufferRecycledLastAndNeverOneStillReferenced() {
        let pool = ByteBufferPool()
        var a: ByteBuffer? = pool.take(capacity: 100_000, allocator: allocator)
        var b: ByteBuffer? = pool.take(capacity: 100_000, allocator: allocator)
        var c: ByteBuffer? = pool.take(capacity: 100_000, allocator: allocator)
        a!.writeString("a")
        b!.writeString("b")
        c!.writeString("c")
        let (storageA, storageB) = (storage(a!), storage(b!))
        for buffer in [a!, b!, c!] { pool.recycle(buffer) }
        a = nil
        b = nil
        // c is still referenced: b is the free buffer recycled last.
        let first = pool.take(capacity: 100_000, allocator: allocator)
        XCTAssertEqual(storage(first), storageB)
        XCTAssertEqual(first.readableBytes, 0, "a lent buffer is empty")
        let second = pool.take(capacity: 100_000, allocator: allocator)
        XCTAssertEqual(storage(second), storageA)
        let third = pool.take(capacity: 100_000, allocator: allocator)
        XCTAssertNotEqual(storage(third), storage(c!), "a referenced buffer is not lent")
        XCTAssertEqual(c.map { String(buffer: $0) }, "c")
        XCTAssertEqual(pool.count, 1)
    }

    func testAlignedBufferHasExactlyTheCapacityAndTheChosenByteOnACacheLine() throws {
        let pool = ByteBufferPool()
        for (capacity, alignedOffset) in [(100_000, 0), (100_000, 1), (70_001, 63), (100_000, 100_000), (100, 100)] {
            let buffer = pool.takeAligned(capacity: capacity, alignedOffset: alignedOffset, allocator: allocator)
            XCTAssertEqual(buffer.readableBytes, 0)
            XCTAssertEqual(buffer.capacity, capacity)
            let start = try XCTUnwrap(buffer.withUnsafeReadableBytes { $0.baseAddress })
            XCTAssertEqual(UInt(bitPattern: start + alignedOffset) % UInt(CacheLine.size), 0, "offset \(alignedOffset)")
            pool.recycle(buffer)
        }
    }

    func testAlignedBuffersOfOneSizeAreReusedWhereTheyAre() throws {
        let pool = ByteBufferPool()
        var buffer = pool.takeAligned(capacity: 100_000, alignedOffset: 100_000, allocator: allocator)
        buffer.writeString("first")
        let first = storage(buffer)
        pool.recycle(buffer)
        buffer = ByteBuffer()
        let again = pool.takeAligned(capacity: 100_000, alignedOffset: 100_000, allocator: allocator)
        XCTAssertEqual(storage(again), first)
        XCTAssertEqual(again.readableBytes, 0)
    }

    func testTrimFreesTheFreeBuffersNotLentSinceTheTrimBefore() {
        let size = 1 << 17  // NIO's allocator rounds capacities up to a power of two
        let pool = ByteBufferPool(maxBytes: 4 * size)
        pool.recycle(allocator.buffer(capacity: size))  // free from now on
        var held: ByteBuffer? = allocator.buffer(capacity: size)
        pool.recycle(held!)
        XCTAssertEqual(pool.trim(), 0, "both were recycled in the period that ends")
        pool.recycle(allocator.buffer(capacity: 2 * size))
        XCTAssertEqual(pool.trim(), size, "only the free buffer from the period before; the held one is referenced")
        XCTAssertEqual(pool.count, 2)
        held = nil
        XCTAssertEqual(pool.trim(), 3 * size)
        XCTAssertEqual(pool.count, 0)

        // A buffer lent and recycled again in a period outlives that period's trim.
        pool.recycle(allocator.buffer(capacity: size))
        pool.trim()
        pool.recycle(pool.take(capacity: size, allocator: allocator))
        XCTAssertEqual(pool.trim(), 0)
        XCTAssertEqual(pool.trim(), size)
        // What was trimmed no longer counts against `maxBytes`.
        for _ in 0..<4 { pool.recycle(allocator.buffer(capacity: size)) }
        XCTAssertEqual(pool.count, 4)
    }

    func testBuffersMoreThanTwiceTheRequestAreKeptForLargerOnes() {
        let pool = ByteBufferPool()
        pool.recycle(allocator.buffer(capacity: 1 << 20))
        XCTAssertLessThan(pool.take(capacity: 100_000, allocator: allocator).capacity, 1 << 20)
        XCTAssertEqual(pool.take(capacity: 1 << 20, allocator: allocator).capacity, 1 << 20)
        XCTAssertEqual(pool.count, 0)
    }
}
