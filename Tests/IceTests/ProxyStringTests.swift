import XCTest

@testable import Ice

final class ProxyStringTests: XCTestCase {
    // Expected strings obtained from the real ZeroC Ice 3.7.8 Python runtime:
    //   c = Ice.initialize(["--Ice.Plugin.IceSSL=IceSSL:createIceSSL"])
    //   c.proxyToString(c.stringToProxy(input))   (None for the null proxy)
    static let roundTrips: [(String, String?)] = [
        ("ident -t:tcp -h 127.0.0.1 -p 10000 -t 5000 -z", "ident -t -e 1.1:tcp -h 127.0.0.1 -p 10000 -t 5000 -z"),
        ("\"sp ace\":tcp -p 1", "\"sp ace\" -t -e 1.1:tcp -p 1 -t 60000"),
        ("cat/name -o:tcp -h \"::1\" -p 2", "cat/name -o -e 1.1:tcp -h \"::1\" -p 2 -t 60000"),
        ("x @ MyAdapter", "x -t -e 1.1 @ MyAdapter"),
        ("a\\\\/b", "a\\\\/b -t -e 1.1"),
        ("a\\/b:tcp -h h -p 1", "a\\/b -t -e 1.1:tcp -h h -p 1 -t 60000"),
        ("ft:tcp -h 127.0.0.1 -p 12010", "ft -t -e 1.1:tcp -h 127.0.0.1 -p 12010 -t 60000"),
        ("héllo/wörld:tcp -h localhost -p 4061", "héllo/wörld -t -e 1.1:tcp -h localhost -p 4061 -t 60000"),
        ("'single quoted' -O:udp -h 239.255.0.1 -p 10000", "\"single quoted\" -O -e 1.1:udp -h 239.255.0.1 -p 10000"),
        ("x -f facet -s -e 1.0:ssl -h h -p 1", "x -f facet -t -s -e 1.0:ssl -h h -p 1 -t 60000"),
        ("x -f \"my facet\" -D -p 1.1:udp -h h -p 1 -z", "x -f \"my facet\" -D -p 1.1 -e 1.1:udp -h h -p 1 -z"),
        ("x -d:udp -h h -p 1", "x -d -e 1.1:udp -h h -p 1"),
        ("x:tcp -h h -p 1:ssl -h h2 -p 2 -t infinite", "x -t -e 1.1:tcp -h h -p 1 -t 60000:ssl -h h2 -p 2 -t infinite"),
        ("x:ws -h h -p 80 -r /chat", "x -t -e 1.1:ws -h h -p 80 -t 60000 -r /chat"),
        ("x:wss -h h -p 443 -r \"/a:b\"", "x -t -e 1.1:wss -h h -p 443 -t 60000 -r \"/a:b\""),
        ("x:tcp -h h -p 1 -t 60000:opaque -t 99 -e 1.1 -v AQID", "x -t -e 1.1:tcp -h h -p 1 -t 60000:opaque -t 99 -e 1.1 -v AQID"),
        ("x:default -h h -p 1", "x -t -e 1.1:tcp -h h -p 1 -t 60000"),
        ("x:tcp -h h -p 1 --sourceAddress 10.0.0.1", "x -t -e 1.1:tcp -h h -p 1 --sourceAddress 10.0.0.1 -t 60000"),
        ("x @ \"adapter with space\"", "x -t -e 1.1 @ \"adapter with space\""),
        ("x @ 'a:b'", "x -t -e 1.1 @ \"a:b\""),
        ("x -f a/b @ Ad", "x -f a/b -t -e 1.1 @ Ad"),
        ("\"a\\\"q\" -o:tcp -p 3", "a\\\"q -o -e 1.1:tcp -p 3 -t 60000"),
        ("x\\t\\n:tcp -p 1", "x\\t\\n -t -e 1.1:tcp -p 1 -t 60000"),
        ("a\\x41\\101:tcp -p 1", "aAA -t -e 1.1:tcp -p 1 -t 60000"),
        ("x  -t   -o  -e 1.1   :  tcp -p 5", "x -o -e 1.1:tcp -p 5 -t 60000"),
        ("x:tcp -h h -p 1 -z -t 100", "x -t -e 1.1:tcp -h h -p 1 -t 100 -z"),
        ("x -f \"a@b\" @ adp", "x -f \"a@b\" -t -e 1.1 @ adp"),
        ("\"x y:z@w\" @ A", "\"x y:z@w\" -t -e 1.1 @ A"),
        ("😀:tcp -p 7", "😀 -t -e 1.1:tcp -p 7 -t 60000"),
        ("/justname:tcp -p 1", "justname -t -e 1.1:tcp -p 1 -t 60000"),
        ("x:tcp", "x -t -e 1.1:tcp -p 0 -t 60000"),
        ("x -s -O -e 1.1 -p 1.0 @ A", "x -O -s -e 1.1 @ A"),
        ("x:opaque -t 1 -e 1.1 -v CTEyNy4wLjAuMeouAABg6gAAAA==", "x -t -e 1.1:tcp -h 127.0.0.1 -p 12010 -t 60000"),
        ("x:opaque -t 2 -e 1.1 -v CTEyNy4wLjAuMeouAABg6gAAAA==", "x -t -e 1.1:ssl -h 127.0.0.1 -p 12010 -t 60000"),
        ("x:opaque -t 1 -e 1.0 -v CTEyNy4wLjAuMeouAABg6gAAAAA=", "x -t -e 1.1:tcp -h 127.0.0.1 -p 12010 -t 60000"),
        ("x:opaque -t 3 -e 1.0 -v AWgBAAAAAQABAAE=", "x -t -e 1.1:udp -h h -p 1 -z"),
        ("x:opaque -t 3 -e 1.1 -v AWgBAAAAAQ==", "x -t -e 1.1:udp -h h -p 1 -z"),
        ("x:opaque -t 1 -e 1.1 -v CTEyNy4wLjAuMeouAABg6gAAAP8=", "x -t -e 1.1:tcp -h 127.0.0.1 -p 12010 -t 60000"),
        ("x:opaque -t 4 -e 1.1 -v AWgBAAAAYOoAAAABLw==", "x -t -e 1.1:ws -h h -p 1 -t 60000 -r /"),
        ("x:opaque -t 99 -v AAAA", "x -t -e 1.1:opaque -t 99 -e 1.0 -v AAAA"),
        ("x:opaque -t 99 -e 1.1 -v AA", "x -t -e 1.1:opaque -t 99 -e 1.1 -v AAAA"),
        ("x:opaque -t 99 -e 1.1 -v A=A=", "x -t -e 1.1:opaque -t 99 -e 1.1 -v A/A="),
        ("x:udp -h h -p 1 -v 1.0 -e 1.0", "x -t -e 1.1:udp -h h -p 1"),
        ("x:tcp -h 127.0.0.1 -p 65535", "x -t -e 1.1:tcp -h 127.0.0.1 -p 65535 -t 60000"),
        ("x:ssl -h h -p 1 -t infinite -z", "x -t -e 1.1:ssl -h h -p 1 -t infinite -z"),
        ("x:tcp -p 1:foo -h q", "x -t -e 1.1:tcp -p 1 -t 60000"),
        ("a\\x01:tcp -p 1", "a\\u0001 -t -e 1.1:tcp -p 1 -t 60000"),
        ("x:tcp -h h -p 1 -timeout 5", "x -t -e 1.1:tcp -h h -p 1 -t 5"),
        ("x:tcp -h h -p 1 -zz", "x -t -e 1.1:tcp -h h -p 1 -t 60000 -z"),
        ("x:tcp -h h -p 1 -t +5", "x -t -e 1.1:tcp -h h -p 1 -t 5"),
        ("x:tcp -h h -p 010", "x -t -e 1.1:tcp -h h -p 10 -t 60000"),
        ("x -t -e 1.1:tcp -p 1 -t infinite", "x -t -e 1.1:tcp -p 1 -t infinite"),
        ("x:tcp -h h -p 1 --sourceAddress \"0:0::1\"", "x -t -e 1.1:tcp -h h -p 1 --sourceAddress \"::1\" -t 60000"),
        ("\"\"", nil),
        ("''", nil),
        ("", nil),
    ]

    func testRoundTripsMatchIce() throws {
        XCTAssertGreaterThanOrEqual(Self.roundTrips.count, 25)
        for (input, expected) in Self.roundTrips {
            let proxy = try ProxyDescriptor.parse(input)
            XCTAssertEqual(proxy?.toString(), expected, "input: \(input)")
            // Ice's output parses back to the same proxy.
            if let proxy, let expected {
                XCTAssertEqual(try ProxyDescriptor(parsing: expected), proxy, "reparse: \(expected)")
                XCTAssertEqual(proxy.description, expected)
            }
        }
    }

    // Expected strings from Ice 3.7.8 Python with --Ice.ToStringMode=ASCII / Compat.
    func testToStringModes() throws {
        let cases: [(String, String, String)] = [
            ("héllo/wörld -f fäcet:tcp -p 1",
             "h\\u00e9llo/w\\u00f6rld -f f\\u00e4cet -t -e 1.1:tcp -p 1 -t 60000",
             "h\\303\\251llo/w\\303\\266rld -f f\\303\\244cet -t -e 1.1:tcp -p 1 -t 60000"),
            ("😀 @ \"ädapter\"",
             "\\U0001f600 -t -e 1.1 @ \\u00e4dapter",
             "\\360\\237\\230\\200 -t -e 1.1 @ \\303\\244dapter"),
            ("a\\x01\\a\\v:tcp -p 1",
             "a\\u0001\\a\\v -t -e 1.1:tcp -p 1 -t 60000",
             "a\\001\\007\\013 -t -e 1.1:tcp -p 1 -t 60000"),
        ]
        for (input, ascii, compat) in cases {
            let proxy = try ProxyDescriptor(parsing: input)
            XCTAssertEqual(proxy.toString(mode: .ascii), ascii)
            XCTAssertEqual(proxy.toString(mode: .compat), compat)
            XCTAssertEqual(try ProxyDescriptor(parsing: ascii), proxy)
            XCTAssertEqual(try ProxyDescriptor(parsing: compat), proxy)
        }
    }

    func testParsedFields() throws {
        let p = try ProxyDescriptor(parsing: "ident -t:tcp -h 127.0.0.1 -p 10000 -t 5000 -z")
        XCTAssertEqual(p.identity, Identity(name: "ident"))
        XCTAssertEqual(p.mode, .twoway)
        XCTAssertEqual(p.encoding, .v1_1)
        XCTAssertEqual(p.protocolVersion, .v1_0)
        XCTAssertEqual(p.endpoints, [Endpoint(host: "127.0.0.1", port: 10000, timeout: 5000, compress: true)])

        let q = try ProxyDescriptor(parsing: "cat/name -f \"fa cet\" -O -s -e 1.0 -p 1.0 @ \"My Adapter\"")
        XCTAssertEqual(q.identity, Identity(name: "name", category: "cat"))
        XCTAssertEqual(q.facet, "fa cet")
        XCTAssertEqual(q.mode, .batchOneway)
        XCTAssertTrue(q.secure)
        XCTAssertEqual(q.encoding, .v1_0)
        XCTAssertEqual(q.adapterId, "My Adapter")
        XCTAssertTrue(q.endpoints.isEmpty)

        let w = try ProxyDescriptor(parsing: "w:wss -h \"::1\" -p 443 -r \"/a:b\":udp -p 9")
        XCTAssertEqual(w.endpoints.count, 2)
        XCTAssertEqual(w.endpoints[0].transport, .wss(resource: "/a:b"))
        XCTAssertEqual(w.endpoints[0].host, "::1")
        XCTAssertEqual(w.endpoints[1].transport, .udp)
        XCTAssertEqual(w.endpoints[1].timeout, -1)

        let wellKnown = try ProxyDescriptor(parsing: "  hello  ")
        XCTAssertEqual(wellKnown.identity.name, "hello")
        XCTAssertTrue(wellKnown.endpoints.isEmpty && wellKnown.adapterId.isEmpty)
    }

    func testDefaultHostAndUnknownEndpoints() throws {
        let p = try ProxyDescriptor(parsing: "x:tcp -p 1:tcp -h other -p 2", defaultHost: "10.1.1.1")
        XCTAssertEqual(p.endpoints.map(\.host), ["10.1.1.1", "other"])
        XCTAssertEqual(p.toString(), "x -t -e 1.1:tcp -h 10.1.1.1 -p 1 -t 60000:tcp -h other -p 2 -t 60000")

        var dropped: [String] = []
        let q = try ProxyDescriptor.parse("x:foo -h h:tcp -p 2:bar", unknownEndpoint: { dropped.append($0) })
        XCTAssertEqual(q?.endpoints.count, 1)
        XCTAssertEqual(dropped, ["foo -h h", "bar"])
    }

    func testNullProxy() throws {
        XCTAssertNil(try ProxyDescriptor.parse(""))
        XCTAssertNil(try ProxyDescriptor.parse("\"\""))
        XCTAssertNil(try ProxyDescriptor.parse("  ''  "))
        XCTAssertThrowsError(try ProxyDescriptor(parsing: "\"\"")) { XCTAssertTrue($0 is ProxyParseException) }
        XCTAssertThrowsError(try ProxyDescriptor(parsing: "")) { XCTAssertTrue($0 is ProxyParseException) }
    }

    // Exception types from Ice 3.7.8 Python for the same inputs (IllegalIdentityException, which
    // this runtime does not have, is reported as IdentityParseException; `udp -c` is accepted by
    // Ice but rejected here).
    static let invalid: [(String, LocalException.Type)] = [
        ("cat/name -o:tcp -h ::1 -p 2", EndpointParseException.self),
        ("x:tcp -h h -p 1 --sourceAddress ::1", EndpointParseException.self),
        ("x:tcp -h h -p 65536", EndpointParseException.self),
        ("x:tcp -h h -p abc", EndpointParseException.self),
        ("x:tcp -h h -p -1", EndpointParseException.self),
        ("x:tcp -h h -p 1 -t 0", EndpointParseException.self),
        ("x:tcp -h h -p 1 -t -5", EndpointParseException.self),
        ("x:tcp -h h -p 1 -t abc", EndpointParseException.self),
        ("x:tcp -h h -p 1 -q", EndpointParseException.self),
        ("x:tcp -h h -p 1 --foo bar", EndpointParseException.self),
        ("x -q:tcp -p 1", ProxyParseException.self),
        ("x -oo:tcp -p 1", ProxyParseException.self),
        ("a/b/c:tcp -p 1", IdentityParseException.self),
        ("x:tcp -h h -p 1 garbage", EndpointParseException.self),
        ("x @ A garbage", ProxyParseException.self),
        ("x garbage", ProxyParseException.self),
        ("\"x:tcp -p 1", ProxyParseException.self),
        ("x -f \"a:tcp -p 1", ProxyParseException.self),
        ("x @", ProxyParseException.self),
        ("x @ \"\"", ProxyParseException.self),
        ("x:", EndpointParseException.self),
        ("x/", IdentityParseException.self),
        ("x -f", ProxyParseException.self),
        ("x -e", ProxyParseException.self),
        ("x -e 1", ProxyParseException.self),
        ("x -e 0.1", ProxyParseException.self),
        ("x -p 1.x", ProxyParseException.self),
        ("x -t extra", ProxyParseException.self),
        ("x:tcp -h * -p 1", EndpointParseException.self),
        ("x:foo -h q", EndpointParseException.self),
        ("x:tcp -h \"h -p 1", EndpointParseException.self),
        ("x:tcp -z 5 -h h", EndpointParseException.self),
        ("x:opaque -t 1 -e 1.1 -v CTEyNy4wLjAuMeouAABg6gAA", UnmarshalOutOfBoundsException.self),
        ("x:opaque -t 1 -e 1.1 -v CTEyNy4wLjAuMeouAABg6gAAAAA=", UnmarshalOutOfBoundsException.self),
        ("x:opaque -t 1 -e 1.0 -v CTEyNy4wLjAuMeouAABg6gAAAAAA", EncapsulationException.self),
        ("x:opaque -t 1 -e 2.0 -v CTEyNy4wLjAuMeouAABg6gAAAA==", UnsupportedEncodingException.self),
        ("x:opaque -t 65535 -e 1.1 -v AAAA", EndpointParseException.self),
        ("x:opaque -t 70000 -e 1.1 -v AAAA", EndpointParseException.self),
        ("x:opaque -e 1.1 -v AAAA", EndpointParseException.self),
        ("x:opaque -t 99 -e 1.1", EndpointParseException.self),
        ("x:opaque -t 99 -e 1.1 -v AAAA -z", EndpointParseException.self),
        ("x:opaque -t 99 -e 1.1 -v AA!A", EndpointParseException.self),
        ("x:opaque -t 99 -t 98 -e 1.1 -v AA", EndpointParseException.self),
        ("x:tcp -h h -p 1 -h", EndpointParseException.self),
        (":tcp -p 1", ProxyParseException.self),
        ("@ A", ProxyParseException.self),
        ("\"\" x", ProxyParseException.self),
        ("  ", ProxyParseException.self),
        ("x -t @ A -o", ProxyParseException.self),
        ("x -f a\\u12:tcp -p 1", ProxyParseException.self),
        ("a\u{01}b:tcp -p 1", IdentityParseException.self),
        ("a\\400:tcp -p 1", IdentityParseException.self),
        ("x:udp -h h -p 1 -c", EndpointParseException.self),
    ]

    func testInvalidProxiesThrowTheRightException() {
        for (input, type) in Self.invalid {
            XCTAssertThrowsError(try ProxyDescriptor.parse(input), "input: \(input)") { error in
                XCTAssertTrue(
                    Swift.type(of: error) == type, "input: \(input): got \(error), expected \(type.typeId)")
            }
        }
    }

    func testErrorMessagesNameTheProblem() {
        func message(_ s: String) -> String {
            do {
                _ = try ProxyDescriptor.parse(s)
                return ""
            } catch let e as LocalException {
                return e.message
            } catch {
                return "\(error)"
            }
        }
        // Messages as printed by Ice 3.7.8.
        XCTAssertEqual(message("x:tcp -h h -p 65536"), "port value `65536' out of range in endpoint `tcp  -h h -p 65536'")
        XCTAssertEqual(message("x:tcp -h h -p 1 -t 0"), "invalid timeout value `0' in endpoint `tcp  -h h -p 1 -t 0'")
        XCTAssertEqual(message("x:tcp -h h -p 1 -q"), "unrecognized argument `-q' in endpoint `tcp -h h -p 1 -q'")
        XCTAssertEqual(message("x -q:tcp -p 1"), "unknown option `-q' in `x -q:tcp -p 1'")
        XCTAssertEqual(message("a/b/c"), "unescaped '/' in identity `a/b/c'")
        XCTAssertEqual(message("x @ A garbage"), "invalid trailing characters after `x @ A ' in `x @ A garbage'")
        XCTAssertEqual(message("x:foo -h h"), "invalid endpoint `foo -h h' in `x:foo -h h'")
        XCTAssertEqual(message("x:tcp -h * -p 1"), "`-h *' not valid for proxy endpoint `tcp -h * -p 1 -t 60000'")
        XCTAssertEqual(
            message("x:opaque -t 99 -e 1.1 -v AA!A"),
            "invalid base64 character `!' (ordinal 33) in endpoint `opaque  -t 99 -e 1.1 -v AA!A'")
    }

    func testBuiltProxiesPrint() {
        var p = ProxyDescriptor(
            identity: Identity(name: "sp ace", category: "c/t"), facet: "f", mode: .datagram,
            endpoints: [Endpoint(transport: .udp, host: "::1", port: 5, timeout: -1)])
        XCTAssertEqual(p.toString(), "\"c\\/t/sp ace\" -f f -d -e 1.1:udp -h \"::1\" -p 5")
        p.endpoints = []
        p.adapterId = "a b"
        p.protocolVersion = ProtocolVersion(major: 2, minor: 0)
        XCTAssertEqual(p.toString(), "\"c\\/t/sp ace\" -f f -d -p 2.0 -e 1.1 @ \"a b\"")
        XCTAssertEqual(try ProxyDescriptor(parsing: p.toString()), p)
    }
}
