import Foundation
import XCTest

@testable import Ice

final class PropertiesTests: XCTestCase {
    private var tempFiles: [String] = []

    override func tearDown() {
        for f in tempFiles { try? FileManager.default.removeItem(atPath: f) }
        tempFiles = []
        super.tearDown()
    }

    private func writeTemp(_ contents: String) throws -> String {
        let path = NSTemporaryDirectory() + "props-\(UUID().uuidString).cfg"
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        tempFiles.append(path)
        return path
    }

    func testLoadFollowsIceSyntax() throws {
        // Expected values obtained by loading the same file with Ice 3.7.8 Python
        // (Ice.createProperties().load(path)).
        let file = try writeTemp(
            [
                "# comment",
                "A.Key = value  ",
                "  B.Key=   spaced value # trailing comment",
                "C.Key = a\\#b",
                "D\\=Key = x\\=y",
                "E.Key = back\\\\slash",
                "F.Key = \\ \\ lead",
                "G.Key = trail\\ \\ ",
                "H.Key = keep\\qbackslash",
                "I Key = val",
                "J.Key =",
                "K.Key = a=b",
                "L.Key=\\",
                "M.Key = tab\tinside  x",
                "N.Key = \"quoted\"  ",
                "O.Key = \\ ",
                "P.Key=\\\\\\\\",
                "Q.Key=crlf\r",
                "",
                "   ",
                "\t# indented comment",
            ].joined(separator: "\n"))
        let p = Properties()
        try p.load(path: file)
        let expected: [String: String] = [
            "A.Key": "value", "B.Key": "spaced value", "C.Key": "a#b", "D=Key": "x=y", "E.Key": "back\\slash",
            "F.Key": "  lead", "G.Key": "trail  ", "H.Key": "keep\\qbackslash", "I Key": "val", "K.Key": "a=b",
            "L.Key": "\\", "M.Key": "tab\tinside  x", "N.Key": "\"quoted\"", "O.Key": " ", "P.Key": "\\\\",
            "Q.Key": "crlf",
        ]
        XCTAssertEqual(p.getPropertiesForPrefix(""), expected)
        XCTAssertEqual(p.getProperty("J.Key"), "")  // empty value: unset
    }

    func testLoadSkipsBOMAndLaterLinesWin() throws {
        let file = try writeTemp("\u{FEFF}X.A=1\nX.A=2\nX.B=b\nX.B=\n")
        let p = Properties()
        try p.load(path: file)
        XCTAssertEqual(p.getPropertiesForPrefix("X."), ["X.A": "2"])
    }

    func testLoadErrorsNameFileAndLine() throws {
        let file = try writeTemp("A.B=1\n\nthis is not a property\n")
        XCTAssertThrowsError(try Properties().load(path: file)) { error in
            XCTAssertTrue(error is InitializationException)
            let message = (error as? LocalException)?.message ?? ""
            XCTAssertTrue(message.contains(file + ":3:"), message)
        }
        let eqOnly = try writeTemp("= value\n")
        XCTAssertThrowsError(try Properties().load(path: eqOnly)) { XCTAssertTrue($0 is InitializationException) }
        XCTAssertThrowsError(try Properties().load(path: "/nonexistent/dir/x.cfg")) { error in
            XCTAssertTrue(error is InitializationException)
            XCTAssertTrue((error as? LocalException)?.message.contains("/nonexistent/dir/x.cfg") ?? false)
        }
    }

    func testGetters() {
        let p = Properties()
        p.setProperty("  Int.A  ", "42")
        p.setProperty("Int.B", " -7")
        p.setProperty("Int.C", "12 ")  // Ice: not a number (trailing space)
        p.setProperty("Int.D", "99999999999")
        XCTAssertEqual(p.getPropertyAsInt("Int.A"), 42)
        XCTAssertEqual(p.getPropertyAsInt("Int.B"), -7)
        XCTAssertEqual(p.getPropertyAsIntWithDefault("Int.C", 5), 5)
        XCTAssertEqual(p.getPropertyAsIntWithDefault("Int.D", 5), 5)
        XCTAssertEqual(p.getPropertyAsIntWithDefault("Int.Missing", 3), 3)
        XCTAssertEqual(p.getPropertyAsInt("Int.Missing"), 0)
        XCTAssertEqual(p.getPropertyWithDefault("Missing", "d"), "d")

        // As Ice 3.7.8: getPropertyAsList("a, \"b c\" d,,e") == ["a", "b c", "d", "e"].
        p.setProperty("L", "a, \"b c\" d,,e")
        XCTAssertEqual(p.getPropertyAsList("L"), ["a", "b c", "d", "e"])
        p.setProperty("L2", "'x \\' y' z")
        XCTAssertEqual(p.getPropertyAsList("L2"), ["x ' y", "z"])
        p.setProperty("L3", "\"unterminated")
        XCTAssertEqual(p.getPropertyAsListWithDefault("L3", ["def"]), ["def"])
        XCTAssertEqual(p.getPropertyAsListWithDefault("Nope", ["def"]), ["def"])
        XCTAssertEqual(p.getPropertyAsList("Nope"), [])

        XCTAssertEqual(Set(p.getPropertiesForPrefix("Int.").keys), ["Int.A", "Int.B", "Int.C", "Int.D"])
        p.setProperty("Int.A", "")
        XCTAssertEqual(p.getProperty("Int.A"), "")
        XCTAssertNil(p.getPropertiesForPrefix("Int.")["Int.A"])

        let copy = p.clone()
        copy.setProperty("Int.B", "1")
        XCTAssertEqual(p.getProperty("Int.B"), " -7")
        XCTAssertEqual(copy.getCommandLineOptions().first, "--Int.B=1")
    }

    func testUnusedProperties() {
        let p = Properties()
        p.setProperty("A.x", "1")
        p.setProperty("B.y", "2")
        _ = p.getProperty("A.x")
        XCTAssertEqual(p.getUnusedProperties(), ["B.y"])
    }

    func testSizes() throws {
        let p = Properties()
        let cases: [(String, Int)] = [
            ("262144", 262_144), ("256K", 262_144), ("256KiB", 262_144), ("256 kb", 262_144),
            ("1M", 1_048_576), ("1MiB", 1_048_576), ("2mb", 2_097_152), ("1G", 1_073_741_824),
            ("3GiB", 3 * 1_073_741_824), (" 10B ", 10), ("0", 0),
        ]
        for (text, value) in cases {
            p.setProperty("S", text)
            XCTAssertEqual(try p.getPropertyAsSize("S", default: 7), value, text)
        }
        XCTAssertEqual(try p.getPropertyAsSize("Missing", default: 7), 7)
        for bad in ["-1", "1T", "K", "1.5M", "abc", "99999999999999999999", "9999999999999G"] {
            p.setProperty("S", bad)
            XCTAssertThrowsError(try p.getPropertyAsSize("S", default: 7), bad) {
                XCTAssertTrue($0 is InitializationException, bad)
            }
        }
    }

    func testCommandLineOverridesConfigFiles() throws {
        let f1 = try writeTemp("App.Name = fromFile\nApp.Only = file1\nIce.Trace.Network=3\n")
        let f2 = try writeTemp("App.Second = file2\n")
        var args = [
            "prog", "--Ice.Config=\(f1), \(f2)", "pos1", "--App.Name=fromCommandLine", "--Ice.Trace.Network",
            "--verbose", "-x", "--MyTool.Chunk=256K", "--=odd", "--x=a.b", "--Comment.Cut=a#b", "pos2",
        ]
        let p = try Properties(arguments: &args)
        XCTAssertEqual(args, ["prog", "pos1", "--verbose", "-x", "--=odd", "--x=a.b", "pos2"])
        XCTAssertEqual(p.getProperty("App.Name"), "fromCommandLine")
        XCTAssertEqual(p.getProperty("App.Only"), "file1")
        XCTAssertEqual(p.getProperty("App.Second"), "file2")
        XCTAssertEqual(p.getProperty("Ice.Trace.Network"), "1")
        XCTAssertEqual(try p.getPropertyAsSize("MyTool.Chunk", default: 0), 262_144)
        XCTAssertEqual(p.getProperty("Comment.Cut"), "a")  // values use config-file syntax, as in Ice
        XCTAssertEqual(p.getProperty("Ice.ProgramName"), "prog")
        XCTAssertEqual(p.getProperty("Ice.Config"), "\(f1), \(f2)")
    }

    func testDefaultsAndPrefixParsing() throws {
        let defaults = Properties()
        defaults.setProperty("Ice.ProgramName", "keep")
        defaults.setProperty("A.B", "default")
        defaults.setProperty("Ice.Config", "/does/not/matter")  // already set: no file is loaded
        var args = ["prog", "--A.B=arg", "rest"]
        let p = try Properties(arguments: &args, defaults: defaults)
        XCTAssertEqual(args, ["prog", "rest"])
        XCTAssertEqual(p.getProperty("A.B"), "arg")
        XCTAssertEqual(p.getProperty("Ice.ProgramName"), "keep")
        XCTAssertEqual(defaults.getProperty("A.B"), "default")

        // As Ice 3.7.8: parseCommandLineOptions("Foo", ["--Foo.Bar=2", "x", "--Foo.Baz"]) == ["x"].
        let rest = try p.parseCommandLineOptions(prefix: "Foo", arguments: ["--Foo.Bar=2", "x", "--Foo.Baz", "--Food.X=1"])
        XCTAssertEqual(rest, ["x", "--Food.X=1"])
        XCTAssertEqual(p.getProperty("Foo.Bar"), "2")
        XCTAssertEqual(p.getProperty("Foo.Baz"), "1")
        XCTAssertEqual(try p.parseCommandLineOptions(prefix: "Foo.", arguments: ["--Foo.Q=3"]), [])
        XCTAssertEqual(p.getProperty("Foo.Q"), "3")
    }

    func testIceConfigEnvironmentVariable() throws {
        let file = try writeTemp("Env.Loaded = yes\n")
        setenv("ICE_CONFIG", file, 1)
        defer { unsetenv("ICE_CONFIG") }
        var none = ["prog"]
        XCTAssertEqual(try Properties(arguments: &none).getProperty("Env.Loaded"), "yes")
        var bare = ["prog", "--Ice.Config"]
        let p = try Properties(arguments: &bare)
        XCTAssertEqual(bare, ["prog"])
        XCTAssertEqual(p.getProperty("Env.Loaded"), "yes")
        XCTAssertEqual(p.getProperty("Ice.Config"), file)
    }

    func testProgramNameUsesForwardSlashes() throws {
        var args = ["C:\\bin\\tool.exe"]
        XCTAssertEqual(try Properties(arguments: &args).getProperty("Ice.ProgramName"), "C:/bin/tool.exe")
        XCTAssertEqual(args, ["C:\\bin\\tool.exe"])
    }

    func testMissingConfigFileFails() {
        var args = ["prog", "--Ice.Config=/nonexistent/file.cfg"]
        XCTAssertThrowsError(try Properties(arguments: &args)) { XCTAssertTrue($0 is InitializationException) }
    }

    func testConcurrentAccess() {
        let p = Properties()
        DispatchQueue.concurrentPerform(iterations: 200) { i in
            p.setProperty("K.\(i % 10)", "\(i)")
            _ = p.getPropertiesForPrefix("K.")
            _ = p.getPropertyAsInt("K.\(i % 7)")
        }
        XCTAssertEqual(p.getPropertiesForPrefix("K.").count, 10)
    }
}
