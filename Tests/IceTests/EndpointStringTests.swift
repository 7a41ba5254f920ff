import XCTest

@testable import Ice

final class EndpointStringTests: XCTestCase {
    func testDescription() {
        XCTAssertEqual(Endpoint(host: "127.0.0.1", port: 12010).description, "tcp -h 127.0.0.1 -p 12010 -t 60000")
        XCTAssertEqual(
            Endpoint(transport: .ssl, host: "::1", port: 1, timeout: -1, compress: true).description,
            "ssl -h \"::1\" -p 1 -t infinite -z")
        XCTAssertEqual(
            Endpoint(transport: .ws(resource: "/a:b"), host: "", port: 80).description,
            "ws -p 80 -t 60000 -r \"/a:b\"")
        XCTAssertEqual(Endpoint(transport: .udp, host: "h", port: 5, timeout: -1).description, "udp -h h -p 5")
        XCTAssertEqual(
            Endpoint(host: "h", port: 1, sourceAddress: "::1").description,
            "tcp -h h -p 1 --sourceAddress \"::1\" -t 60000")
        XCTAssertEqual(
            Endpoint(transport: .opaque(type: 99, encoding: .v1_1, bytes: [1, 2, 3]), host: "", port: 0).description,
            "opaque -t 99 -e 1.1 -v AQID")
        // Ice's base64 breaks lines after 76 characters (from Ice 3.7.8 Python).
        XCTAssertEqual(
            Endpoint(transport: .opaque(type: 99, encoding: .v1_1, bytes: [UInt8](repeating: 0, count: 90)),
                     host: "", port: 0).description,
            "opaque -t 99 -e 1.1 -v " + String(repeating: "A", count: 76) + "\r\n" + String(repeating: "A", count: 44))
    }

    func testParseSingle() throws {
        XCTAssertEqual(
            try Endpoint.parse("tcp -h 127.0.0.1 -p 12010 -t 5000 -z", forAdapter: false),
            Endpoint(host: "127.0.0.1", port: 12010, timeout: 5000, compress: true))
        XCTAssertEqual(try Endpoint.parse("default -p 3"), Endpoint(host: "", port: 3))
        XCTAssertEqual(try Endpoint.parse("tcp -p 3", defaultHost: "localhost").host, "localhost")
        XCTAssertEqual(try Endpoint.parse("ws -h h -p 1").transport, .ws(resource: "/"))
        XCTAssertEqual(try Endpoint.parse("wss -h h -p 1 -r /x").transport, .wss(resource: "/x"))
        XCTAssertEqual(
            try Endpoint.parse("opaque -t 99 -e 1.0 -v AQID").transport,
            .opaque(type: 99, encoding: .v1_0, bytes: [1, 2, 3]))
        XCTAssertEqual(try Endpoint.parse("opaque -t 99 -e 1.0 -v AQID").description, "opaque -t 99 -e 1.0 -v AQID")
        XCTAssertEqual(try Endpoint.parse("tcp -h h -p 1 --sourceAddress 0:0::1", forAdapter: false).sourceAddress, "::1")
        XCTAssertThrowsError(try Endpoint.parse("foo -h h")) { XCTAssertTrue($0 is EndpointParseException) }
        XCTAssertThrowsError(try Endpoint.parse("   ")) { XCTAssertTrue($0 is EndpointParseException) }
        XCTAssertThrowsError(try Endpoint.parse("tcp -h h -p 1 --sourceAddress nothost", forAdapter: false)) {
            XCTAssertTrue($0 is EndpointParseException)
        }
    }

    func testAdapterEndpoints() throws {
        // Object adapter endpoints: `-h *` means all interfaces, `-p 0` any port.
        let any = try Endpoint.parse("tcp -h * -p 0")
        XCTAssertEqual(any.host, "")
        XCTAssertEqual(any.port, 0)
        XCTAssertEqual(any.description, "tcp -p 0 -t 60000")
        XCTAssertEqual(try Endpoint.parse("tcp", forAdapter: true).host, "")
        XCTAssertThrowsError(try Endpoint.parse("tcp -h * -p 0", forAdapter: false)) { XCTAssertTrue($0 is EndpointParseException) }
        XCTAssertThrowsError(try Endpoint.parse("tcp -h h -p 0 --sourceAddress 127.0.0.1")) {
            XCTAssertTrue($0 is EndpointParseException)
        }
    }

    func testParseList() throws {
        let list = try [Endpoint].parse(list: "tcp -h 127.0.0.1 -p 0 -t 5000:udp -h 127.0.0.1 -p 0")
        XCTAssertEqual(try [Endpoint].parse(list: "tcp -h * -p 0").first?.host, "")
        XCTAssertThrowsError(try [Endpoint].parse(list: "tcp -h * -p 0", forAdapter: false)) {
            XCTAssertTrue($0 is EndpointParseException)
        }
        XCTAssertEqual(list.map(\.description), ["tcp -h 127.0.0.1 -p 0 -t 5000", "udp -h 127.0.0.1 -p 0"])
        XCTAssertEqual(try [Endpoint].parse(list: "ws -h \"::1\" -p 1 -r \"/a:b\"").first?.host, "::1")
        XCTAssertEqual(try [Endpoint].parse(list: "tcp -p 1:").count, 1)  // as in Ice
        XCTAssertEqual(try [Endpoint].parse(list: "").count, 0)
        // Rejected by Ice 3.7.8's createObjectAdapterWithEndpoints too.
        for bad in ["tcp -p 1: ", " : tcp -p 1", "foo -h x", "tcp -h ::1 -p 1"] {
            XCTAssertThrowsError(try [Endpoint].parse(list: bad), bad) {
                XCTAssertTrue($0 is EndpointParseException, bad)
            }
        }
    }

    func testOpaqueKnownTypesAreDecoded() throws {
        // tcp body: host "127.0.0.1", port 12010, timeout 60000, compress false (§7.1 example).
        let tcp = try Endpoint.parse("opaque -t 1 -e 1.1 -v CTEyNy4wLjAuMeouAABg6gAAAA==")
        XCTAssertEqual(tcp, Endpoint(host: "127.0.0.1", port: 12010))
        // udp with encoding 1.0 carries protocol/encoding bytes before compress.
        let udp = try Endpoint.parse("opaque -t 3 -e 1.0 -v AWgBAAAAAQABAAE=")
        XCTAssertEqual(udp, Endpoint(transport: .udp, host: "h", port: 1, timeout: -1, compress: true))
        XCTAssertEqual(udp.description, "udp -h h -p 1 -z")
    }
}
