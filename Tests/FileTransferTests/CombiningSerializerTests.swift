import Foundation
import NIOConcurrencyHelpers
import XCTest

@testable import FileTransfer

/// The serializer behind each upload's chunk writes: one at a time, in arrival order, each
/// result (or error) back to its own caller.
final class CombiningSerializerTests: XCTestCase {
    struct Refused: Error, Equatable { let caller: Int }

    /// Callers on threads of their own; operation `n` records its order and thread, fails when
    /// `n` is in `failing`, and when `n` is in `gated` waits (once started) for `release(n)`.
    final class Callers: @unchecked Sendable {
        struct Seen {
            var order: [Int] = []
            var ranOn: [Int: pthread_t] = [:]
            var callerThread: [Int: pthread_t] = [:]
            var results: [Int: Result<Int, Refused>] = [:]
        }
        let serializer = CombiningSerializer()
        let seen = NIOLockedValueBox(Seen())
        let failing: Set<Int>
        let gates: [Int: (started: DispatchSemaphore, release: DispatchSemaphore)]
        let done = DispatchGroup()

        init(gated: Set<Int>, failing: Set<Int> = []) {
            self.failing = failing
            gates = Dictionary(uniqueKeysWithValues: gated.map { ($0, (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))) })
        }

        func call(_ n: Int) {
            done.enter()
            Thread.detachNewThread { [self] in
                seen.withLockedValue { $0.callerThread[n] = pthread_self() }
                let result = Result { () throws(Refused) -> Int in
                    try serializer.run { () throws(Refused) -> Int in
                        seen.withLockedValue {
                            $0.order.append(n)
                            $0.ranOn[n] = pthread_self()
                        }
                        if let gate = gates[n] {
                            gate.started.signal()
                            gate.release.wait()
                        }
                        if failing.contains(n) { throw Refused(caller: n) }
                        return n * 10
                    }
                }
                seen.withLockedValue { $0.results[n] = result }
                done.leave()
            }
        }

        func waitUntilStarted(_ n: Int) { gates[n]?.started.wait() }
        func release(_ n: Int) { gates[n]?.release.signal() }
        func ranOnThreadOf(_ n: Int, _ m: Int) -> Bool {
            seen.withLockedValue { pthread_equal($0.ranOn[n]!, $0.callerThread[m]!) != 0 }
        }
    }

    func testAnUncontendedOperationRunsOnTheCallersThread() throws {
        let serializer = CombiningSerializer()
        let caller = pthread_self()
        let ranOn = serializer.run { pthread_self() }
        XCTAssertNotEqual(pthread_equal(ranOn, caller), 0)
        XCTAssertThrowsError(try serializer.run { () throws(Refused) -> Int in throw Refused(caller: 0) }) {
            XCTAssertEqual($0 as? Refused, Refused(caller: 0))
        }
        XCTAssertEqual(serializer.run { 42 }, 42, "a failed operation leaves the serializer usable")
    }

    func testOperationsHandedOverRunInArrivalOrderAndAnswerTheirOwnCaller() throws {
        let callers = Callers(gated: [0], failing: [3])
        callers.call(0)
        callers.waitUntilStarted(0)
        for n in 1...4 {
            callers.call(n)
            callers.serializer.waitUntilHandedOver(n)
        }
        callers.release(0)
        XCTAssertEqual(callers.done.wait(timeout: .now() + 30), .success)

        XCTAssertEqual(callers.seen.withLockedValue { $0.order }, [0, 1, 2, 3, 4])
        for n in 0...4 {
            let expected: Result<Int, Refused> = n == 3 ? .failure(Refused(caller: 3)) : .success(n * 10)
            XCTAssertEqual(callers.seen.withLockedValue { $0.results[n] }, expected, "caller \(n)")
            // Everything handed over while 0 ran ran on 0's thread.
            XCTAssertTrue(callers.ranOnThreadOf(n, 0), "caller \(n)")
        }
    }

    func testTheTurnPassesOnAfterTheOperationsHandedOverDuringOwnOperation() throws {
        let callers = Callers(gated: [0, 1])
        callers.call(0)
        callers.waitUntilStarted(0)
        callers.call(1)
        callers.serializer.waitUntilHandedOver(1)
        callers.release(0)
        callers.waitUntilStarted(1)  // run by 0's thread
        callers.call(2)  // arrives after 0's own operation finished
        callers.serializer.waitUntilHandedOver(1)
        callers.release(1)
        XCTAssertEqual(callers.done.wait(timeout: .now() + 30), .success)

        XCTAssertEqual(callers.seen.withLockedValue { $0.order }, [0, 1, 2])
        XCTAssertTrue(callers.ranOnThreadOf(1, 0))
        XCTAssertTrue(callers.ranOnThreadOf(2, 2), "0's thread returned instead of running 2 as well")
        XCTAssertEqual(callers.seen.withLockedValue { $0.results[2] }, .success(20))
    }
}
