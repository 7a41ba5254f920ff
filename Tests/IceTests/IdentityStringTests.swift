import XCTest

@testable import Ice

final class IdentityStringTests: XCTestCase {
    // (input, category, name, Unicode, ASCII, Compat) from Ice 3.7.8 Python:
    // Ice.stringToIdentity(input) and Ice.identityToString(id, Ice.ToStringMode.X).
    static let cases: [(String, String, String, String, String, String)] = [
        ("a\\/b", "", "a/b", "a\\/b", "a\\/b", "a\\/b"),
        ("a\\\\/b", "a\\", "b", "a\\\\/b", "a\\\\/b", "a\\\\/b"),
        ("cat/name", "cat", "name", "cat/name", "cat/name", "cat/name"),
        ("héllo wörld", "", "héllo wörld", "héllo wörld", "h\\u00e9llo w\\u00f6rld", "h\\303\\251llo w\\303\\266rld"),
        ("a\\x41b", "", "aAb", "aAb", "aAb", "aAb"),
        ("a\\101b", "", "aAb", "aAb", "aAb", "aAb"),
        ("a\\u00e9", "", "aé", "aé", "a\\u00e9", "a\\303\\251"),
        ("a\\U0001F600", "", "a😀", "a😀", "a\\U0001f600", "a\\360\\237\\230\\200"),
        ("a\\q", "", "a\\q", "a\\\\q", "a\\\\q", "a\\\\q"),
        ("a\\", "", "a\\", "a\\\\", "a\\\\", "a\\\\"),
        ("\\a\\b\\f\\n\\r\\t\\v\\?", "", "\u{07}\u{08}\u{0C}\n\r\t\u{0B}?",
         "\\a\\b\\f\\n\\r\\t\\v?", "\\a\\b\\f\\n\\r\\t\\v?", "\\007\\b\\f\\n\\r\\t\\013?"),
        ("a\\8", "", "a\\8", "a\\\\8", "a\\\\8", "a\\\\8"),
        ("😀", "", "😀", "😀", "\\U0001f600", "\\360\\237\\230\\200"),
        ("q\\'\\\"", "", "q'\"", "q\\'\\\"", "q\\'\\\"", "q\\'\\\""),
        ("a'b\"c", "", "a'b\"c", "a\\'b\\\"c", "a\\'b\\\"c", "a\\'b\\\"c"),
        ("x\\/y/z", "x/y", "z", "x\\/y/z", "x\\/y/z", "x\\/y/z"),
        ("a\\1234", "", "aS4", "aS4", "aS4", "aS4"),
        ("/x", "", "x", "x", "x", "x"),
    ]

    func testParseAndPrintLikeIce() throws {
        for (input, category, name, unicode, ascii, compat) in Self.cases {
            let id = try Identity(parsing: input)
            XCTAssertEqual(id, Identity(name: name, category: category), "input: \(input)")
            XCTAssertEqual(id.toString(), unicode, "input: \(input)")
            XCTAssertEqual(id.toString(mode: .ascii), ascii, "input: \(input)")
            XCTAssertEqual(id.toString(mode: .compat), compat, "input: \(input)")
            for mode in ToStringMode.allCases {
                XCTAssertEqual(try Identity(parsing: id.toString(mode: mode)), id, "reparse \(mode): \(input)")
            }
        }
    }

    func testInvalidIdentities() {
        // Each of these raises IdentityParseException in Ice 3.7.8 (\377 and \xff decode to
        // bytes that are not UTF-8: Python fails with UnicodeDecodeError, we throw).
        let invalid = ["a/b/c", "a\u{01}b", "a\\\u{01}b", "a\\400", "a\\u12", "a\\x", "a\\xg", "a\u{7F}b",
                       "a\\udc00", "a\\377", "a\\xff", "x/y\u{1F}"]
        for s in invalid {
            XCTAssertThrowsError(try Identity(parsing: s), "input: \(s)") {
                XCTAssertTrue($0 is IdentityParseException, "input: \(s): \($0)")
            }
        }
        XCTAssertThrowsError(try Identity(parsing: "a\u{01}b")) {
            XCTAssertEqual(
                ($0 as? LocalException)?.message,
                "invalid identity name `a\u{01}b': character after `a' has invalid ordinal value 1")
        }
        XCTAssertThrowsError(try Identity(parsing: "a\\400")) {
            XCTAssertEqual(
                ($0 as? LocalException)?.message, "invalid identity name `a\\400': octal value \\400 (256) is out of range")
        }
    }

    func testEscapeHelpers() throws {
        XCTAssertEqual(escapeIceString("a:b c", special: ":"), "a\\:b c")
        XCTAssertEqual(escapeIceString("\u{7F}\u{1B}"), "\\u007f\\u001b")
        XCTAssertEqual(escapeIceString("\u{7F}\u{1B}é", mode: .compat), "\\177\\033\\303\\251")
        XCTAssertEqual(escapeIceString("€", mode: .ascii), "\\u20ac")
        XCTAssertEqual(try unescapeIceString("a\\:b", special: ":"), "a:b")
        XCTAssertEqual(try unescapeIceString("a\\:b"), "a\\:b")
        let s = "xx\\x41yy"
        let start = s.index(s.startIndex, offsetBy: 2)
        let end = s.index(s.startIndex, offsetBy: 6)
        XCTAssertEqual(try unescapeIceString(s, start: start, end: end), "A")
        XCTAssertThrowsError(try unescapeIceString("\u{01}")) { XCTAssertTrue($0 is IdentityParseException) }
        // Every code point survives every mode.
        let all = String(String.UnicodeScalarView((1...0x300).compactMap(Unicode.Scalar.init))) + "😀\u{10FFFF}"
        for mode in ToStringMode.allCases {
            XCTAssertEqual(try unescapeIceString(escapeIceString(all, special: "/", mode: mode), special: "/"), all)
        }
    }
}
