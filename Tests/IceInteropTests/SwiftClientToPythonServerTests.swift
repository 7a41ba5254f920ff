import Foundation
import Ice
import NIOCore
import XCTest

/// Our client against the real Ice 3.7 Python server (`Tests/Interop/interop_server.py`).
final class SwiftClientToPythonServerTests: XCTestCase {
    var server: PythonTestServer!
    var communicator: Communicator!
    var echo: EchoPrx!
    var controller: ControllerPrx!

    override func setUpWithError() throws {
        server = try PythonTestServer(extraArguments: ["--message-size-max", "8192"])
        communicator = try Communicator(["--Ice.MessageSizeMax=8192", "--Ice.RetryIntervals=-1"])
        echo = try XCTUnwrap(communicator.stringToProxy(server.echoProxy, as: EchoPrx.self))
        controller = try XCTUnwrap(communicator.stringToProxy(server.controllerProxy, as: ControllerPrx.self))
    }

    override func tearDown() {
        communicator?.destroy()
        server?.stop()
    }

    func testTwowayWithReturnAndOutParameters() throws {
        XCTAssertEqual(try echo.add(40, 2), 42)
        XCTAssertEqual(try echo.add(Int32.max, 1), Int32.min)
        let r = try echo.concat("hé", "llo")
        XCTAssertEqual(r.returnValue, "héllo")
        XCTAssertEqual(r.length, 6)
        let long = String(repeating: "x", count: 300)
        XCTAssertEqual(try echo.concat(long, "").length, 300)

        var v = AllTypes()
        v.b = true; v.by = 255; v.s = -32768; v.i = Int32.min; v.l = Int64.max; v.f = 1.5; v.d = -2.25e300
        v.str = "ünïcode ✓"; v.color = .blue; v.points = [Point(x: 1, y: -1), Point(x: 0, y: Int32.max)]
        v.dict = ["a": 1, "b": -2]; v.strings = ["", "x", String(repeating: "y", count: 400)]
        let rt = try echo.roundTrip(v)
        XCTAssertEqual(rt.returnValue, v)
        XCTAssertEqual(rt.copy, v)
    }

    func testBytesTravelIntact() throws {
        XCTAssertEqual(try echo.echoBytes(ByteBuffer()).readableBytes, 0)
        let bytes = ByteBuffer(bytes: (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        XCTAssertEqual(try echo.echoBytes(bytes), bytes)
    }
}
