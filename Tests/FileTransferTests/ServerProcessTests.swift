import Foundation
import Ice
import NIOCore
import XCTest

@testable import FileTransfer

/// The server against a real Ice 3.7 Python client, the `ftserver` executable, and the
/// configuration file.
final class ServerProcessTests: ServerTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    // MARK: Real Ice 3.7 client

    func testRealIcePythonClientUploadsInAWindowAndCatchesPathError() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else {
            throw XCTSkip("/usr/bin/python3 (with the Ice 3.7 module) is not installed")
        }
        let server = try startServer(workers: 2, queueLimit: 4)
        let data = makeData(700_001, seed: 21) + makeText(300_000)
        let local = scratch + "/upload.bin"
        try Data(data).write(to: URL(fileURLWithPath: local))

        let script = Self.repository.appendingPathComponent("Tests/Interop/ft_python_client.py").path
        let result = try runProcess("/usr/bin/python3", [
            script, "--proxy", "store:\(server.endpoints)", "--file", local, "--dest", "py/upload.bin",
            "--chunk", "65536", "--window", "6", "--compress-every", "3", "--bad-path", "../escape.txt",
        ])
        XCTAssertEqual(result.status, 0, "ft_python_client.py failed:\n\(result.stdout)\n\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains("RESULT received 0,\(data.count)"), result.stdout)
        // Committed with "sha256:<hex>": commit answers in SHA-256, stat in XXH3, which
        // Python's xxhash computed the same.
        XCTAssertTrue(lines.contains("RESULT commit path=py/upload.bin size=\(data.count) checksum=\(sha256(data))"), result.stdout)
        XCTAssertTrue(lines.contains("RESULT stat path=py/upload.bin size=\(data.count) checksum=\(standardChecksum(data))"), result.stdout)
        XCTAssertTrue(lines.contains("RESULT statChecksum ok \(standardChecksum(data))"), result.stdout)
        XCTAssertTrue(lines.contains("RESULT readback ok"), result.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("RESULT pathError path=../escape.txt reason=") && $0.contains("..") },
                      result.stdout)
        XCTAssertEqual(lines.last, "DONE")
        XCTAssertEqual(fileContents("py/upload.bin"), data, "the bytes on disk are the file")
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/escape.txt"))
    }

    func testRealIcePythonClientCommitsWithXXH3XXH64AndABareSHA256() throws {
        let server = try startServer()
        let data = makeData(200_003, seed: 22)
        let local = scratch + "/small.bin"
        try Data(data).write(to: URL(fileURLWithPath: local))
        let script = Self.repository.appendingPathComponent("Tests/Interop/ft_python_client.py").path
        let xxh64 = Checksum(of: data, algorithm: .xxh64).description
        for (kind, committed) in [("xxh3", standardChecksum(data)), ("xxh64", xxh64), ("bare", sha256(data))] {
            let result = try runProcess("/usr/bin/python3", [
                script, "--proxy", "store:\(server.endpoints)", "--file", local, "--dest", "py/\(kind).bin",
                "--chunk", "32768", "--window", "4", "--commit-checksum", kind,
            ])
            XCTAssertEqual(result.status, 0, "ft_python_client.py (\(kind)) failed:\n\(result.stdout)\n\(result.stderr)")
            let lines = result.stdout.split(separator: "\n").map(String.init)
            XCTAssertTrue(lines.contains("RESULT commit path=py/\(kind).bin size=\(data.count) checksum=\(committed)"), result.stdout)
            XCTAssertTrue(lines.contains("RESULT stat path=py/\(kind).bin size=\(data.count) checksum=\(standardChecksum(data))"), result.stdout)
            XCTAssertTrue(lines.contains("RESULT statChecksum ok \(standardChecksum(data))"), result.stdout)
            XCTAssertEqual(lines.last, "DONE")
            XCTAssertEqual(fileContents("py/\(kind).bin"), data)
        }
    }

    // MARK: ftserver

    func testFtserverPrintsItsPortServesAndStopsGracefullyOnSIGTERM() throws {
        let executable = try ftserverPath()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [
            "--config", Self.repository.appendingPathComponent("config/ftserver.conf").path,
            "--root", root, "--endpoints", "tcp -h 127.0.0.1 -p 0", "--queue-limit", "4",
            "--Ice.Warn.Connections=1",
        ]
        let stderrPipe = Pipe()
        process.standardError = stderrPipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        addCleanup { if process.isRunning { process.terminate() } }
        let watchdog = DispatchWorkItem { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: watchdog)
        defer { watchdog.cancel() }

        // "ftserver: listening on tcp -h 127.0.0.1 -p PORT -t 60000"
        var log = ""
        var listening: Substring?
        while listening == nil {
            let chunk = stderrPipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            log += String(decoding: chunk, as: UTF8.self)
            listening = log.split(separator: "\n").first { $0.hasPrefix("ftserver: listening on ") }
        }
        let line = try XCTUnwrap(listening, "no listening line; stderr:\n\(log)")
        let endpoint = String(line.dropFirst("ftserver: listening on ".count))
        XCTAssertTrue(endpoint.hasPrefix("tcp -h 127.0.0.1 -p "), endpoint)
        XCTAssertFalse(endpoint.contains("-p 0 "), "the real port is printed: \(endpoint)")

        let store = try XCTUnwrap(makeClient().stringToProxy("store:\(endpoint)", as: StorePrx.self))
        let data = makeData(200_000)
        let upload = try open(store, "cli/file.bin", size: data.count)
        let futures = try chunks(data.count, 30_000).map {
            try upload.sendAsync(offset: Int64($0.lowerBound), bytes: buffer(data[$0]))
        }
        for future in futures { try future.result(timeout: .seconds(30)) }
        _ = try upload.commit(checksum: standardChecksum(data))
        expectError(PathError.self) { try store.stat(path: "/abs") }
        XCTAssertEqual(fileContents("cli/file.bin"), data)

        process.terminate()  // SIGTERM
        log += String(decoding: stderrPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .exit)
        XCTAssertEqual(process.terminationStatus, 0, log)
        for expected in ["connection accepted", "upload started", "upload committed", "request failed", "file server stopped", "ftserver: stopped"] {
            XCTAssertTrue(log.contains(expected), "stderr lacks \"\(expected)\":\n\(log)")
        }
    }

    func testFtserverRejectsBadOptions() throws {
        let executable = try ftserverPath()
        let bad = try runProcess(executable, ["--root", root, "--workers", "0"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--workers"), bad.stderr)
        let badProperty = try runProcess(executable, ["--root", root, "--FileServer.QueueLimit=many", "--endpoints", "tcp -h 127.0.0.1 -p 0"])
        XCTAssertEqual(badProperty.status, 1)
        XCTAssertTrue(badProperty.stderr.contains("FileServer.QueueLimit"), badProperty.stderr)
    }

    // MARK: Configuration

    func testConfigFileDocumentsTheDefaults() throws {
        let properties = Properties()
        try properties.load(path: Self.repository.appendingPathComponent("config/ftserver.conf").path)
        let config = try FileServerConfig(properties: properties)
        let defaults = FileServerConfig()
        XCTAssertEqual(config.endpoints, "tcp -h 127.0.0.1 -p 10000")
        XCTAssertEqual(config.root, defaults.root)
        XCTAssertEqual(config.workers, 4)
        XCTAssertEqual(config.queueLimit, 32)
        XCTAssertEqual(config.maxFileSize, .max)
        XCTAssertEqual(config.maxChunkSize, defaults.maxChunkSize)
        XCTAssertEqual(config.uploadTimeout, 3600)
        XCTAssertEqual(config.cleanupInterval, 60)
        XCTAssertEqual(config.publishedEndpoints, "")
        XCTAssertEqual(properties.getPropertyAsInt("Ice.MessageSizeMax"), 8192)
        XCTAssertEqual(properties.getPropertyAsInt("Ice.ThreadPool.Server.Size"), 4)
    }

    func testConfigFromPropertiesAndCommandLine() throws {
        var arguments = [
            "prog", "--FileServer.Root=/srv/files", "--FileServer.Workers=8", "--FileServer.QueueLimit=3",
            "--FileServer.MaxFileSize=2G", "--FileServer.MaxChunkSize=1M", "--FileServer.UploadTimeout=40",
            "--FileServer.PublishedEndpoints=tcp -h example.com -p 1", "other",
        ]
        let properties = try Properties(arguments: &arguments)
        XCTAssertEqual(arguments, ["prog", "other"])
        let config = try FileServerConfig(properties: properties)
        XCTAssertEqual(config.root, "/srv/files")
        XCTAssertEqual(config.workers, 8)
        XCTAssertEqual(config.queueLimit, 3)
        XCTAssertEqual(config.maxFileSize, 2 << 30)
        XCTAssertEqual(config.maxChunkSize, 1 << 20)
        XCTAssertEqual(config.uploadTimeout, 40)
        XCTAssertEqual(config.cleanupInterval, 10)
        XCTAssertEqual(config.publishedEndpoints, "tcp -h example.com -p 1")

        for bad in ["FileServer.Workers=0", "FileServer.QueueLimit=-1", "FileServer.UploadTimeout=soon",
                    "FileServer.MaxFileSize=lots", "FileServer.MaxChunkSize=4G"] {
            let p = Properties()
            let parts = bad.split(separator: "=", maxSplits: 1)
            p.setProperty(String(parts[0]), String(parts[1]))
            XCTAssertThrowsError(try FileServerConfig(properties: p), bad) { error in
                XCTAssertTrue(error is InitializationException, "\(bad): \(error)")
            }
        }
    }

    func testServerSetsMaxDispatchesFromTheQueueLimit() throws {
        let server = try startServer(queueLimit: 5)
        XCTAssertEqual(server.communicator.properties.getProperty("FileServer.MaxDispatches"), "5")
        XCTAssertEqual(server.jobs.capacity, 5)
        XCTAssertThrowsError(try server.server.start(), "start twice")
    }

    // MARK: Helpers

    /// The `ftserver` built next to this test bundle.
    func ftserverPath() throws -> String {
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var directory = me.deletingLastPathComponent()
        // On Linux the bundle is an executable in the build directory; on macOS it is a directory.
        if directory.lastPathComponent == "MacOS" {
            directory = directory.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        }
        let path = directory.appendingPathComponent("ftserver").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw XCTSkip("ftserver is not built at \(path)")
        }
        return path
    }
}
