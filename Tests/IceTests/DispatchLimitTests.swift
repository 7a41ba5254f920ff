import Foundation
import NIOCore
import XCTest

@testable import Ice

/// `<adapter>.MaxDispatches`: at the limit a connection stops reading, and it reads again as
/// dispatches finish, however the two race on different threads.
final class DispatchLimitTests: XCTestCase {
    /// Many more requests in flight than the limit allows, each dispatch finishing on a server
    /// pool thread while the I/O thread reads and pauses: every request gets its reply. (A
    /// pause that lands after the resume meant for it stops the connection for good, and the
    /// oldest reply then never comes.)
    func testConnectionAtTheLimitAlwaysReadsAgain() throws {
        for limit in [1, 2] {
            let server = try Communicator([
                "--X.Endpoints=tcp -h 127.0.0.1 -p 0", "--X.MaxDispatches=\(limit)", "--Ice.ThreadPool.Server.Size=4",
            ])
            defer { server.destroy() }
            let adapter = try server.createObjectAdapter("X")
            try adapter.add(CalcServant(), identity: Identity(name: "calc"))
            adapter.activate()
            let port = try XCTUnwrap(adapter.endpoints.first).port
            let client = try Communicator([])
            defer { client.destroy() }
            let calc = try XCTUnwrap(client.stringToProxy("calc:tcp -h 127.0.0.1 -p \(port)", as: CalcPrx.self))

            // `add` is dispatched on the server thread pool (not inline on the I/O thread).
            var window: [(Int32, InvocationFuture<Int32>)] = []
            var replies = 0
            func awaitOldest() throws {
                let (n, f) = window.removeFirst()
                XCTAssertEqual(try f.result(timeout: .seconds(20)), n + 1, "MaxDispatches=\(limit)")
                replies += 1
            }
            for n in Int32(0)..<10_000 {
                if window.count == 64 { try awaitOldest() }
                window.append((n, try calc._invoke("add", write: { $0.write(n); $0.write(Int32(1)) }, read: { try $0.read(Int32.self) })))
            }
            while !window.isEmpty { try awaitOldest() }
            XCTAssertEqual(replies, 10_000, "MaxDispatches=\(limit)")
        }
    }
}

/// A connection's read pausers against a transport whose thread runs queued work when the test
/// says, in the order the test says (as an event loop may run calls made by different threads).
final class ReadPauserTests: XCTestCase {
    final class ManualTransport: MessageTransport, @unchecked Sendable {
        private let lock = NSLock()
        private var queued: [@Sendable () -> Void] = []
        private var readingState = true
        var localAddress: String { "127.0.0.1:12010" }
        var remoteAddress: String { "127.0.0.1:40000" }

        func send(_ segments: [ByteBuffer], completion: (@Sendable (Result<Void, any Error>) -> Void)?) {}
        func setReading(_ enabled: Bool) { lock.withLock { readingState = enabled } }
        func close() {}
        func schedule(after delay: TimeAmount, _ body: @escaping @Sendable () -> Void) -> @Sendable () -> Void { {} }
        func execute(_ body: @escaping @Sendable () -> Void) { lock.withLock { queued.append(body) } }

        var reading: Bool { lock.withLock { readingState } }
        /// Runs the queued work, newest first.
        func runQueuedInReverse() {
            let work: [@Sendable () -> Void] = lock.withLock {
                defer { queued = [] }
                return queued.reversed()
            }
            for w in work { w() }
        }
    }

    /// A server connection without an adapter, and no transport yet.
    func unattachedConnection(_ communicator: Communicator) -> Connection {
        Connection(
            role: .server, endpoint: Endpoint(host: "127.0.0.1", port: 12011), adapter: nil,
            settings: communicator.settings, logger: communicator.logger)
    }

    /// Attaches a new transport to `connection` and runs what that queued.
    func attach(_ connection: Connection) -> ManualTransport {
        let transport = ManualTransport()
        connection.transportActive(transport)
        transport.runQueuedInReverse()
        return transport
    }

    func makeConnection() throws -> (Connection, ManualTransport, Communicator) {
        let communicator = try Communicator([])
        let connection = unattachedConnection(communicator)
        return (connection, attach(connection), communicator)
    }

    /// A pause and the resume that lifts it, applied by the transport's thread in the opposite
    /// order: the connection still reads.
    func testResumeAppliedBeforeItsPauseStillReads() throws {
        let (connection, transport, communicator) = try makeConnection()
        defer { communicator.destroy() }
        XCTAssertTrue(transport.reading)
        connection.pauseReading(.dispatchLimit)
        connection.resumeReading(.dispatchLimit)
        transport.runQueuedInReverse()
        XCTAssertTrue(transport.reading)
    }

    /// Reading resumes only once every reason to pause was lifted, whatever the order applied.
    func testReadingResumesOnlyWhenNoPauserIsLeft() throws {
        let (connection, transport, communicator) = try makeConnection()
        defer { communicator.destroy() }
        connection.pauseReading(.held)
        connection.pauseReading(.dispatchLimit)
        connection.resumeReading(.dispatchLimit)
        transport.runQueuedInReverse()
        XCTAssertFalse(transport.reading, "still held")
        connection.resumeReading(.held)
        connection.pauseReading(.held)
        transport.runQueuedInReverse()
        XCTAssertFalse(transport.reading, "held again")
        connection.resumeReading(.held)
        transport.runQueuedInReverse()
        XCTAssertTrue(transport.reading)
    }

    /// Paused before its transport existed (a holding adapter pauses its new connections): the
    /// transport stops reading as soon as it is attached.
    func testPauseBeforeTheTransportExistsIsApplied() throws {
        let communicator = try Communicator([])
        defer { communicator.destroy() }
        let connection = unattachedConnection(communicator)
        connection.pauseReading(.held)
        let transport = attach(connection)
        XCTAssertFalse(transport.reading)
    }
}
