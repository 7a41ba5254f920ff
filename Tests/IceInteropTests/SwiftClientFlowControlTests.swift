import Dispatch
import Foundation
import Ice
import NIOCore
import XCTest

/// Our client's futures against the real Ice 3.7 Python server: sent tracking and bounded memory
/// while the server holds its adapter (stops reading), cancellation, wait timeouts, invocation
/// timeouts and Swift concurrency.
final class SwiftClientFlowControlTests: XCTestCase {
    var server: PythonTestServer!
    var communicator: Communicator!
    var echo: EchoPrx!
    var controller: ControllerPrx!

    /// `Ice.TCP.SndSize` of the flow-control communicator: also our high-water mark.
    let highWaterMark = 65536

    override func setUpWithError() throws {
        server = try PythonTestServer(extraArguments: ["--message-size-max", "8192"])
        communicator = try makeInteropCommunicator()
        echo = try XCTUnwrap(communicator.stringToProxy(server.echoProxy, as: EchoPrx.self))
        controller = try XCTUnwrap(communicator.stringToProxy(server.controllerProxy, as: ControllerPrx.self))
    }

    override func tearDown() {
        // Never leave the server holding (its connections would not drain).
        try? controller?.activateAdapter()
        communicator?.destroy()
        server?.stop()
    }

    /// A communicator whose connections queue requests above `highWaterMark` outbound bytes, and
    /// `echo` on a dedicated, already validated connection.
    func makeFlowControlledEcho(_ connectionId: String) throws -> (Communicator, EchoPrx, Connection) {
        let c = try makeInteropCommunicator(["--Ice.TCP.SndSize=\(highWaterMark)"])
        let e = try XCTUnwrap(c.stringToProxy(server.echoProxy, as: EchoPrx.self)).ice_connectionId(connectionId)
        try e.ice_ping()
        let connection = try e.ice_getConnection()
        XCTAssertEqual(connection.outboundStatistics.highWaterMark, highWaterMark)
        return (c, e, connection)
    }

    // MARK: sent tracking and bounded memory

    func testSentTrackingAndBoundedMemoryWhileTheServerHolds() throws {
        let (c, held, connection) = try makeFlowControlledEcho("held")
        defer { c.destroy() }
        let count = 256 * 1024
        let messageSize = byteCountRequestSize(count)
        let bytes = interopPayload(count, seed: 1)
        let testThread = currentThreadID()

        try controller.holdAdapter()
        var futures = try fillUntilQueued(held, bytes)
        let firstQueued = futures.count - 1
        XCTAssertFalse(futures[firstQueued].isSent, "the socket buffers never filled up")
        XCTAssertTrue(futures[0].isSentSynchronously)
        for f in futures[..<firstQueued] { XCTAssertTrue(f.isSent) }

        // Wait until the transport is stuck: the oldest waiting request stays unsent.
        XCTAssertFalse(try futures[firstQueued].sent(timeout: .milliseconds(100)))
        let before = connection.outboundStatistics
        XCTAssertGreaterThanOrEqual(before.bytesInTransport, highWaterMark)
        XCTAssertLessThanOrEqual(before.bytesInTransport, highWaterMark + messageSize)

        // Everything sent from now on waits in the runtime's queue; the transport holds no more.
        for _ in 0..<6 {
            let f = try held.byteCountAsync(bytes)
            XCTAssertFalse(f.isSent)
            XCTAssertFalse(f.isSentSynchronously)
            XCTAssertLessThanOrEqual(connection.outboundStatistics.bytesInTransport, highWaterMark + messageSize)
            futures.append(f)
        }
        XCTAssertFalse(try futures.last!.sent(timeout: .milliseconds(100)))
        let unsent = futures.filter { !$0.isSent }
        let during = connection.outboundStatistics
        XCTAssertEqual(during.bytesInTransport, before.bytesInTransport)
        XCTAssertEqual(during.messagesWaiting, unsent.count)
        XCTAssertEqual(during.messagesWaiting, before.messagesWaiting + 6)
        XCTAssertEqual(during.bytesWaiting, unsent.count * messageSize)
        XCTAssertEqual(during.highWaterMark, highWaterMark)

        // A sent callback on an already-sent future runs inline, with the flag it was sent with.
        let inline = Locked<(thread: UInt, sync: Bool)?>(nil)
        futures[0].addSentCallback { _, sync in inline.with { $0 = (currentThreadID(), sync) } }
        XCTAssertEqual(inline.get?.thread, testThread)
        XCTAssertEqual(inline.get?.sync, true)

        // Sent callbacks of the waiting requests run once the server reads again, on a runtime thread.
        let sentLater = Locked<[(thread: UInt, sync: Bool)]>([])
        let group = DispatchGroup()
        for f in unsent {
            group.enter()
            f.addSentCallback { _, sync in
                sentLater.with { $0.append((currentThreadID(), sync)) }
                group.leave()
            }
        }
        XCTAssertTrue(sentLater.get.isEmpty)

        try controller.activateAdapter()
        XCTAssertEqual(group.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(sentLater.get.count, unsent.count)
        for s in sentLater.get {
            XCTAssertFalse(s.sync)
            XCTAssertNotEqual(s.thread, testThread)
        }
        for f in futures { XCTAssertEqual(try f.result(timeout: .seconds(30)), 262_144) }
        for f in unsent {
            XCTAssertTrue(f.isSent)
            XCTAssertFalse(f.isSentSynchronously)
        }
        XCTAssertTrue(futures[0].isSentSynchronously)

        let late = Locked<(thread: UInt, sync: Bool)?>(nil)
        unsent[0].addSentCallback { _, sync in late.with { $0 = (currentThreadID(), sync) } }
        XCTAssertEqual(late.get?.thread, testThread)
        XCTAssertEqual(late.get?.sync, false)

        let after = connection.outboundStatistics
        XCTAssertEqual(after.bytesInTransport, 0)
        XCTAssertEqual(after.messagesWaiting, 0)
        XCTAssertEqual(after.bytesWaiting, 0)
        XCTAssertEqual(try held.add(3, 4), 7)
    }

    /// The pattern of an application that bounds its own memory: at most `window` requests
    /// outstanding, wait until each is sent, wait for the oldest result when the window is full.
    func testPipelinedWindowCompletesWhileTheServerHoldsThenReleases() throws {
        let (c, windowed, _) = try makeFlowControlledEcho("window")
        defer { c.destroy() }
        let controller = self.controller!
        let window = 8
        let total = 64
        let count = 128 * 1024
        let bytes = interopPayload(count, seed: 2)

        try controller.holdAdapter()
        // Releases the adapter once the pipeline is seen waiting on the held server.
        let stalled = DispatchSemaphore(value: 0)
        let released = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            if stalled.wait(timeout: .now() + 30) == .success { try? controller.activateAdapter() }
            released.signal()
        }

        var stalls = 0
        func waitOrReportStall(_ done: () throws -> Bool, _ waitLonger: () throws -> Bool) throws {
            if try done() { return }
            stalls += 1
            if stalls == 1 { stalled.signal() }
            XCTAssertTrue(try waitLonger())
        }

        var outstanding: [InvocationFuture<Int32>] = []
        var results: [Int32] = []
        func collectOldest() throws {
            let oldest = outstanding.removeFirst()
            try waitOrReportStall(
                { (try? oldest.result(timeout: .milliseconds(100))) != nil },
                { try oldest.result(timeout: .seconds(30)) == Int32(count) })
            results.append(try oldest.result())
        }
        for _ in 0..<total {
            if outstanding.count == window { try collectOldest() }
            let f = try windowed.byteCountAsync(bytes)
            outstanding.append(f)
            try waitOrReportStall({ try f.sent(timeout: .milliseconds(100)) }, { try f.sent(timeout: .seconds(30)) })
        }
        while !outstanding.isEmpty { try collectOldest() }

        if stalls == 0 { stalled.signal() }
        XCTAssertEqual(released.wait(timeout: .now() + 30), .success)
        XCTAssertGreaterThan(stalls, 0, "the pipeline never waited for the held server")
        XCTAssertEqual(results, Array(repeating: Int32(count), count: total))
        XCTAssertEqual(try windowed.add(1, 2), 3)
    }

    // MARK: cancel

    func testCancelSentInvocation() throws {
        let connection = try echo.ice_getConnection()
        let f = try echo.sleepAsync(2000)
        XCTAssertTrue(try f.sent(timeout: .seconds(10)))
        f.cancel()
        XCTAssertTrue(f.isDone)
        XCTAssertTrue(f.isCancelled)
        assertExactly(InvocationCanceledException.self, try f.exception())
        assertThrowsExactly(InvocationCanceledException.self) { try f.result() }
        // The connection is not closed; the late reply is ignored.
        XCTAssertEqual(try echo.add(1, 2), 3)
        XCTAssertTrue(try echo.ice_getConnection() === connection)
        // Cancelling a completed future changes nothing.
        let done = try echo.addAsync(1, 1)
        XCTAssertEqual(try done.result(timeout: .seconds(10)), 2)
        done.cancel()
        XCTAssertFalse(done.isCancelled)
        XCTAssertEqual(try done.result(), 2)
    }

    func testCancelledQueuedRequestIsNeverSent() throws {
        let (c, held, connection) = try makeFlowControlledEcho("cancel")
        defer { c.destroy() }
        XCTAssertEqual(try echo.recorded(), [])
        let count = 256 * 1024
        try controller.holdAdapter()
        let big = try fillUntilQueued(held, interopPayload(count))
        XCTAssertFalse(big.last!.isSent)
        let r99 = try held.recordAsync(99)
        let r98 = try held.recordAsync(98)
        XCTAssertFalse(r99.isSent)
        XCTAssertFalse(r98.isSent)
        // An invocation timeout while queued also takes the request out of the queue.
        let r97 = try held.ice_invocationTimeout(100).recordAsync(97)
        assertExactly(InvocationTimeoutException.self, try r97.exception(timeout: .seconds(10)))
        XCTAssertFalse(r97.isSent)
        let waiting = connection.outboundStatistics.messagesWaiting
        XCTAssertEqual(waiting, big.filter { !$0.isSent }.count + 2)

        r99.cancel()
        XCTAssertTrue(r99.isCancelled)
        assertExactly(InvocationCanceledException.self, try r99.exception(timeout: .seconds(1)))
        XCTAssertEqual(connection.outboundStatistics.messagesWaiting, waiting - 1)
        XCTAssertThrowsError(try r99.sent(timeout: .seconds(1))) { XCTAssertTrue($0 is InvocationCanceledException) }

        try controller.activateAdapter()
        for f in big { XCTAssertEqual(try f.result(timeout: .seconds(30)), Int32(count)) }
        XCTAssertNoThrow(try r98.result(timeout: .seconds(30)))
        XCTAssertEqual(try echo.recorded(), [98])
        XCTAssertFalse(r99.isSent)
        XCTAssertFalse(r97.isSent)
    }

    func testCancelledQueuedOnewayIsNeverSent() throws {
        let (c, held, connection) = try makeFlowControlledEcho("cancel-oneway")
        defer { c.destroy() }
        XCTAssertEqual(try echo.recorded(), [])
        try controller.holdAdapter()
        let big = try fillUntilQueued(held, interopPayload(256 * 1024))
        let oneway = held.ice_oneway()
        let r99 = try oneway.recordAsync(99)
        let r98 = try oneway.recordAsync(98)
        XCTAssertFalse(r99.isDone)
        let waiting = connection.outboundStatistics.messagesWaiting
        r99.cancel()
        assertExactly(InvocationCanceledException.self, try r99.exception(timeout: .seconds(1)))
        XCTAssertEqual(connection.outboundStatistics.messagesWaiting, waiting - 1)
        try controller.activateAdapter()
        for f in big { XCTAssertNoThrow(try f.result(timeout: .seconds(30))) }
        XCTAssertNoThrow(try r98.result(timeout: .seconds(30)))
        XCTAssertEqual(try held.recorded(), [98])
        XCTAssertFalse(r99.isSent)
    }

    func testDestroyFailsPendingInvocations() throws {
        let c = try makeInteropCommunicator()
        let e = try XCTUnwrap(c.stringToProxy(server.echoProxy, as: EchoPrx.self))
        let f = try e.sleepAsync(5000)
        XCTAssertTrue(try f.sent(timeout: .seconds(10)))
        c.destroy()
        assertExactly(CommunicatorDestroyedException.self, try f.exception(timeout: .seconds(10)))
        assertThrowsExactly(CommunicatorDestroyedException.self) { try e.sleepAsync(1) }
    }

    // MARK: waiting with a timeout

    func testResultTimeoutThenResult() throws {
        let f = try echo.sleepAsync(1500)
        assertThrowsExactly(TimeoutException.self) { try f.result(timeout: .milliseconds(100)) }
        XCTAssertFalse(f.isDone)
        XCTAssertNoThrow(try f.result(timeout: .seconds(10)))
        XCTAssertTrue(f.isDone)

        let g = try echo.sleepAsync(1500)
        assertThrowsExactly(TimeoutException.self) { try g.exception(timeout: .milliseconds(100)) }
        XCTAssertFalse(g.isDone)
        XCTAssertNil(try g.exception(timeout: .seconds(10)))
    }

    func testInvocationTimeout() throws {
        let connection = try echo.ice_getConnection()
        let start = DispatchTime.now()
        assertThrowsExactly(InvocationTimeoutException.self) { try echo.ice_invocationTimeout(100).sleep(1000) }
        let elapsedMs = (DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1_000_000
        XCTAssertLessThan(elapsedMs, 900)
        XCTAssertEqual(try echo.add(2, 2), 4)
        XCTAssertTrue(try echo.ice_getConnection() === connection, "the connection stays usable")
        // A call that completes in time is unaffected.
        XCTAssertEqual(try echo.ice_invocationTimeout(10_000).add(3, 3), 6)
    }

    // MARK: Swift concurrency

    func testAwaitValueAndSent() async throws {
        let echo = self.echo!
        let value = try await echo.addAsync(20, 22).value
        XCTAssertEqual(value, 42)
        let f = try echo.byteCountAsync(interopPayload(100 * 1024))
        try await f.sent()
        XCTAssertTrue(f.isSent)
        let n = try await f.value
        XCTAssertEqual(n, 102_400)
        do {
            try await echo.throwBaseAsync("awaited").value
            XCTFail("no error")
        } catch let e as BaseError {
            XCTAssertEqual(e.reason, "awaited")
        }
        let nobody = echo.ice_identity(Identity(name: "nobody"))
        do {
            try await nobody.ice_pingAsync().value
            XCTFail("no error")
        } catch let e as ObjectNotExistException {
            XCTAssertEqual(e.operation, "ice_ping")
        }
    }

    func testTaskCancellationCancelsTheInvocation() async throws {
        let echo = self.echo!
        let f = try echo.sleepAsync(5000)
        let start = DispatchTime.now()
        let task = Task { try await f.value }
        task.cancel()
        do {
            try await task.value
            XCTFail("no error")
        } catch {
            XCTAssertTrue(Swift.type(of: error) == InvocationCanceledException.self, "\(error)")
        }
        XCTAssertTrue(f.isCancelled)
        XCTAssertLessThan((DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1_000_000, 4000)
        let sum = try await echo.addAsync(1, 2).value
        XCTAssertEqual(sum, 3)
    }
}
