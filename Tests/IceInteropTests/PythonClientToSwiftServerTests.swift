import Foundation
import Ice
import XCTest

/// The real Ice 3.7 Python client (`Tests/Interop/interop_client.py`, every scenario of
/// `interop_expectations.md`) against our server.
final class PythonClientToSwiftServerTests: XCTestCase {
    func runPythonClient(serverProperties: [String], clientArguments: [String]) throws {
        let server = try SwiftTestServer(properties: serverProperties)
        defer { server.stop() }
        let client = try PythonPeer(
            script: Repo.interop.appendingPathComponent("interop_client.py"),
            arguments: ["--echo", server.echoProxy, "--controller", server.controllerProxy] + clientArguments)
        let (status, out, err) = client.finish()
        XCTAssertEqual(status, 0, "interop_client.py failed:\n\(out)\n\(err)")
        XCTAssertTrue(out.contains(" 0 failed"), out)
        XCTAssertFalse(out.contains("FAIL"), out)
    }

    func testAllScenariosWithDefaultLimits() throws {
        try runPythonClient(serverProperties: [], clientArguments: [])
    }

    func testAllScenariosWithRaisedMessageSizeMax() throws {
        try runPythonClient(
            serverProperties: ["--Ice.MessageSizeMax=5120"], clientArguments: ["--message-size-max", "5120"])
    }
}
