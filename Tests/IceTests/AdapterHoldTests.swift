import Foundation
import NIOCore
import XCTest

@testable import Ice

/// `hold` and `waitForHold`: the wait ends only once no dispatch is in progress.
final class AdapterHoldTests: XCTestCase {
    /// `work` answers with a future the test completes.
    final class PendingServant: Servant, @unchecked Sendable {
        let started = Future<Void>()
        let finish = Future<Void>()
        var ice_ids: [String] { ["::Test::Pending", "::Ice::Object"] }
        var ice_id: String { "::Test::Pending" }

        func dispatch(_ request: IncomingRequest) -> DispatchResult? {
            guard request.current.operation == "work" else { return nil }
            return request.dispatchFuture(read: { _ in () }, write: { (_: inout OutputStream, _: Void) in }) { (_: Void) -> Future<Void> in
                started.setResult(())
                return finish
            }
        }
    }

    func testWaitForHoldWaitsForDispatchesInProgress() throws {
        let communicator = try Communicator([])
        defer { communicator.destroy() }
        let adapter = try communicator.createObjectAdapterWithEndpoints("Hold", "")
        let servant = PendingServant()
        try adapter.add(servant, identity: Identity(name: "p"))
        adapter.activate()
        let connection = Connection(
            role: .server, endpoint: Endpoint(host: "127.0.0.1", port: 12011), adapter: adapter,
            settings: communicator.settings, logger: communicator.logger)
        let transport = RecordingTransport()
        connection.transportActive(transport)
        let message = ByteBuffer(bytes: Wire.request(id: 1, RequestHeader(identity: Identity(name: "p"), operation: "work"), params: nil))
        connection.received(header: try MessageHeader.parse(message, messageSizeMax: 0), message: message)
        try servant.started.result(timeout: .seconds(10))

        adapter.hold()
        let held = Future<Void>()
        Thread.detachNewThread {
            adapter.waitForHold()
            held.setResult(())
        }
        // The dispatch is still in progress: waitForHold must still be waiting.
        XCTAssertThrowsError(try held.result(timeout: .milliseconds(300)), "waitForHold returned during a dispatch")
        servant.finish.setResult(())
        XCTAssertNoThrow(try held.result(timeout: .seconds(10)), "waitForHold returns once the dispatch replied")
        XCTAssertEqual(transport.sentCount, 2, "validate connection and the reply")

        // Held and idle: it returns at once.
        adapter.waitForHold()
        adapter.deactivate()
    }
}

/// `endpoints` after `deactivate` and `destroy`, as Ice's `getEndpoints`.
final class AdapterEndpointsTests: XCTestCase {
    func testEndpointsOutliveDeactivateButNotDestroy() throws {
        let communicator = try Communicator([])
        defer { communicator.destroy() }
        let adapter = try communicator.createObjectAdapterWithEndpoints("Ends", "tcp -h 127.0.0.1 -p 0")
        let bound = adapter.endpoints
        XCTAssertEqual(bound.count, 1)
        XCTAssertNotEqual(bound.first?.port, 0, "the real port")
        adapter.activate()
        adapter.deactivate()
        adapter.waitForDeactivate()
        XCTAssertEqual(adapter.endpoints, bound)
        adapter.destroy()
        XCTAssertEqual(adapter.endpoints, [])
    }
}
