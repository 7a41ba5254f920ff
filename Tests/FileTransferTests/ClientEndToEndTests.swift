import Foundation
import Ice
import XCTest

@testable import FileTransfer

/// Runs the built `ftclient` executable against an in-process server.
final class ClientEndToEndTests: FakeStoreTestCase {
    func ftclient(_ arguments: [String]) throws -> FTClientOutcome {
        try runFTClient(arguments, scratch: temp.path)
    }

    private var proxyArgs: [String] { ["--proxy", server.proxyString] }

    private func json(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8))
    }

    func testSendGetListStat() throws {
        let data = randomBytes(300_001)
        let local = try temp.file("a.bin", data)

        let sent = try ftclient(["send", local, "dir/a.bin", "--chunk-size", "16KiB", "--window", "4", "--json"] + proxyArgs)
        XCTAssertEqual(sent.status, 0, sent.stderr)
        XCTAssertEqual(sent.stderr, "", "no progress on a pipe")
        let summary = try XCTUnwrap(try json(sent.stdout) as? [String: Any])
        XCTAssertEqual(summary["bytes"] as? Int, data.count)
        XCTAssertEqual(summary["chunkSize"] as? Int, 16 * 1024)
        XCTAssertEqual(summary["window"] as? Int, 4)
        XCTAssertEqual(summary["compress"] as? String, "off")
        XCTAssertEqual(summary["remote"] as? String, "dir/a.bin")
        XCTAssertEqual(summary["checksum"] as? String, Checksum(of: data, algorithm: .standard).description)
        XCTAssertNil(summary["sha256"])
        XCTAssertEqual(summary["chunks"] as? Int, 19)
        XCTAssertEqual(server.store.file("dir/a.bin"), data)

        // Text summary, compression, default remote name.
        let text = try temp.file("notes.txt", textBytes(100_000))
        let sentText = try ftclient(["send", text, "--compress", "auto", "--no-progress"] + proxyArgs)
        XCTAssertEqual(sentText.status, 0, sentText.stderr)
        XCTAssertTrue(sentText.stdout.hasPrefix("sent \(text) -> notes.txt: "), sentText.stdout)
        XCTAssertTrue(sentText.stdout.contains("compression auto"), sentText.stdout)
        XCTAssertTrue(sentText.stdout.contains("stored: notes.txt  100000 bytes  \(Checksum(of: textBytes(100_000), algorithm: .standard).displayText)  modified "), sentText.stdout)
        XCTAssertGreaterThan(server.store.counts.compressed, 0)

        let ls = try ftclient(["ls", "dir", "--json"] + proxyArgs)
        XCTAssertEqual(ls.status, 0, ls.stderr)
        let entries = try XCTUnwrap(try json(ls.stdout) as? [[String: Any]])
        XCTAssertEqual(entries.map { $0["path"] as? String }, ["dir/a.bin"])
        XCTAssertEqual(entries.first?["size"] as? Int, data.count)

        let table = try ftclient(["ls"] + proxyArgs)
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.contains("notes.txt"), table.stdout)
        XCTAssertTrue(table.stdout.contains("SIZE"), table.stdout)

        let stat = try ftclient(["stat", "dir/a.bin", "--json"] + proxyArgs)
        XCTAssertEqual(stat.status, 0, stat.stderr)
        let info = try XCTUnwrap(try json(stat.stdout) as? [String: Any])
        XCTAssertEqual(info["checksum"] as? String, Checksum(of: data, algorithm: .standard).description)
        XCTAssertEqual(info["size"] as? Int, data.count)
        XCTAssertEqual(Set(info.keys), ["path", "size", "checksum", "modified"])

        let statText = try ftclient(["stat", "dir/a.bin", "--host", "127.0.0.1", "--port", "\(server.port)"])
        XCTAssertEqual(statText.status, 0, statText.stderr)
        XCTAssertTrue(statText.stdout.contains("size:     300001"), statText.stdout)
        XCTAssertTrue(statText.stdout.contains("checksum: \(Checksum(of: data, algorithm: .standard).displayText)\n"), statText.stdout)

        let copy = temp.path + "/copy.bin"
        let got = try ftclient(["get", "dir/a.bin", copy, "--chunk-size", "10000", "--window", "3", "--json"] + proxyArgs)
        XCTAssertEqual(got.status, 0, got.stderr)
        XCTAssertEqual(try temp.read("copy.bin"), data)
        let getSummary = try XCTUnwrap(try json(got.stdout) as? [String: Any])
        XCTAssertEqual(getSummary["verified"] as? Bool, true)
        XCTAssertEqual(getSummary["chunks"] as? Int, 31)
        XCTAssertEqual(getSummary["checksum"] as? String, Checksum(of: data, algorithm: .standard).description)
    }

    func testChecksumOptionAndProperty() throws {
        let data = randomBytes(70_001)
        let local = try temp.file("s.bin", data)
        let sha = Checksum(of: data, algorithm: .sha256)

        let sent = try ftclient(["send", local, "s.bin", "--checksum", "sha256", "--json"] + proxyArgs)
        XCTAssertEqual(sent.status, 0, sent.stderr)
        let summary = try XCTUnwrap(try json(sent.stdout) as? [String: Any])
        XCTAssertEqual(summary["checksum"] as? String, sha.description)
        XCTAssertEqual(server.store.commitChecksums, [sha.description], "committed with SHA-256")

        let text = try ftclient(["send", local, "t.bin", "--FileClient.Checksum=sha256", "--no-progress"] + proxyArgs)
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("stored: t.bin  70001 bytes  \(sha.displayText)  modified "), text.stdout)

        let got = try ftclient(["get", "s.bin", temp.path + "/back.bin", "--checksum", "sha256"] + proxyArgs)
        XCTAssertEqual(got.status, 0, got.stderr)
        XCTAssertTrue(got.stdout.contains("\n  \(sha.displayText) (verified)"), got.stdout)
        XCTAssertEqual(try temp.read("back.bin"), data)

        let bad = try ftclient(["send", local, "u.bin", "--checksum", "crc32"] + proxyArgs)
        XCTAssertEqual(bad.status, 64, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("expected xxh3, xxh64 or sha256"), bad.stderr)
    }

    func testConfigFileAndFlagsPrecedence() throws {
        let config = try temp.file("ftclient.conf", Array("""
            FileClient.Proxy = \(server.proxyString)
            FileClient.Window = 2
            FileClient.ChunkSize = 8KiB
            FileClient.Json = 1
            """.utf8))
        let local = try temp.file("c.bin", randomBytes(50_000))
        let fromConfig = try ftclient(["send", local, "c1", "--config", config])
        XCTAssertEqual(fromConfig.status, 0, fromConfig.stderr)
        let a = try XCTUnwrap(try json(fromConfig.stdout) as? [String: Any])
        XCTAssertEqual(a["window"] as? Int, 2)
        XCTAssertEqual(a["chunkSize"] as? Int, 8192)

        let flagsWin = try ftclient(["send", local, "c2", "--config", config, "--window", "3", "--FileClient.ChunkSize=4KiB"])
        XCTAssertEqual(flagsWin.status, 0, flagsWin.stderr)
        let b = try XCTUnwrap(try json(flagsWin.stdout) as? [String: Any])
        XCTAssertEqual(b["window"] as? Int, 3)
        XCTAssertEqual(b["chunkSize"] as? Int, 4096)
    }

    func testMissingLocalFileExits66() throws {
        let r = try ftclient(["send", temp.path + "/does-not-exist", "x"] + proxyArgs)
        XCTAssertEqual(r.status, 66)
        XCTAssertTrue(r.stderr.hasPrefix("ftclient: local file not found: "), r.stderr)
    }

    func testPathErrorExits65() throws {
        let local = try temp.file("p.bin", randomBytes(10))
        let r = try ftclient(["send", local, "../escape.bin"] + proxyArgs)
        XCTAssertEqual(r.status, 65)
        XCTAssertTrue(r.stderr.hasPrefix("ftclient: refused by server: PathError: "), r.stderr)
        XCTAssertTrue(r.stderr.contains("(path: ../escape.bin)"), r.stderr)

        let missing = try ftclient(["stat", "nope"] + proxyArgs)
        XCTAssertEqual(missing.status, 65)
        XCTAssertTrue(missing.stderr.contains("PathError"), missing.stderr)
    }

    func testChecksumMismatchOnGetExits74() throws {
        server.store.put("bad", randomBytes(1000))
        server.store.fakeChecksum = "xxh64:" + String(repeating: "0", count: 16)
        let r = try ftclient(["get", "bad", temp.path + "/bad"] + proxyArgs)
        XCTAssertEqual(r.status, 74)
        XCTAssertTrue(r.stderr.contains("checksum mismatch"), r.stderr)
        XCTAssertTrue(r.stderr.contains("expected xxh64 0000000000000000, got xxh64 "), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path + "/bad"))
    }

    func testCannotConnectExits69() throws {
        let closed = try ClientTestServer()
        let port = closed.port
        closed.destroy()
        let local = try temp.file("x", randomBytes(10))
        let r = try ftclient(["send", local, "x", "--port", "\(port)", "--retries", "1", "--FileClient.RetryDelay=1"])
        XCTAssertEqual(r.status, 69)
        XCTAssertTrue(r.stderr.contains("cannot reach the server at store"), r.stderr)
        XCTAssertTrue(r.stderr.contains("reconnecting (1/1)"), r.stderr)
    }

    func testUsageErrorsExit64() throws {
        for args in [["send", "f", "--window", "0"], ["send", "f", "--chunk-size", "12XB"], ["send"], ["frobnicate"],
                     ["send", "f", "--compress", "maybe"], ["ls", "--proxy", "store:tcp -h"]] {
            let r = try ftclient(args)
            XCTAssertEqual(r.status, 64, "\(args): \(r.stderr)")
        }
    }

    func testHelpDocumentsExitCodes() throws {
        let r = try ftclient(["--help"])
        XCTAssertEqual(r.status, 0)
        for code in ["64", "65", "66", "69", "70", "74"] {
            XCTAssertTrue(r.stdout.contains("  \(code)  "), "help lacks exit status \(code): \(r.stdout)")
        }
        XCTAssertTrue(r.stdout.contains("FileClient.ChunkSize"))
    }
}
