import Foundation
import Ice
import NIOCore
import XCTest

@testable import FileTransfer

/// `ftclient tune` (`Tuner`) against the real in-process server and the fake store behind a
/// simulated link, its recommendation rule, `--save`, and the executable.
final class ClientTuneTests: XCTestCase {
    var temp: TempDir!

    override func setUpWithError() throws {
        temp = try TempDir()
    }

    override func tearDown() {
        temp = nil
    }

    private func quickOptions(seconds: Int, chunks: [Int], windows: [Int]) -> TuneOptions {
        var o = TuneOptions()
        o.duration = .seconds(seconds)
        o.chunkSizes = chunks
        o.windows = windows
        o.pings = 5
        o.invocationTimeout = .seconds(30)
        return o
    }

    /// Names in the server's root other than the staging area, and the staging area's files.
    private func leftovers(root: String) throws -> (root: [String], staging: [String]) {
        let names = try FileManager.default.contentsOfDirectory(atPath: root)
        let staging = (try? FileManager.default.contentsOfDirectory(atPath: root + "/" + PathValidator.stagingDirectoryName)) ?? []
        return (names.filter { $0 != PathValidator.stagingDirectoryName }.sorted(), staging.sorted())
    }

    // MARK: Against the real server

    func testTuneMeasuresRecommendsAndAbortsItsScratchUpload() throws {
        let server = try RealTestServer()
        defer { server.destroy() }
        let tuner = Tuner(store: try server.storePrx, options: quickOptions(seconds: 2, chunks: [16 << 10, 64 << 10], windows: [1, 2, 4, 8]))
        let measured = NSLock()
        nonisolated(unsafe) var reported: [TuneRow] = []
        tuner.onRow = { row in measured.withLock { reported.append(row) } }
        let start = ContinuousClock.now
        let result = try runWithDeadline { try tuner.run() }
        let elapsed = ContinuousClock.now - start

        XCTAssertFalse(result.rows.isEmpty)
        XCTAssertEqual(measured.withLock { reported.count }, result.rows.count)
        XCTAssertEqual(result.rows.first?.chunkSize, 16 << 10)
        XCTAssertEqual(result.rows.first?.window, 1)
        XCTAssertTrue(result.rows.allSatisfy { $0.bytesPerSecond > 0 }, "\(result.rows)")
        XCTAssertEqual(result.pings, 5)
        XCTAssertGreaterThan(result.roundTrip, .zero)
        XCTAssertLessThan(elapsed, .seconds(6), "bounded by --seconds (plus draining and the abort)")
        // The recommendation is a measured row within 3 % of the best.
        XCTAssertEqual(result.recommended.chunkSize, result.recommendedChunkSize)
        XCTAssertEqual(result.recommended.window, result.recommendedWindow)
        XCTAssertGreaterThanOrEqual(result.recommended.bytesPerSecond, 0.97 * result.best.bytesPerSecond)
        XCTAssertTrue(result.recommended.note.hasPrefix("recommended"), result.recommended.note)
        XCTAssertTrue(result.best.note.contains("best"), result.best.note)
        // A window is doubled only while it paid off.
        for chunk in Set(result.rows.map(\.chunkSize)) {
            let rows = result.rows.filter { $0.chunkSize == chunk }
            for (a, b) in zip(rows, rows.dropFirst()) {
                XCTAssertGreaterThan(b.window, a.window)
                XCTAssertGreaterThan(a.bytesPerSecond, 0)
                if a.note.contains("stop") { XCTFail("a row after a stop: \(rows)") }
            }
        }

        // Scratch upload: a dot name, aborted, nothing left behind.
        XCTAssertTrue(result.scratchPath.hasPrefix(".tune-") && result.scratchPath.hasSuffix(".tmp"), result.scratchPath)
        XCTAssertTrue(result.aborted)
        XCTAssertNil(result.abortError)
        XCTAssertEqual(result.declaredSize, 256 << 20)
        let left = try leftovers(root: server.root.path + "/root")
        XCTAssertEqual(left.root, [], "nothing committed")
        XCTAssertEqual(left.staging, [], "the staging files were removed")
        XCTAssertEqual(server.server.store.openUploads().count, 0)

        let text = ClientOutput.tuneReport(result, savedTo: nil)
        XCTAssertTrue(text.contains("CHUNK  WINDOW"), text)
        XCTAssertTrue(text.contains("recommended: --chunk-size \(ClientConfigFile.sizeText(result.recommendedChunkSize)) --window \(result.recommendedWindow)"), text)
        XCTAssertTrue(text.contains("aborted)"), text)
        XCTAssertEqual(text.split(separator: "\n").count, result.rows.count + 3)
    }

    /// A server whose maximum file size is below the first declared size: the scratch upload is
    /// declared smaller (halving) and its offsets wrap within it.
    func testScratchUploadShrinksToWhatTheServerAccepts() throws {
        let root = temp.path + "/small"
        let communicator = try Communicator(["--Ice.MessageSizeMax=65536"])
        let server = try FileServer(
            communicator: communicator,
            config: FileServerConfig(root: root, endpoints: "tcp -h 127.0.0.1 -p 0", maxFileSize: 3 << 20))
        try server.start()
        let client = try Communicator(["--Ice.MessageSizeMax=65536"])
        defer {
            client.destroy()
            server.stop()
            communicator.destroy()
        }
        let store = try XCTUnwrap(try client.stringToProxy("store:tcp -h 127.0.0.1 -p \(server.endpoints[0].port)", as: StorePrx.self))
        var o = quickOptions(seconds: 1, chunks: [256 << 10], windows: [4, 8])
        o.minimumScratchSize = 1 << 20
        let tuner = Tuner(store: store, options: o)
        let result = try runWithDeadline { try tuner.run() }
        XCTAssertEqual(result.declaredSize, 2 << 20, "256 MiB halved until at most 3 MiB")
        let sent = result.rows.reduce(0) { $0 + $1.replies } * (256 << 10)
        XCTAssertGreaterThan(sent, 2 << 20, "more bytes than the declared size: the offsets wrapped")
        XCTAssertTrue(result.aborted)
        let left = try leftovers(root: root)
        XCTAssertEqual(left.root, [])
        XCTAssertEqual(left.staging, [])

        // Below the smallest declared size the server's refusal is reported.
        o.minimumScratchSize = 4 << 20
        let refused = Tuner(store: store, options: o)
        XCTAssertThrowsError(try runWithDeadline { try refused.run() }) {
            XCTAssertTrue($0 is StorageError, "\($0)")
        }
    }

    // MARK: Against a simulated link

    /// A bottleneck of 5 MB/s and 10 ms per reply (scaled down so that the in-test server is
    /// never what limits): throughput rises with the window until the link is full (about 4
    /// chunks of 16 KiB), then stops rising, so the sweep stops doubling; the recommendation is
    /// the smallest window that fills the link.
    func testSweepStopsGrowingTheWindowOnceThroughputStopsRising() throws {
        let server = try ClientTestServer()
        defer { server.destroy() }
        let rate = 5e6
        server.store.gate = SimulatedLinkGate(rate: rate, delay: 0.01)
        var o = quickOptions(seconds: 3, chunks: [16 << 10], windows: [1, 2, 4, 8, 16, 32])
        o.scratchSize = 4 << 20
        let tuner = Tuner(store: try server.storePrx, options: o)
        let result = try runWithDeadline { try tuner.run() }
        let windows = result.rows.map(\.window)
        XCTAssertEqual(Array(windows.prefix(3)), [1, 2, 4], "\(result.rows)")
        XCTAssertLessThan(windows.count, 6, "the sweep stopped before window 32: \(result.rows)")
        XCTAssertTrue(result.rows.last!.note.contains("stop"), "\(result.rows)")
        XCTAssertGreaterThan(result.rows[1].bytesPerSecond, 1.5 * result.rows[0].bytesPerSecond, "window 2 doubles window 1")
        XCTAssertGreaterThan(result.best.bytesPerSecond, 0.8 * rate)
        XCTAssertLessThanOrEqual(result.best.bytesPerSecond, 1.1 * rate)
        XCTAssertTrue((4...8).contains(result.recommendedWindow), "\(result.rows)")
        XCTAssertEqual(result.recommendedChunkSize, 16 << 10)
        XCTAssertEqual(server.store.opens.count, 1)
        XCTAssertTrue(server.store.opens[0].path.hasPrefix(".tune-"))
        XCTAssertNil(server.store.file(server.store.opens[0].path), "never committed")
    }

    // MARK: Recommendation

    func testRecommendationIsTheSmallestWindowThenChunkWithinThreePercent() {
        func row(_ chunk: Int, _ window: Int, _ mbps: Double) -> TuneRow {
            TuneRow(chunkSize: chunk, window: window, bytesPerSecond: mbps * 1e6, replies: 10)
        }
        let rows = [
            row(65536, 1, 10), row(65536, 2, 20), row(65536, 4, 38), row(65536, 8, 39.5),
            row(262_144, 1, 20), row(262_144, 2, 39), row(262_144, 4, 40),
            row(1 << 20, 1, 30), row(1 << 20, 2, 39.9), row(1 << 20, 4, 40.1),
        ]
        let pick = Tuner.recommend(rows, tolerance: 0.03)
        XCTAssertEqual(pick.best, 9)
        // Within 3 % of 40.1 (>= 38.897): windows 2 (256 KiB, 1 MiB), 4, 8; the smallest window
        // is 2, and its smallest chunk 256 KiB.
        XCTAssertEqual(rows[pick.recommended].window, 2)
        XCTAssertEqual(rows[pick.recommended].chunkSize, 262_144)
        XCTAssertEqual(Tuner.recommend([row(1024, 4, 1)], tolerance: 0.03).recommended, 0)
    }

    // MARK: --save

    func testSavingReplacesTheTwoPropertiesAndKeepsEverythingElse() throws {
        let original = """
            # my settings
            FileClient.Proxy = store:tcp -h 10.1.2.3 -p 4000

            # Bytes per request.
              FileClient.ChunkSize = 1MiB
            #FileClient.Window = 99
            FileClient.Compress = auto   
            Ice.Trace.Network=1

            """
        let updated = ClientConfigFile.updating(
            original, with: [("FileClient.ChunkSize", "256KiB"), ("FileClient.Window", "8")])
        XCTAssertEqual(updated, """
            # my settings
            FileClient.Proxy = store:tcp -h 10.1.2.3 -p 4000

            # Bytes per request.
              FileClient.ChunkSize = 256KiB
            #FileClient.Window = 99
            FileClient.Compress = auto   
            Ice.Trace.Network=1

            # Set by `ftclient tune --save`.
            FileClient.Window = 8

            """)
        // Saving again changes the values in place, appends nothing.
        let again = ClientConfigFile.updating(updated, with: [("FileClient.ChunkSize", "64KiB"), ("FileClient.Window", "16")])
        XCTAssertEqual(again.components(separatedBy: "\n").count, updated.components(separatedBy: "\n").count)
        XCTAssertTrue(again.contains("  FileClient.ChunkSize = 64KiB\n"))
        XCTAssertTrue(again.contains("\nFileClient.Window = 16\n"))
        XCTAssertTrue(again.contains("#FileClient.Window = 99\n"), "comments are left alone")

        // Every active duplicate is updated (the last one is the one Ice uses).
        XCTAssertEqual(
            ClientConfigFile.updating("FileClient.Window=2\nFileClient.Window = 3", with: [("FileClient.Window", "auto")]),
            "FileClient.Window = auto\nFileClient.Window = auto\n")

        // A new file (and its directory) is created.
        let path = temp.path + "/new/dir/ftclient.conf"
        try ClientConfigFile.save([("FileClient.ChunkSize", "1MiB"), ("FileClient.Window", "4")], to: path)
        let written = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertEqual(written, "# Set by `ftclient tune --save`.\nFileClient.ChunkSize = 1MiB\nFileClient.Window = 4\n")
        var args = ["ftclient", "--Ice.Config=\(path)"]
        let settings = try ClientSettings.resolve(try Properties(arguments: &args), flags: .init())
        XCTAssertEqual(settings.chunkSize, 1 << 20)
        XCTAssertEqual(settings.window, 4)

        // Through a symbolic link, keeping the file's permissions.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        let link = temp.path + "/link.conf"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        try ClientConfigFile.save([("FileClient.Window", "auto")], to: link)
        XCTAssertTrue(try String(contentsOfFile: path, encoding: .utf8).contains("\nFileClient.Window = auto\n"))
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), path)
        XCTAssertEqual((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue, 0o600)

        XCTAssertEqual(ClientConfigFile.sizeText(65536), "64KiB")
        XCTAssertEqual(ClientConfigFile.sizeText(1 << 20), "1MiB")
        XCTAssertEqual(ClientConfigFile.sizeText(1000), "1000")
    }

    func testDefaultConfigPath() throws {
        let project = temp.path + "/project"
        let home = temp.path + "/home"
        try FileManager.default.createDirectory(atPath: project + "/config", withIntermediateDirectories: true)
        XCTAssertEqual(ClientConfigFile.defaultPath(currentDirectory: project, home: home), home + "/.config/floe/ftclient.conf")
        XCTAssertTrue(FileManager.default.createFile(atPath: project + "/config/ftclient.conf", contents: Data()))
        XCTAssertEqual(ClientConfigFile.defaultPath(currentDirectory: project, home: home), project + "/config/ftclient.conf")
    }

    // MARK: The executable

    func testTuneExecutable() throws {
        let server = try RealTestServer()
        defer { server.destroy() }
        let proxy = ["--proxy", server.proxyString]
        let r = try runFTClient(["tune", "--json", "--seconds", "3"] + proxy, scratch: temp.path)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "")
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        for key in ["chunkSize", "window", "mbps", "best", "rttMs", "pings", "rows", "scratch", "declaredSize", "aborted", "seconds"] {
            XCTAssertNotNil(object[key], "missing \(key): \(r.stdout)")
        }
        XCTAssertNil(object["saved"])
        XCTAssertEqual(object["aborted"] as? Bool, true)
        XCTAssertEqual(object["pings"] as? Int, 20)
        let rows = try XCTUnwrap(object["rows"] as? [[String: Any]])
        XCTAssertFalse(rows.isEmpty)
        XCTAssertEqual(Set(rows.compactMap { $0["chunkSize"] as? Int }).isSubset(of: [65536, 262_144, 1 << 20]), true)
        XCTAssertTrue(rows.contains { ($0["note"] as? String)?.hasPrefix("recommended") == true })
        XCTAssertTrue([65536, 262_144, 1 << 20].contains(object["chunkSize"] as? Int ?? 0))
        XCTAssertTrue([1, 2, 4, 8, 16, 32].contains(object["window"] as? Int ?? 0))
        XCTAssertLessThan(try XCTUnwrap(object["seconds"] as? Double), 6)
        var left = try leftovers(root: server.root.path + "/root")
        XCTAssertEqual(left.root, [])
        XCTAssertEqual(left.staging, [])

        // Text output, and --save into an explicit config file.
        let config = try temp.file("ftclient.conf", Array("# mine\nFileClient.Proxy = \(server.proxyString)\nFileClient.Window = 2\n".utf8))
        let saved = try runFTClient(["tune", "--seconds", "2", "--save", "--config", config], scratch: temp.path)
        XCTAssertEqual(saved.status, 0, saved.stderr)
        XCTAssertTrue(saved.stdout.contains("CHUNK  WINDOW") && saved.stdout.contains("MB/s  NOTE"), saved.stdout)
        XCTAssertTrue(saved.stdout.contains("saved to \(config): FileClient.ChunkSize = "), saved.stdout)
        let text = try String(contentsOfFile: config, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines[0], "# mine")
        XCTAssertEqual(lines[1], "FileClient.Proxy = \(server.proxyString)")
        XCTAssertTrue(lines[2].hasPrefix("FileClient.Window = "), text)
        XCTAssertTrue(lines.contains { $0.hasPrefix("FileClient.ChunkSize = ") }, text)
        left = try leftovers(root: server.root.path + "/root")
        XCTAssertEqual(left.root, [])
        XCTAssertEqual(left.staging, [])

        let bad = try runFTClient(["tune", "--seconds", "0.5"] + proxy, scratch: temp.path)
        XCTAssertEqual(bad.status, 64, bad.stderr)
    }
}
