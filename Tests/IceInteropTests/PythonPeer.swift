import Foundation
import XCTest

/// Paths of the repository, found from this source file.
enum Repo {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let interop = root.appendingPathComponent("Tests/Interop")
    static let vectors = root.appendingPathComponent("../shared/ice-protocol/vectors").standardized
}

/// A real Ice 3.7 Python process (server or client) started for a test. A server ends when its
/// stdin closes, so a crashed test never leaves it running.
final class PythonPeer: @unchecked Sendable {
    let process = Process()
    private let stdinPipe = Pipe()
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()

    init(script: URL, arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [script.path] + arguments
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        try process.run()
    }

    /// Reads stdout lines until one starts with `prefix` (within `timeout`); returns it.
    func waitForLine(prefix: String, timeout: TimeInterval = 30) throws -> String {
        let handle = stdoutPipe.fileHandleForReading
        var pending = Data()
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            pending.append(chunk)
            let text = String(decoding: pending, as: UTF8.self)
            for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
                return String(line)
            }
        }
        throw NSError(domain: "PythonPeer", code: 1, userInfo: [NSLocalizedDescriptionKey: "no '\(prefix)' line from \(process.arguments ?? []); stderr: \(stderrText())"])
    }

    /// Waits for the process to exit and returns (status, stdout, stderr).
    func finish() -> (Int32, String, String) {
        let out = String(decoding: stdoutPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let err = stderrText()
        process.waitUntilExit()
        return (process.terminationStatus, out, err)
    }

    func stderrText() -> String {
        String(decoding: stderrPipe.fileHandleForReading.availableDataNonBlocking(), as: UTF8.self)
    }

    func stop() {
        try? stdinPipe.fileHandleForWriting.close()
        if process.isRunning {
            process.terminate()
        }
        process.waitUntilExit()
    }
}

extension FileHandle {
    /// What can be read now without blocking (nothing if the writer is still open and silent).
    func availableDataNonBlocking() -> Data {
        let fd = fileDescriptor
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(fd, F_SETFL, flags) }
        var data = Data()
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = Glibc.read(fd, &buf, buf.count)
            if n <= 0 { break }
            data.append(contentsOf: buf[0..<n])
        }
        return data
    }
}

/// A running `interop_server.py`: the real Ice 3.7 implementation of Test.ice.
final class PythonTestServer {
    let peer: PythonPeer
    let testPort: Int
    let controlPort: Int

    init(extraArguments: [String] = []) throws {
        peer = try PythonPeer(script: Repo.interop.appendingPathComponent("interop_server.py"), arguments: extraArguments)
        let ready = try peer.waitForLine(prefix: "READY")
        let parts = ready.split(separator: " ")
        guard parts.count == 3, let t = Int(parts[1]), let c = Int(parts[2]) else {
            throw NSError(domain: "PythonTestServer", code: 2, userInfo: [NSLocalizedDescriptionKey: "bad READY line '\(ready)'"])
        }
        testPort = t
        controlPort = c
    }

    var echoProxy: String { "echo:tcp -h 127.0.0.1 -p \(testPort) -t 10000" }
    var controllerProxy: String { "controller:tcp -h 127.0.0.1 -p \(controlPort) -t 10000" }

    func stop() { peer.stop() }
}
