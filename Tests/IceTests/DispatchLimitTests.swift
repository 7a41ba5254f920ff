import Foundation
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
