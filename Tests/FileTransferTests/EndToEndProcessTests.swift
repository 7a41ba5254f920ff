import Foundation
import Ice
import XCTest

@testable import FileTransfer

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// End to end with the real executables: `ftserver` and `ftclient` (built next to this test
/// bundle) run as processes on 127.0.0.1, and the tests check what ends up on disk (byte for
/// byte and by checksum), the exit statuses and the JSON summaries. Covered: resuming after the
/// client is killed, the client riding out a server killed and restarted on the same port,
/// eight concurrent uploads, and a file larger than 2 GiB (64-bit offsets) sent and fetched back.
///
/// Every process started here is killed (SIGKILL) in `tearDown`. Waiting is on events (process
/// exit, lines on the server's stderr) except for the upload's progress on the server, which
/// has no event and is polled (`received()`) with a deadline.
final class EndToEndProcessTests: XCTestCase {
    private var scratch = ""
    private var children: [E2EChild] = []
    private var communicator: Communicator?

    override func setUpWithError() throws {
        try super.setUpWithError()
        scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("floe-e2e-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        for child in children.reversed() { child.killAndReap() }
        children = []
        communicator?.destroy()
        communicator = nil
        try? FileManager.default.removeItem(atPath: scratch)
        try super.tearDownWithError()
    }

    // MARK: 1. The client is killed, a second run resumes

    func testResumeAfterTheClientIsKilled() throws {
        let root = scratch + "/root"
        let server = try startServer(root: root)
        let size = 64 << 20
        let chunk = 64 << 10
        let local = scratch + "/client-kill.bin"
        try writeRandomFile(local, size: size)
        let remote = "e2e/client-kill.bin"

        // Window 1 with 64 KiB chunks: each chunk waits for the previous reply, so the transfer
        // takes long enough to be interrupted.
        let first = try startClient([
            "send", local, remote, "--proxy", server.proxy, "--chunk-size", "64KiB", "--window", "1",
            "--json", "--no-progress",
        ])
        let seen = try waitForServerProgress(server, root: root, client: first) { received, _ in received >= 4 << 20 }.received
        XCTAssertLessThan(seen, Int64(size), "the transfer must still be running when the client is killed")
        first.kill(SIGKILL)
        let killed = try XCTUnwrap(first.waitForExit(timeout: 10), "SIGKILL did not end ftclient")
        XCTAssertEqual(killed.reason, .uncaughtSignal, "ftclient finished before it could be killed: \(killed)")
        XCTAssertEqual(killed.status, SIGKILL)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/" + remote), "nothing is committed")

        let started = ContinuousClock.now
        let second = try runClient([
            "send", local, remote, "--proxy", server.proxy, "--chunk-size", "64KiB", "--window", "4",
            "--resume", "--checksum", "sha256", "--json", "--no-progress",
        ], timeout: 120)
        let elapsed = ContinuousClock.now - started
        XCTAssertEqual(second.status, 0, second.describe)
        let summary = try decodeSend(second)
        XCTAssertEqual(summary.bytes, Int64(size))
        XCTAssertGreaterThan(summary.resumedBytes, 0, "the second run resumes what the server kept")
        XCTAssertGreaterThanOrEqual(summary.resumedBytes, seen, "the server keeps what it acknowledged")
        XCTAssertLessThan(summary.resumedBytes, Int64(size))
        XCTAssertEqual(summary.reconnects, 0)
        let left = Int64(size) - summary.resumedBytes
        XCTAssertEqual(Int64(summary.chunks), (left + Int64(chunk) - 1) / Int64(chunk), "only the missing chunks are sent")
        // The second run commits with SHA-256 (the resumed bytes were read and hashed, not sent).
        let digest = try checksum(ofFile: local, .sha256)
        XCTAssertEqual(summary.checksum, digest)
        try assertStored(root: root, remote: remote, local: local, checksum: digest)
        try assertStagingEmpty(root: root)
        print("EndToEnd: client killed after \(seen) of \(size) bytes; resume sent \(left) bytes in \(format(elapsed))")
    }

    // MARK: 2. The server is killed and restarted, the running client carries on

    func testClientRidesOutAServerKilledAndRestartedOnTheSamePort() throws {
        let root = scratch + "/root"
        let server = try startServer(root: root)
        let size = 128 << 20
        let local = scratch + "/server-kill.bin"
        try writeRandomFile(local, size: size)
        let remote = "e2e/server-kill.bin"

        // 16 KiB chunks, window 1: several seconds, time for the server to make part of the
        // upload durable (it syncs every second) before it is killed. The default retry budget
        // (5 reconnections from 200 ms: about 6 s) covers a restart; 8 leaves room for a loaded
        // machine (the back-off is capped at 5 s).
        let chunk = 16 << 10
        let client = try startClient([
            "send", local, remote, "--proxy", server.proxy, "--chunk-size", "16KiB", "--window", "1",
            "--retries", "8", "--json", "--no-progress",
        ])
        let (seen, durable) = try waitForServerProgress(server, root: root, client: client) { _, durable in
            durable >= 24 << 20
        }
        XCTAssertLessThan(seen, Int64(size), "the transfer must still be running when the server is killed")
        server.process.kill(SIGKILL)
        let killed = try XCTUnwrap(server.process.waitForExit(timeout: 10), "SIGKILL did not end ftserver")
        XCTAssertEqual(killed.reason, .uncaughtSignal)
        XCTAssertTrue(client.isRunning, "the client is still running when its server dies")

        let restartBegan = ContinuousClock.now
        let restarted = try startServer(root: root, endpoints: "tcp -h 127.0.0.1 -p \(server.port)")
        let restartTook = ContinuousClock.now - restartBegan
        XCTAssertEqual(restarted.port, server.port)

        let outcome = try XCTUnwrap(client.waitForExit(timeout: 180), "ftclient did not finish after the restart")
        let result = client.outcome(outcome)
        XCTAssertEqual(result.status, 0, result.describe)
        let summary = try decodeSend(result)
        XCTAssertGreaterThanOrEqual(summary.reconnects, 1, "the client reconnected by itself")
        XCTAssertEqual(summary.bytes, Int64(size))
        XCTAssertEqual(summary.resumedBytes, 0, "no --resume: nothing was stored before this run")
        XCTAssertTrue(result.stderr.contains("reconnecting"), result.stderr)
        let digest = try checksum(ofFile: local, .standard)
        XCTAssertEqual(summary.checksum, digest)
        try assertStored(root: root, remote: remote, local: local, checksum: digest)
        try assertStagingEmpty(root: root)
        XCTAssertTrue(restarted.log.text.contains("upload resumed"), "the restarted server resumed the upload:\n\(restarted.log.text)")
        // Every chunk once, plus what was sent before the crash and not durable: the client
        // resends only what the restarted server lacks (slack: what it sent between the last
        // poll and the kill).
        let total = (size + chunk - 1) / chunk
        let resent = Int64(summary.chunks - total) * Int64(chunk)
        XCTAssertGreaterThanOrEqual(summary.chunks, total)
        XCTAssertLessThanOrEqual(resent, seen - durable + Int64(8 << 20), "only what the server lost is sent again")
        print("EndToEnd: server killed after \(seen) of \(size) bytes (\(durable) durable); restart took \(format(restartTook)); "
              + "client reconnects \(summary.reconnects), resent \(resent) bytes, \(String(format: "%.2f", summary.seconds)) s")
    }

    // MARK: 3. Eight clients at once

    func testEightConcurrentClients() throws {
        let root = scratch + "/root"
        let server = try startServer(root: root)
        let size = 16 << 20
        var locals: [String] = []
        for i in 0..<8 {
            let local = scratch + "/many-\(i).bin"
            try writeRandomFile(local, size: size)
            locals.append(local)
        }
        let started = ContinuousClock.now
        let clients = try locals.enumerated().map { i, local in
            // Half of them commit with SHA-256.
            try startClient(["send", local, "many/\(i)/file.bin", "--proxy", server.proxy, "--json", "--no-progress",
                             "--checksum", i % 2 == 0 ? "xxh64" : "sha256"])
        }
        var summaries: [SendSummary] = []
        for (i, client) in clients.enumerated() {
            let exit = try XCTUnwrap(client.waitForExit(timeout: 180), "ftclient #\(i) did not finish")
            let result = client.outcome(exit)
            XCTAssertEqual(result.status, 0, "#\(i): \(result.describe)")
            summaries.append(try decodeSend(result))
        }
        let elapsed = ContinuousClock.now - started
        for (i, local) in locals.enumerated() {
            let digest = try checksum(ofFile: local, i % 2 == 0 ? .xxh64 : .sha256)
            XCTAssertEqual(summaries[i].checksum, digest, "#\(i)")
            XCTAssertEqual(summaries[i].bytes, Int64(size), "#\(i)")
            XCTAssertEqual(summaries[i].remote, "many/\(i)/file.bin")
            try assertStored(root: root, remote: "many/\(i)/file.bin", local: local, checksum: digest)
        }
        XCTAssertEqual(Set(summaries.map(\.checksum)).count, 8, "eight different files")
        try assertStagingEmpty(root: root)
        print("EndToEnd: 8 concurrent clients x \(size) bytes in \(format(elapsed))")
    }

    // MARK: 4. Beyond 2 GiB: 64-bit offsets end to end

    func testFileLargerThan2GiBRoundTrip() throws {
        let root = scratch + "/root"
        let server = try startServer(root: root)
        let mib = 1 << 20
        let size = Int64(1 << 31) + Int64(3 * mib)
        let local = scratch + "/big.bin"
        // Sparse, with distinct random MiBs at the start, straddling 2^31 and at the very end.
        let marks: [(offset: Int64, bytes: [UInt8])] = [
            (0, try randomMiB()),
            (Int64(1 << 31) - Int64(mib / 2), try randomMiB()),
            (Int64(1 << 31) + Int64(mib), try randomMiB()),
            (size - Int64(mib), try randomMiB()),
        ]
        try makeSparseFile(local, size: size, marks: marks)

        let sendStarted = ContinuousClock.now
        let sent = try runClient([
            "send", local, "big/big.bin", "--proxy", server.proxy, "--chunk-size", "1MiB", "--window", "8",
            "--json", "--no-progress",
        ], timeout: 600)
        let sendTook = ContinuousClock.now - sendStarted
        XCTAssertEqual(sent.status, 0, sent.describe)
        let summary = try decodeSend(sent)
        XCTAssertEqual(summary.bytes, size)
        XCTAssertEqual(summary.chunks, Int(size / Int64(mib)))

        let storedPath = root + "/big/big.bin"
        let verifyStarted = ContinuousClock.now
        XCTAssertEqual(try fileSize(storedPath), size)
        for mark in marks {
            XCTAssertEqual(try readBytes(storedPath, at: mark.offset, count: mark.bytes.count), mark.bytes,
                           "the MiB at \(mark.offset)")
        }
        let localDigest = try checksum(ofFile: local, .standard)
        XCTAssertEqual(summary.checksum, localDigest)
        try assertStored(root: root, remote: "big/big.bin", local: local, checksum: localDigest)
        let verifyTook = ContinuousClock.now - verifyStarted

        let stat = try runClient(["stat", "big/big.bin", "--proxy", server.proxy, "--json"], timeout: 120)
        XCTAssertEqual(stat.status, 0, stat.describe)
        let info = try JSONDecoder().decode(FileInfoJSON.self, from: Data(stat.stdout.utf8))
        XCTAssertEqual(info.size, size)
        XCTAssertEqual(info.checksum, localDigest)

        // And back: the download reads beyond 2^31 too.
        let back = scratch + "/big-back.bin"
        let getStarted = ContinuousClock.now
        let got = try runClient([
            "get", "big/big.bin", back, "--proxy", server.proxy, "--chunk-size", "1MiB", "--window", "8",
            "--json", "--no-progress",
        ], timeout: 600)
        let getTook = ContinuousClock.now - getStarted
        XCTAssertEqual(got.status, 0, got.describe)
        let getSummary = try JSONDecoder().decode(GetSummary.self, from: Data(got.stdout.utf8))
        XCTAssertEqual(getSummary.bytes, size)
        XCTAssertTrue(getSummary.verified)
        XCTAssertEqual(getSummary.checksum, localDigest)
        XCTAssertEqual(try fileSize(back), size)
        for mark in marks {
            XCTAssertEqual(try readBytes(back, at: mark.offset, count: mark.bytes.count), mark.bytes, "fetched MiB at \(mark.offset)")
        }
        XCTAssertTrue(try filesEqual(back, local), "the fetched file is the original")
        try? FileManager.default.removeItem(atPath: back)
        print("EndToEnd: \(size) bytes: send \(format(sendTook)) (ftclient says \(String(format: "%.2f", summary.seconds)) s), "
              + "verify \(format(verifyTook)), get \(format(getTook))")
    }

    // MARK: Processes

    /// A running `ftserver`: its process, the port it printed and its stderr.
    struct ServerProcess {
        let process: E2EChild
        let port: Int
        var log: E2EOutput { process.pipeOutput! }
        var proxy: String { "store:tcp -h 127.0.0.1 -p \(port)" }
    }

    /// Starts `ftserver` storing into `root` and waits for its `listening on` line.
    private func startServer(root: String, endpoints: String = "tcp -h 127.0.0.1 -p 0") throws -> ServerProcess {
        let child = try E2EChild(
            executable: try executable("ftserver"),
            arguments: ["--root", root, "--endpoints", endpoints],
            captureStderrInPipe: true, scratch: scratch)
        children.append(child)
        let prefix = "ftserver: listening on "
        let log = child.pipeOutput!
        guard let text = log.wait(timeout: 60, until: { text in
            text.split(separator: "\n").contains { $0.hasPrefix(prefix) } }) else {
            XCTFail("ftserver printed no listening line:\n\(log.text)")
            throw CancellationError()
        }
        let line = text.split(separator: "\n").first { $0.hasPrefix(prefix) }!
        // "tcp -h 127.0.0.1 -p PORT -t 60000"
        let words = line.dropFirst(prefix.count).split(separator: " ")
        guard let p = words.firstIndex(of: "-p"), p + 1 < words.count, let port = Int(words[p + 1]), port > 0 else {
            XCTFail("cannot parse the port from \(line)")
            throw CancellationError()
        }
        return ServerProcess(process: child, port: port)
    }

    private func startClient(_ arguments: [String]) throws -> E2EChild {
        let child = try E2EChild(executable: try executable("ftclient"), arguments: arguments,
                                 captureStderrInPipe: false, scratch: scratch)
        children.append(child)
        return child
    }

    /// Runs ftclient to completion (killed and failed after `timeout` seconds).
    private func runClient(_ arguments: [String], timeout: TimeInterval) throws -> E2EOutcome {
        let child = try startClient(arguments)
        guard let exit = child.waitForExit(timeout: timeout) else {
            child.kill(SIGKILL)
            XCTFail("ftclient \(arguments.first ?? "") did not finish within \(timeout) s")
            throw CancellationError()
        }
        return child.outcome(exit)
    }

    /// The executable built next to this test bundle.
    private func executable(_ name: String) throws -> String {
        var candidates: [URL] = [
            URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent(),
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
        ]
        let bundle = Bundle(for: EndToEndProcessTests.self).bundleURL
        candidates.append(bundle.deletingLastPathComponent())
        for dir in candidates {
            let path = dir.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw XCTSkip("\(name) is not built next to the test bundle (\(candidates.map(\.path))); build with --build-tests")
    }

    // MARK: Server-side progress

    /// Polls the server's progress on the only upload in its staging area until `done` holds:
    /// `received` is what `received()` reports, `durable` what its metadata file lists (the bytes
    /// that survive a crash). Fails if the client exits first or `done` does not hold within 60 s.
    private func waitForServerProgress(
        _ server: ServerProcess, root: String, client: E2EChild, until done: (_ received: Int64, _ durable: Int64) -> Bool
    ) throws -> (received: Int64, durable: Int64) {
        if communicator == nil { communicator = try Communicator(["--Ice.MessageSizeMax=8192"]) }
        let staging = root + "/.floe-staging"
        let deadline = ContinuousClock.now + .seconds(60)
        var upload: UploadPrx?
        var id = ""
        var received: Int64 = 0
        var durable: Int64 = 0
        while ContinuousClock.now < deadline {
            guard client.isRunning else {
                XCTFail("ftclient exited before the server showed the progress awaited (\(received) received, \(durable) durable): "
                        + client.outcome(client.waitForExit(timeout: 10)!).describe)
                throw CancellationError()
            }
            if upload == nil, let names = try? FileManager.default.contentsOfDirectory(atPath: staging),
               let part = names.first(where: { $0.hasSuffix(".part") }) {
                id = String(part.dropLast(".part".count))
                upload = try communicator!.stringToProxy(
                    "upload/\(id):tcp -h 127.0.0.1 -p \(server.port)", as: UploadPrx.self)?.ice_invocationTimeout(5000)
            }
            if let upload, let flat = try? upload.received(), let ranges = RangeSet(flattened: flat) {
                durable = UploadMetadata.read(from: staging + "/\(id).meta")
                    .flatMap { RangeSet(flattened: $0.ranges) }?.coveredBytes ?? 0
                received = ranges.coveredBytes
                if done(received, durable) { return (received, durable) }
            }
            pollPause()
        }
        XCTFail("the server showed only \(received) bytes received, \(durable) durable, within 60 s")
        throw CancellationError()
    }

    /// The pause between two polls of a state that has no event (5 ms).
    private func pollPause() {
        var pause = timespec(tv_sec: 0, tv_nsec: 5_000_000)
        nanosleep(&pause, nil)
    }

    // MARK: Files

    private func decodeSend(_ outcome: E2EOutcome, file: StaticString = #filePath, line: UInt = #line) throws -> SendSummary {
        do {
            return try JSONDecoder().decode(SendSummary.self, from: Data(outcome.stdout.utf8))
        } catch {
            XCTFail("ftclient's stdout is not a send summary (\(error)): \(outcome.describe)", file: file, line: line)
            throw error
        }
    }

    /// The stored file has the local file's size and bytes, and `checksum` (`"algorithm:hex"`).
    private func assertStored(root: String, remote: String, local: String, checksum expected: String,
                              file: StaticString = #filePath, line: UInt = #line) throws {
        let stored = root + "/" + remote
        XCTAssertEqual(try fileSize(stored), try fileSize(local), "size of \(remote)", file: file, line: line)
        XCTAssertTrue(try filesEqual(stored, local), "\(remote) is byte-identical to \(local)", file: file, line: line)
        let algorithm = try XCTUnwrap(Checksum(parsing: expected), expected, file: file, line: line).algorithm
        XCTAssertEqual(try checksum(ofFile: stored, algorithm), expected, "checksum of \(remote)", file: file, line: line)
    }

    private func assertStagingEmpty(root: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let left = try FileManager.default.contentsOfDirectory(atPath: root + "/.floe-staging")
        XCTAssertEqual(left, [], "nothing is left in the staging area", file: file, line: line)
    }

    /// Writes `size` bytes from /dev/urandom to `path`.
    private func writeRandomFile(_ path: String, size: Int) throws {
        let source = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/urandom"))
        defer { try? source.close() }
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: nil))
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? out.close() }
        var left = size
        while left > 0 {
            let data = try XCTUnwrap(try source.read(upToCount: min(left, 1 << 20)))
            try out.write(contentsOf: data)
            left -= data.count
        }
    }

    private func randomMiB() throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 1 << 20)
        var generator = SystemRandomNumberGenerator()
        bytes.withUnsafeMutableBytes { raw in
            let words = raw.bindMemory(to: UInt64.self)
            for i in words.indices { words[i] = generator.next() }
        }
        return bytes
    }

    /// A file of `size` bytes (ftruncate: holes) with `marks` written at their offsets.
    private func makeSparseFile(_ path: String, size: Int64, marks: [(offset: Int64, bytes: [UInt8])]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw posixError("open \(path)") }
        defer { close(fd) }
        guard ftruncate(fd, off_t(size)) == 0 else { throw posixError("ftruncate") }
        for mark in marks {
            let n = mark.bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(mark.offset)) }
            guard n == mark.bytes.count else { throw posixError("pwrite at \(mark.offset)") }
        }
    }

    private func fileSize(_ path: String) throws -> Int64 {
        var st = stat()
        guard stat(path, &st) == 0 else { throw posixError("stat \(path)") }
        return Int64(st.st_size)
    }

    private func readBytes(_ path: String, at offset: Int64, count: Int) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw posixError("open \(path)") }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: count)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
        guard n >= 0 else { throw posixError("pread \(path)") }
        return Array(bytes.prefix(n))
    }

    /// Compares two files 4 MiB at a time.
    private func filesEqual(_ a: String, _ b: String) throws -> Bool {
        let fa = open(a, O_RDONLY | O_CLOEXEC)
        guard fa >= 0 else { throw posixError("open \(a)") }
        defer { close(fa) }
        let fb = open(b, O_RDONLY | O_CLOEXEC)
        guard fb >= 0 else { throw posixError("open \(b)") }
        defer { close(fb) }
        let size = 4 << 20
        let ba = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        let bb = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        defer { ba.deallocate(); bb.deallocate() }
        var offset: Int64 = 0
        while true {
            let na = try StorageIO.preadFully(fa, into: ba, at: offset, path: a)
            let nb = try StorageIO.preadFully(fb, into: bb, at: offset, path: b)
            if na != nb { return false }
            if na == 0 { return true }
            if memcmp(ba.baseAddress!, bb.baseAddress!, na) != 0 { return false }
            offset += Int64(na)
            if na < size { return true }
        }
    }

    /// The checksum of a file with `algorithm`, streamed, as `"algorithm:hex"`.
    private func checksum(ofFile path: String, _ algorithm: ChecksumAlgorithm) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw posixError("open \(path)") }
        defer { close(fd) }
        return try FileChecksum.checksum(algorithm, fd: fd, path: path).description
    }

    private func posixError(_ what: String) -> NSError {
        let e = errno
        return NSError(domain: NSPOSIXErrorDomain, code: Int(e), userInfo: [NSLocalizedDescriptionKey: "\(what): \(String(cString: strerror(e)))"])
    }

    private func format(_ d: Duration) -> String { String(format: "%.2f s", d.seconds) }
}

// MARK: - Child processes

private func sendSignal(_ pid: Int32, _ signal: Int32) {
    _ = kill(pid, signal)
}

/// How a child process ended.
struct E2EExit: CustomStringConvertible {
    var reason: Process.TerminationReason
    var status: Int32
    var description: String { reason == .exit ? "exit \(status)" : "signal \(status)" }
}

/// A finished ftclient run: its exit and outputs.
struct E2EOutcome {
    var exit: E2EExit
    var stdout: String
    var stderr: String
    var status: Int32 { exit.reason == .exit ? exit.status : -1 }
    var describe: String { "\(exit)\nstdout: \(stdout)\nstderr: \(stderr)" }
}

/// A child process. Its stdout and stderr go to files in the scratch directory (complete once
/// it exited, whoever else inherited the descriptors), or its stderr to a pipe drained by a
/// thread (`pipeOutput`, to wait for lines as they come).
final class E2EChild: @unchecked Sendable {
    let process = Process()
    let pipeOutput: E2EOutput?
    private let stdoutPath: String
    private let stderrPath: String
    private let exited = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var exit: E2EExit?

    init(executable: String, arguments: [String], captureStderrInPipe: Bool, scratch: String) throws {
        let id = UUID().uuidString
        stdoutPath = scratch + "/out-\(id)"
        stderrPath = scratch + "/err-\(id)"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        defer { try? out.close() }
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        var pipe: Pipe?
        let err: FileHandle?
        if captureStderrInPipe {
            pipe = Pipe()
            process.standardError = pipe
            err = nil
        } else {
            err = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
            process.standardError = err
        }
        defer { try? err?.close() }
        pipeOutput = pipe.map { E2EOutput($0.fileHandleForReading) }
        process.terminationHandler = { [weak self] p in
            guard let self else { return }
            self.lock.withLock { self.exit = E2EExit(reason: p.terminationReason, status: p.terminationStatus) }
            self.exited.signal()
        }
        try process.run()
        try? pipe?.fileHandleForWriting.close()
    }

    var isRunning: Bool { lock.withLock { exit == nil } }

    func kill(_ signal: Int32) {
        if isRunning { sendSignal(process.processIdentifier, signal) }
    }

    /// Waits for the process to end; nil after `timeout` seconds.
    func waitForExit(timeout: TimeInterval) -> E2EExit? {
        if let exit = lock.withLock({ exit }) { return exit }
        guard exited.wait(timeout: .now() + timeout) == .success else { return nil }
        exited.signal()  // later waits return at once
        return lock.withLock { exit }
    }

    func outcome(_ exit: E2EExit) -> E2EOutcome {
        func read(_ path: String) -> String {
            (try? Data(contentsOf: URL(fileURLWithPath: path))).map { String(decoding: $0, as: UTF8.self) } ?? ""
        }
        return E2EOutcome(exit: exit, stdout: read(stdoutPath), stderr: pipeOutput?.text ?? read(stderrPath))
    }

    /// SIGKILL if still running, then wait for it (tearDown).
    func killAndReap() {
        kill(SIGKILL)
        _ = waitForExit(timeout: 30)
    }
}

/// Text read from a pipe by a thread until end of file; `wait(until:)` wakes on each read.
final class E2EOutput: @unchecked Sendable {
    private let condition = NSCondition()
    private var data = Data()
    private var ended = false

    init(_ handle: FileHandle) {
        let thread = Thread { [self] in
            while true {
                let chunk = handle.availableData
                condition.lock()
                if chunk.isEmpty { ended = true } else { data.append(chunk) }
                condition.broadcast()
                condition.unlock()
                if chunk.isEmpty { break }
            }
        }
        thread.start()
    }

    var text: String {
        condition.lock()
        defer { condition.unlock() }
        return String(decoding: data, as: UTF8.self)
    }

    /// Waits until `predicate` holds for the text so far (returns it), or nil at end of file or
    /// after `timeout` seconds.
    func wait(timeout: TimeInterval, until predicate: (String) -> Bool) -> String? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while true {
            let text = String(decoding: data, as: UTF8.self)
            if predicate(text) { return text }
            if ended { return nil }
            if !condition.wait(until: deadline) { return predicate(text) ? text : nil }
        }
    }
}
