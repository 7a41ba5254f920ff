import Dispatch
import Foundation
import NIOConcurrencyHelpers
import XCTest

@testable import Ice

/// `Future` and `InvocationFuture` without any network: completion, callbacks and the threads
/// they run on, waits with timeouts, cancellation, sent tracking, `map` and Swift concurrency.
final class FutureTests: XCTestCase {
    struct TestError: Error, Equatable { var code: Int }

    private final class Box<T>: @unchecked Sendable {
        private let lock = NIOLock()
        private var value: T
        init(_ value: T) { self.value = value }
        func set(_ v: T) { lock.withLock { value = v } }
        func update(_ body: (inout T) -> Void) { lock.withLock { body(&value) } }
        var get: T { lock.withLock { value } }
    }

    private static func threadID() -> UInt { UInt(pthread_self()) }

    /// Runs `body` on a new thread and returns that thread's id once it has finished.
    private func onOtherThread(_ body: @escaping @Sendable () -> Void) -> UInt {
        let id = Box<UInt>(0)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            id.set(FutureTests.threadID())
            body()
            done.signal()
        }
        thread.start()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        return id.get
    }

    // MARK: completion

    func testCompletedAndFailed() throws {
        let ok = Future.completed(7)
        XCTAssertTrue(ok.isDone)
        XCTAssertFalse(ok.isRunning)
        XCTAssertEqual(try ok.result(), 7)
        XCTAssertNil(try ok.exception())

        let bad = Future<Int>.failed(TestError(code: 1))
        XCTAssertTrue(bad.isDone)
        XCTAssertThrowsError(try bad.result()) { XCTAssertEqual($0 as? TestError, TestError(code: 1)) }
        XCTAssertEqual(try bad.exception() as? TestError, TestError(code: 1))
    }

    func testCompletesOnlyOnce() throws {
        let f = Future<Int>()
        XCTAssertFalse(f.isDone)
        XCTAssertTrue(f.isRunning)
        XCTAssertTrue(f.setResult(1))
        XCTAssertFalse(f.setResult(2))
        XCTAssertFalse(f.setException(TestError(code: 3)))
        XCTAssertFalse(f.complete(with: .success(4)))
        XCTAssertEqual(try f.result(), 1)

        let g = Future<Int>()
        XCTAssertTrue(g.setException(TestError(code: 5)))
        XCTAssertFalse(g.setResult(6))
        XCTAssertEqual(try g.exception() as? TestError, TestError(code: 5))

        let h = Future<Int>()
        XCTAssertTrue(h.complete(with: .failure(TestError(code: 8))))
        XCTAssertThrowsError(try h.result())
    }

    // MARK: callbacks

    func testDoneCallbackRunsInlineWhenAlreadyDone() {
        let f = Future.completed("x")
        let ran = Box<(thread: UInt, value: String?)?>(nil)
        f.addDoneCallback { f in ran.set((FutureTests.threadID(), try? f.result())) }
        XCTAssertEqual(ran.get?.thread, Self.threadID(), "inline, before addDoneCallback returns")
        XCTAssertEqual(ran.get?.value, "x")
    }

    func testDoneCallbacksRunOnTheCompletingThreadInOrder() {
        let f = Future<Int>()
        let calls = Box<[(thread: UInt, n: Int)]>([])
        for n in 0..<3 {
            f.addDoneCallback { _ in calls.update { $0.append((FutureTests.threadID(), n)) } }
        }
        XCTAssertTrue(calls.get.isEmpty)
        let completer = onOtherThread { f.setResult(1) }
        XCTAssertEqual(calls.get.map(\.n), [0, 1, 2])
        for c in calls.get { XCTAssertEqual(c.thread, completer) }
        XCTAssertNotEqual(completer, Self.threadID())
    }

    func testDoneCallbackAsyncIsNeverInline() {
        let f = Future.completed(1)
        let thread = Box<UInt?>(nil)
        let done = DispatchSemaphore(value: 0)
        f.addDoneCallbackAsync { _ in
            thread.set(FutureTests.threadID())
            done.signal()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertNotNil(thread.get)
        XCTAssertNotEqual(thread.get, Self.threadID())

        // Pending, then completed on this thread: still not run by this thread.
        let g = Future<Int>()
        let gThread = Box<UInt?>(nil)
        let gDone = DispatchSemaphore(value: 0)
        g.addDoneCallbackAsync { _ in
            gThread.set(FutureTests.threadID())
            gDone.signal()
        }
        g.setResult(2)
        XCTAssertEqual(gDone.wait(timeout: .now() + 10), .success)
        XCTAssertNotEqual(gThread.get, Self.threadID())
    }

    // MARK: waiting

    func testResultTimeout() throws {
        let f = Future<Int>()
        let start = DispatchTime.now()
        XCTAssertThrowsError(try f.result(timeout: .milliseconds(50))) {
            XCTAssertTrue(Swift.type(of: $0) == TimeoutException.self, "\($0)")
        }
        XCTAssertGreaterThanOrEqual(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds, 50_000_000)
        XCTAssertFalse(f.isDone, "a wait timeout does not complete the future")
        f.setResult(3)
        XCTAssertEqual(try f.result(timeout: .milliseconds(50)), 3)
    }

    func testExceptionTimeout() throws {
        let f = Future<Int>()
        XCTAssertThrowsError(try f.exception(timeout: .milliseconds(50))) {
            XCTAssertTrue(Swift.type(of: $0) == TimeoutException.self, "\($0)")
        }
        f.setException(TestError(code: 9))
        XCTAssertEqual(try f.exception(timeout: .milliseconds(50)) as? TestError, TestError(code: 9))

        let ok = Future<Int>()
        ok.setResult(1)
        XCTAssertNil(try ok.exception(timeout: .zero))
    }

    func testBlockedWaiterWakesOnCompletion() throws {
        let f = Future<Int>()
        let waiting = DispatchSemaphore(value: 0)
        let result = Box<Int?>(nil)
        let finished = DispatchSemaphore(value: 0)
        Thread {
            waiting.signal()
            result.set(try? f.result(timeout: .seconds(10)))
            finished.signal()
        }.start()
        XCTAssertEqual(waiting.wait(timeout: .now() + 10), .success)
        f.setResult(42)
        XCTAssertEqual(finished.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(result.get, 42)
    }

    // MARK: cancel

    func testCancelPending() throws {
        let f = Future<Int>()
        let handled = Box<[any Error]>([])
        f.setCancelHandler { e in handled.update { $0.append(e) } }
        f.cancel()
        XCTAssertTrue(f.isCancelled)
        XCTAssertTrue(f.isDone)
        XCTAssertTrue(try f.exception() is InvocationCanceledException)
        XCTAssertThrowsError(try f.result()) { XCTAssertTrue($0 is InvocationCanceledException) }
        XCTAssertEqual(handled.get.count, 1)
        XCTAssertTrue(handled.get.first is InvocationCanceledException)
        f.cancel()
        XCTAssertEqual(handled.get.count, 1, "the cancel handler runs once")
        XCTAssertFalse(f.setResult(1))
    }

    func testCancelAfterCompletionHasNoEffect() throws {
        let f = Future<Int>()
        let handled = Box(0)
        f.setCancelHandler { _ in handled.update { $0 += 1 } }
        f.setResult(5)
        f.cancel()
        XCTAssertFalse(f.isCancelled)
        XCTAssertEqual(try f.result(), 5)
        XCTAssertEqual(handled.get, 0)
    }

    func testCancelHandlerInstalledAfterCompletionIsNotRun() {
        let f = Future<Int>()
        f.cancel()
        let handled = Box(0)
        f.setCancelHandler { _ in handled.update { $0 += 1 } }
        // Already completed by cancel(): the handler is not needed any more.
        XCTAssertEqual(handled.get, 0)
        XCTAssertTrue(f.isCancelled)
    }

    // MARK: sent tracking

    func testSetSentSynchronously() throws {
        let f = InvocationFuture<Int>(operation: "op")
        XCTAssertEqual(f.operation, "op")
        XCTAssertFalse(f.isSent)
        XCTAssertFalse(f.isSentSynchronously)
        XCTAssertFalse(try f.sent(timeout: .milliseconds(20)))
        f.setSent(true)
        XCTAssertTrue(f.isSent)
        XCTAssertTrue(f.isSentSynchronously)
        XCTAssertTrue(try f.sent(timeout: .zero))
        XCTAssertTrue(try f.sent())
        f.setSent(false)
        XCTAssertTrue(f.isSentSynchronously, "setSent has effect once")

        let inline = Box<(thread: UInt, sync: Bool)?>(nil)
        f.addSentCallback { _, sync in inline.set((FutureTests.threadID(), sync)) }
        XCTAssertEqual(inline.get?.thread, Self.threadID())
        XCTAssertEqual(inline.get?.sync, true)
        XCTAssertFalse(f.isDone, "sent is not done")
    }

    func testSentLaterRunsCallbacksOnTheSendingThread() throws {
        let f = InvocationFuture<Int>()
        let calls = Box<[(thread: UInt, sync: Bool)]>([])
        f.addSentCallback { _, sync in calls.update { $0.append((FutureTests.threadID(), sync)) } }
        f.addSentCallback { _, sync in calls.update { $0.append((FutureTests.threadID(), sync)) } }
        XCTAssertTrue(calls.get.isEmpty)
        let sender = onOtherThread { f.setSent(false) }
        XCTAssertEqual(calls.get.count, 2)
        for c in calls.get {
            XCTAssertEqual(c.thread, sender)
            XCTAssertFalse(c.sync)
        }
        XCTAssertTrue(f.isSent)
        XCTAssertFalse(f.isSentSynchronously)
        let late = Box<(thread: UInt, sync: Bool)?>(nil)
        f.addSentCallback { _, sync in late.set((FutureTests.threadID(), sync)) }
        XCTAssertEqual(late.get?.thread, Self.threadID())
        XCTAssertEqual(late.get?.sync, false)
    }

    func testSentCallbackAsyncIsNeverInline() {
        let f = InvocationFuture<Int>()
        f.setSent(true)
        let call = Box<(thread: UInt, sync: Bool)?>(nil)
        let done = DispatchSemaphore(value: 0)
        f.addSentCallbackAsync { _, sync in
            call.set((FutureTests.threadID(), sync))
            done.signal()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertNotEqual(call.get?.thread, Self.threadID())
        XCTAssertEqual(call.get?.sync, true)
    }

    func testSentThrowsWhenFailedBeforeSent() throws {
        let f = InvocationFuture<Int>()
        let sentCalls = Box(0)
        f.addSentCallback { _, _ in sentCalls.update { $0 += 1 } }
        f.setException(ConnectionLostException("gone"))
        XCTAssertThrowsError(try f.sent(timeout: .seconds(1))) { XCTAssertTrue($0 is ConnectionLostException) }
        XCTAssertThrowsError(try f.sent()) { XCTAssertTrue($0 is ConnectionLostException) }
        XCTAssertEqual(sentCalls.get, 0, "sent callbacks do not run for an invocation that failed unsent")

        // A blocked sent() waiter is woken by the failure.
        let g = InvocationFuture<Int>()
        let waiting = DispatchSemaphore(value: 0)
        let outcome = Box<String>("")
        let finished = DispatchSemaphore(value: 0)
        Thread {
            waiting.signal()
            do {
                outcome.set(try g.sent(timeout: .seconds(10)) ? "sent" : "timeout")
            } catch {
                outcome.set("\(Swift.type(of: error))")
            }
            finished.signal()
        }.start()
        XCTAssertEqual(waiting.wait(timeout: .now() + 10), .success)
        g.setException(InvocationTimeoutException("late"))
        XCTAssertEqual(finished.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(outcome.get, "InvocationTimeoutException")

        // Failed after being sent: sent() reports it was sent.
        let h = InvocationFuture<Int>()
        h.setSent(true)
        h.setException(TestError(code: 1))
        XCTAssertTrue(try h.sent(timeout: .zero))
    }

    // MARK: map

    func testMap() throws {
        let f = Future<Int>()
        let m = f.map { "\($0 * 2)" }
        XCTAssertFalse(m.isDone)
        f.setResult(21)
        XCTAssertEqual(try m.result(), "42")

        let failing = Future<Int>()
        let fm = failing.map { $0 + 1 }
        failing.setException(TestError(code: 2))
        XCTAssertEqual(try fm.exception() as? TestError, TestError(code: 2))

        let throwing = Future.completed(1).map { (_: Int) -> Int in throw TestError(code: 3) }
        XCTAssertEqual(try throwing.exception() as? TestError, TestError(code: 3))

        // Cancelling the mapped future cancels the source.
        let source = Future<Int>()
        let mapped = source.map { $0 }
        mapped.cancel()
        XCTAssertTrue(mapped.isCancelled)
        XCTAssertTrue(source.isCancelled)
        XCTAssertTrue(try source.exception() is InvocationCanceledException)
    }

    // MARK: Swift concurrency

    func testAwaitValue() async throws {
        let f = Future<Int>()
        DispatchQueue.global().async { f.setResult(5) }
        let v = try await f.value
        XCTAssertEqual(v, 5)
        let done = try await Future.completed("now").value
        XCTAssertEqual(done, "now")
        do {
            _ = try await Future<Int>.failed(TestError(code: 4)).value
            XCTFail("no error")
        } catch let e as TestError {
            XCTAssertEqual(e.code, 4)
        }
    }

    func testAwaitSent() async throws {
        let f = InvocationFuture<Int>()
        DispatchQueue.global().async { f.setSent(false) }
        try await f.sent()
        XCTAssertTrue(f.isSent)
        XCTAssertFalse(f.isSentSynchronously)

        let g = InvocationFuture<Int>()
        DispatchQueue.global().async { g.setException(ConnectionLostException("gone")) }
        do {
            try await g.sent()
            XCTFail("no error")
        } catch {
            XCTAssertTrue(error is ConnectionLostException)
        }
    }

    func testTaskCancellationCancelsTheFuture() async throws {
        let f = Future<Int>()
        let task = Task { try await f.value }
        task.cancel()
        do {
            _ = try await task.value
            XCTFail("no error")
        } catch {
            XCTAssertTrue(error is InvocationCanceledException, "\(error)")
        }
        XCTAssertTrue(f.isCancelled)
    }
}
