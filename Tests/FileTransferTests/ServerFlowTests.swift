import Foundation
import Ice
import NIOCore
import XCTest

@testable import FileTransfer

/// Backpressure, graceful drain and resume across a restart.
final class ServerFlowTests: ServerTestCase {
    /// With the workers held, the server keeps at most `queueLimit` jobs and stops reading: the
    /// client's later requests stay unsent. Released, everything completes.
    func testBackpressureBoundsTheQueueAndStopsReading() throws {
        let queueLimit = 2
        let gate = ServerWriteGate()
        let server = try startServer(
            workers: 1, queueLimit: queueLimit, properties: ["--Ice.TCP.RcvSize=65536"], beforeWrite: gate.hook)
        let store = try connect(server, clientProperties: ["--Ice.TCP.SndSize=65536"])
        let chunkSize = 64 * 1024
        let data = makeData(64 * chunkSize, seed: 3)  // 4 MiB, far more than the socket buffers
        let upload = try open(store, "pressure.bin", size: data.count)

        var futures: [InvocationFuture<Void>] = []
        defer { gate.release() }
        for range in chunks(data.count, chunkSize) {
            futures.append(try upload.sendAsync(offset: Int64(range.lowerBound), bytes: buffer(data[range])))
        }
        // The worker is stuck in its first write; the dispatches pile up to MaxDispatches.
        XCTAssertTrue(gate.waitForArrivals(1), "the first write reaches the worker")
        waitUntil("the queue holds a job besides the running one") { server.jobs.submittedCount >= queueLimit }

        // Whatever arrived meanwhile, the server holds at most queueLimit waiting jobs (+ the
        // running one): the rest of the 4 MiB is in the socket buffers or still on the client.
        // MaxDispatches (= queueLimit) is strict: requests read beyond it wait in the adapter,
        // so the queue never fills and `send`, dispatched on the I/O thread, never blocks there.
        XCTAssertLessThanOrEqual(server.jobs.depth, queueLimit)
        XCTAssertEqual(server.jobs.submittedCount, queueLimit)
        XCTAssertEqual(server.jobs.blockedSubmitCount, 0)
        XCTAssertEqual(gate.arrived, 1)
        let unsent = futures.filter { !$0.isSent }.count
        XCTAssertGreaterThan(unsent, 0, "the client has requests it could not send")
        XCTAssertFalse(futures.last!.isSent, "the last request is still on the client")
        let connection = try XCTUnwrap(futures[0].connection)
        XCTAssertGreaterThan(connection.outboundStatistics.messagesWaiting, 0)
        XCTAssertEqual(futures.filter(\.isDone).count, 0, "no reply while the worker is held")

        gate.release()
        for future in futures { try future.result(timeout: .seconds(60)) }
        XCTAssertTrue(futures.allSatisfy(\.isSent))
        XCTAssertEqual(server.jobs.submittedCount, futures.count)
        XCTAssertLessThanOrEqual(server.jobs.maxDepth, queueLimit, "the queue never held more than its limit")
        XCTAssertEqual(try upload.commit(checksum: standardChecksum(data)).size, Int64(data.count))
        XCTAssertEqual(fileContents("pressure.bin"), data)
    }

    /// Requests and replies larger than the socket buffers, which are locked small (so the kernel
    /// cannot grow a receiver's to what its receive low-water mark asks for): each message is
    /// still read, once it is all there or as the buffer fills, and the transfers complete.
    func testLargeChunksPassSmallLockedSocketBuffers() throws {
        let server = try startServer(workers: 2, queueLimit: 4, properties: ["--Ice.TCP.RcvSize=65536"])
        let store = try connect(server, clientProperties: ["--Ice.TCP.SndSize=65536"])
        let chunkSize = 3 << 20
        let data = makeData(4 * chunkSize + 12_345, seed: 17)
        let upload = try open(store, "large-chunks.bin", size: data.count)
        let futures = try chunks(data.count, chunkSize).map { range in
            try upload.sendAsync(offset: Int64(range.lowerBound), bytes: buffer(data[range]))
        }
        for future in futures { try future.result(timeout: .seconds(60)) }
        XCTAssertEqual(try upload.commit(checksum: standardChecksum(data)).size, Int64(data.count))
        XCTAssertEqual(fileContents("large-chunks.bin"), data)

        // Replies as large, to a client whose receive buffer is locked small.
        let reader = try storeProxy(makeClient(["--Ice.TCP.RcvSize=65536"]), server)
        var readBack = [UInt8]()
        for range in chunks(data.count, chunkSize) {
            let bytes = try reader.read(path: "large-chunks.bin", offset: Int64(range.lowerBound), length: Int32(range.count))
            readBack += bytes.readableBytesView
        }
        XCTAssertEqual(readBack, data)
    }

    /// stop() while chunks are queued: each of them is written and replied to, then the server
    /// closes; the partial upload is durable and can be finished by a new server.
    func testStopDrainsQueuedChunksAndRepliesToEach() throws {
        let gate = ServerWriteGate()
        let server = try startServer(workers: 1, queueLimit: 16, beforeWrite: gate.hook)
        let store = try connect(server)
        let chunkSize = 10_000
        let data = makeData(10 * chunkSize, seed: 9)
        let upload = try open(store, "drain.bin", size: data.count)
        let queued = chunks(data.count, chunkSize).prefix(6)
        var futures: [InvocationFuture<Void>] = []
        defer { gate.release() }
        for range in queued {
            futures.append(try upload.sendAsync(offset: Int64(range.lowerBound), bytes: buffer(data[range])))
        }
        XCTAssertTrue(gate.waitForArrivals(1))
        waitUntil("all six chunks are in the server's queue") { server.jobs.submittedCount == 6 }

        let endpoints = server.endpoints
        let stopped = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            server.server.stop()
            stopped.signal()
        }
        waitUntil("the adapter is deactivated") { server.server.adapter?.isDeactivated == true }
        // No new connections once stopping.
        let late = try XCTUnwrap(makeClient().stringToProxy("store:\(endpoints)", as: StorePrx.self))
        XCTAssertThrowsError(try late.ice_ping(), "a new client is refused")
        XCTAssertEqual(stopped.wait(timeout: .now()), .timedOut, "stop waits for the queued chunks")
        XCTAssertEqual(futures.filter(\.isDone).count, 0)

        gate.release()
        for future in futures { XCTAssertNoThrow(try future.result(timeout: .seconds(30)), "every queued send gets its reply") }
        XCTAssertEqual(stopped.wait(timeout: .now() + 30), .success, "stop returns once drained")
        XCTAssertEqual(server.jobs.depth + server.jobs.inProgress, 0)
        server.communicator.destroy()

        // A new server on the same root: the six chunks are durable (stop flushed them).
        let next = try startServer()
        let store2 = try connect(next)
        let resumed = try open(store2, "drain.bin", size: data.count, resume: true)
        XCTAssertEqual(try resumed.received(), [0, Int64(6 * chunkSize)])
        try resumed.send(offset: Int64(6 * chunkSize), bytes: buffer(data[(6 * chunkSize)...]))
        XCTAssertEqual(try resumed.commit(checksum: standardChecksum(data)).checksum, standardChecksum(data))
        XCTAssertEqual(fileContents("drain.bin"), data)
    }

    /// stop() while a client keeps streaming: the server stops taking new requests (the client's
    /// later sends fail with a local exception, never a TransferError), replies to those it
    /// took, and everything acknowledged is durable for the next server.
    func testStopWhileAClientKeepsSendingFinishesAndKeepsAcknowledgedChunks() throws {
        let gate = ServerWriteGate()
        let server = try startServer(workers: 2, queueLimit: 4, beforeWrite: gate.hook)
        let store = try connect(server)
        let chunkSize = 32 * 1024
        let data = makeData(256 * chunkSize, seed: 13)  // 8 MiB: far more than sent before the stop
        let upload = try open(store, "stream.bin", size: data.count)
        let ranges = chunks(data.count, chunkSize)

        final class Outcome: @unchecked Sendable {
            let lock = NSLock()
            var acknowledged: [Range<Int>] = []
            var failures: [any Error] = []
        }
        let outcome = Outcome()
        let clientDone = DispatchSemaphore(value: 0)
        let payloads = ranges.map { buffer(data[$0]) }
        Thread.detachNewThread {
            defer { clientDone.signal() }
            var window: [(Range<Int>, InvocationFuture<Void>)] = []
            func settle(_ entry: (Range<Int>, InvocationFuture<Void>)) -> Bool {
                do {
                    try entry.1.result(timeout: .seconds(60))
                    outcome.lock.withLock { outcome.acknowledged.append(entry.0) }
                    return true
                } catch {
                    outcome.lock.withLock { outcome.failures.append(error) }
                    return false
                }
            }
            for (range, payload) in zip(ranges, payloads) {
                do {
                    window.append((range, try upload.sendAsync(offset: Int64(range.lowerBound), bytes: payload)))
                } catch {
                    outcome.lock.withLock { outcome.failures.append(error) }
                    break
                }
                if window.count == 8, !settle(window.removeFirst()) { break }
            }
            for entry in window { _ = settle(entry) }
        }
        defer { gate.release() }
        // One upload's chunks go through one worker at a time; the others wait in the queue.
        XCTAssertTrue(gate.waitForArrivals(1), "a worker is writing")

        let stopped = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            server.server.stop()
            stopped.signal()
        }
        waitUntil("the adapter is deactivated") { server.server.adapter?.isDeactivated == true }
        gate.release()
        XCTAssertEqual(stopped.wait(timeout: .now() + 60), .success, "stop finishes although the client keeps sending")
        XCTAssertEqual(clientDone.wait(timeout: .now() + 60), .success)
        server.communicator.destroy()

        let (acknowledged, failures) = outcome.lock.withLock { (outcome.acknowledged, outcome.failures) }
        XCTAssertFalse(failures.isEmpty, "the stream was cut by the stop")
        XCTAssertLessThan(acknowledged.count, ranges.count)
        for failure in failures {
            XCTAssertFalse(failure is TransferError, "a send failed with \(failure)")
            XCTAssertTrue(failure is LocalException, "a send failed with \(failure)")
        }

        // Everything acknowledged is durable; finish the upload on a new server.
        let next = try startServer()
        let resumed = try open(try connect(next), "stream.bin", size: data.count, resume: true)
        let received = try resumed.received()
        var stored: [Range<Int>] = []
        for index in stride(from: 0, to: received.count, by: 2) {
            stored.append(Int(received[index])..<Int(received[index + 1]))
        }
        for range in acknowledged {
            XCTAssertTrue(stored.contains { $0.lowerBound <= range.lowerBound && range.upperBound <= $0.upperBound },
                          "acknowledged \(range) is durable (stored: \(stored))")
        }
        for range in ranges where !stored.contains(where: { $0.lowerBound <= range.lowerBound && range.upperBound <= $0.upperBound }) {
            try resumed.send(offset: Int64(range.lowerBound), bytes: buffer(data[range]))
        }
        XCTAssertEqual(try resumed.commit(checksum: standardChecksum(data)).checksum, standardChecksum(data))
        XCTAssertEqual(fileContents("stream.bin"), data)
    }

    /// Once stop() began, a request that arrives is not dispatched (as in Ice, the connection is
    /// closing): it fails on the client with a local exception, while the one being written
    /// still gets its reply.
    func testRequestsArrivingAfterStopAreNotDispatched() throws {
        let gate = ServerWriteGate()
        let server = try startServer(workers: 1, queueLimit: 4, beforeWrite: gate.hook)
        let store = try connect(server)
        let data = makeData(20_000)
        let upload = try open(store, "late.bin", size: data.count)
        defer { gate.release() }
        let first = try upload.sendAsync(offset: 0, bytes: buffer(data[0..<10_000]))
        XCTAssertTrue(gate.waitForArrivals(1))

        let stopped = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            server.server.stop()
            stopped.signal()
        }
        waitUntil("the adapter is deactivated") { server.server.adapter?.isDeactivated == true }
        let late = try upload.sendAsync(offset: 10_000, bytes: buffer(data[10_000...]))
        XCTAssertTrue(try late.sent(timeout: .seconds(10)), "the late request is on the wire")
        gate.release()

        XCTAssertNoThrow(try first.result(timeout: .seconds(30)), "the chunk being written is replied to")
        do {
            try late.result(timeout: .seconds(30))
            XCTFail("a request that arrived after stop() was dispatched")
        } catch {
            XCTAssertTrue(error is LocalException, "\(error)")
        }
        XCTAssertEqual(stopped.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(server.jobs.submittedCount, 1, "only the first chunk became a job")
        server.communicator.destroy()

        let next = try startServer()
        let resumed = try open(try connect(next), "late.bin", size: data.count, resume: true)
        XCTAssertEqual(try resumed.received(), [0, 10_000])
    }

    /// Half an upload, a graceful restart, then resume: received() reports what was written.
    func testResumeAfterGracefulRestart() throws {
        let data = makeData(300_000, seed: 5)
        let half = 150_000
        let first = try startServer()
        let upload = try open(try connect(first), "resume/big.bin", size: data.count)
        for range in chunks(half, 25_000) {
            try upload.send(offset: Int64(range.lowerBound), bytes: buffer(data[range]))
        }
        let id = upload.ice_getIdentity()
        first.shutDown()

        let second = try startServer()
        let store = try connect(second)
        let resumed = try open(store, "resume/big.bin", size: data.count, resume: true)
        XCTAssertEqual(resumed.ice_getIdentity(), id, "the same partial upload continues")
        XCTAssertEqual(try resumed.received(), [0, Int64(half)])
        for range in chunks(data.count, 25_000) where range.lowerBound >= half {
            try resumed.send(offset: Int64(range.lowerBound), bytes: buffer(data[range]))
        }
        XCTAssertEqual(try resumed.commit(checksum: standardChecksum(data)).size, Int64(data.count))
        XCTAssertEqual(fileContents("resume/big.bin"), data)
    }

    /// The server's communicator is destroyed without a graceful stop (as in a crash of the
    /// network side): what a new server reports is a subset of what was written, and sending the
    /// rest completes the file.
    func testResumeAfterCommunicatorDestroyedReportsASubset() throws {
        let data = makeData(200_000, seed: 11)
        let first = try startServer()
        let upload = try open(try connect(first), "crash.bin", size: data.count)
        let written = Array(chunks(data.count, 20_000).enumerated().filter { $0.offset % 2 == 0 }.map(\.element))
        for range in written {
            try upload.send(offset: Int64(range.lowerBound), bytes: buffer(data[range]))
        }
        first.communicator.destroy()

        let second = try startServer()
        let resumed = try open(try connect(second), "crash.bin", size: data.count, resume: true)
        let received = try resumed.received()
        XCTAssertEqual(received.count % 2, 0)
        var covered: [Range<Int>] = []
        for index in stride(from: 0, to: received.count, by: 2) {
            let range = Int(received[index])..<Int(received[index + 1])
            XCTAssertTrue(written.contains { $0.lowerBound <= range.lowerBound && range.upperBound <= $0.upperBound },
                          "\(range) was written")
            covered.append(range)
        }
        // Send everything not reported, then commit.
        for range in chunks(data.count, 20_000)
        where !covered.contains(where: { $0.lowerBound <= range.lowerBound && range.upperBound <= $0.upperBound }) {
            try resumed.send(offset: Int64(range.lowerBound), bytes: buffer(data[range]))
        }
        XCTAssertEqual(try resumed.commit(checksum: standardChecksum(data)).checksum, standardChecksum(data))
        XCTAssertEqual(fileContents("crash.bin"), data)
    }
}
