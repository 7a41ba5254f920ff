import Foundation
import NIOCore
import XCTest

@testable import Ice

/// A communicator trims its buffer pools, and those it is given, every
/// `Ice.BufferPool.TrimInterval` milliseconds.
final class BufferTrimmingTests: XCTestCase {
    /// Whether `condition` held within `timeout` (checked every millisecond).
    private func eventually(within timeout: Duration = .seconds(10), _ condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            if ContinuousClock.now > deadline { return false }
            usleep(1_000)
        }
        return true
    }

    func testPoolsGivenToTheCommunicatorAreTrimmedPeriodically() throws {
        let communicator = try Communicator(["--Ice.BufferPool.TrimInterval=20"])
        defer { communicator.destroy() }
        let pool = ByteBufferPool()
        communicator.trimPeriodically(pool)
        communicator.framePool.recycle(ByteBufferAllocator().buffer(capacity: 100_000))
        pool.recycle(ByteBufferAllocator().buffer(capacity: 100_000))
        var held: ByteBuffer? = ByteBufferAllocator().buffer(capacity: 100_000)
        pool.recycle(held!)
        XCTAssertTrue(eventually { pool.count == 1 && communicator.framePool.count == 0 }, "idle buffers were not freed")
        held = nil
        XCTAssertTrue(eventually { pool.count == 0 }, "a buffer released later was not freed")
    }

    func testTheIntervalDefaultsToThirtySecondsAndZeroTurnsTrimmingOff() throws {
        XCTAssertEqual(RuntimeSettings(Properties()).bufferTrimInterval, 30_000)
        let off = Properties()
        off.setProperty("Ice.BufferPool.TrimInterval", "0")
        XCTAssertEqual(RuntimeSettings(off).bufferTrimInterval, 0)
        let communicator = try Communicator(["--Ice.BufferPool.TrimInterval=0"])
        communicator.destroy()
    }
}
