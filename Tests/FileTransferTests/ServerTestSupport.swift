import Foundation
import Ice
import NIOCore
import XCTest

@testable import FileTransfer

/// Base of the server tests: a scratch directory, in-process `FileServer`s on loopback with
/// ephemeral ports, client communicators, and helpers for data and typed errors. Everything
/// started here is stopped in `tearDown`.
class ServerTestCase: XCTestCase {
    private(set) var scratch = ""
    var root: String { scratch + "/root" }
    private var cleanups: [() -> Void] = []

    override func setUpWithError() throws {
        try super.setUpWithError()
        scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("floe-server-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        for cleanup in cleanups.reversed() { cleanup() }
        cleanups = []
        try? FileManager.default.removeItem(atPath: scratch)
        try super.tearDownWithError()
    }

    func addCleanup(_ body: @escaping () -> Void) { cleanups.append(body) }

    /// A server and its communicator.
    final class RunningServer: @unchecked Sendable {
        let communicator: Communicator
        let server: FileServer

        init(communicator: Communicator, server: FileServer) {
            self.communicator = communicator
            self.server = server
        }

        var endpoints: String { server.endpointsDescription }
        var jobs: UploadJobQueue { server.jobs }

        /// Graceful stop, then destroy the communicator (idempotent).
        func shutDown() {
            server.stop()
            communicator.destroy()
        }
    }

    /// Starts a `FileServer` on `tcp -h 127.0.0.1 -p 0` storing into `root`.
    func startServer(
        root: String? = nil,
        workers: Int = 2,
        queueLimit: Int = 8,
        maxFileSize: Int64 = .max,
        maxChunkSize: Int32 = 16 << 20,
        uploadTimeout: Int = 3600,
        publishedEndpoints: String = "",
        properties: [String] = [],
        beforeWrite: (@Sendable (String, Int64) -> Void)? = nil
    ) throws -> RunningServer {
        let communicator = try Communicator(["--Ice.MessageSizeMax=8192"] + properties)
        let config = FileServerConfig(
            root: root ?? self.root, endpoints: "tcp -h 127.0.0.1 -p 0", publishedEndpoints: publishedEndpoints,
            workers: workers, queueLimit: queueLimit, maxFileSize: maxFileSize, maxChunkSize: maxChunkSize,
            uploadTimeout: uploadTimeout, beforeWrite: beforeWrite)
        let server: FileServer
        do {
            server = try FileServer(communicator: communicator, config: config)
            try server.start()
        } catch {
            communicator.destroy()
            throw error
        }
        let running = RunningServer(communicator: communicator, server: server)
        addCleanup { running.shutDown() }
        return running
    }

    /// A client communicator (destroyed in tearDown, before the servers stop).
    func makeClient(_ properties: [String] = []) throws -> Communicator {
        let communicator = try Communicator(["--Ice.MessageSizeMax=8192"] + properties)
        addCleanup { communicator.destroy() }
        return communicator
    }

    func storeProxy(_ client: Communicator, _ server: RunningServer) throws -> StorePrx {
        try XCTUnwrap(client.stringToProxy("store:\(server.endpoints)", as: StorePrx.self))
    }

    /// `store` on a new client of `server`.
    func connect(_ server: RunningServer, clientProperties: [String] = []) throws -> StorePrx {
        try storeProxy(makeClient(clientProperties), server)
    }

    func open(_ store: StorePrx, _ path: String, size: Int, overwrite: Bool = false, resume: Bool = false) throws -> UploadPrx {
        try XCTUnwrap(store.open(path: path, size: Int64(size), overwrite: overwrite, resume: resume))
    }

    // MARK: Data

    /// Compressible bytes (text-like).
    func makeText(_ count: Int) -> [UInt8] {
        let words = Array("the quick brown fox jumps over the lazy dog, again and again; ".utf8)
        return (0..<count).map { words[$0 % words.count] &+ UInt8(($0 / 997) % 3) }
    }


    func buffer(_ bytes: some Sequence<UInt8>) -> ByteBuffer { ByteBuffer(bytes: Array(bytes)) }

    func deflate(_ bytes: some Sequence<UInt8>) throws -> ByteBuffer { try ChunkInflater.deflate(buffer(bytes)) }

    func chunks(_ size: Int, _ chunkSize: Int) -> [Range<Int>] {
        stride(from: 0, to: size, by: chunkSize).map { $0..<min(size, $0 + chunkSize) }
    }

    func fileContents(_ relative: String, root: String? = nil) -> [UInt8]? {
        FileManager.default.contents(atPath: (root ?? self.root) + "/" + relative).map { Array($0) }
    }

    /// Files in the staging area (partial uploads).
    func stagingFiles(root: String? = nil) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: (root ?? self.root) + "/.floe-staging")) ?? []).sorted()
    }

    // MARK: Errors

    /// Runs `body`, which must throw exactly `E`; returns the error for more checks.
    @discardableResult
    func expectError<E: Error, T>(
        _ type: E.Type, _ what: String = "", file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T
    ) -> E? {
        do {
            let value = try body()
            XCTFail("\(what): expected \(E.self), got the result \(value)", file: file, line: line)
        } catch let error as E {
            return error
        } catch {
            XCTFail("\(what): expected \(E.self), got \(Swift.type(of: error)): \(error)", file: file, line: line)
        }
        return nil
    }

    /// Waits (up to `timeout`) until `condition` holds, checking it every few milliseconds.
    /// For state that has no event to wait on (statistics of another component).
    func waitUntil(_ what: String, timeout: Duration = .seconds(20), file: StaticString = #filePath, line: UInt = #line,
                   _ condition: () -> Bool) {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            if ContinuousClock.now > deadline {
                XCTFail("timed out waiting until \(what)", file: file, line: line)
                return
            }
            usleep(2_000)
        }
    }
}

/// Holds the workers before each write until opened (the test's "slow disk").
final class ServerWriteGate: @unchecked Sendable {
    private let condition = NSCondition()
    private var open = false
    private var arrivedCount = 0

    /// The hook to pass as `beforeWrite`.
    var hook: @Sendable (String, Int64) -> Void {
        { [self] _, _ in pass() }
    }

    func pass() {
        condition.lock()
        arrivedCount += 1
        condition.broadcast()
        while !open { condition.wait() }
        condition.unlock()
    }

    /// Writes that reached the gate so far.
    var arrived: Int {
        condition.lock()
        defer { condition.unlock() }
        return arrivedCount
    }

    /// Blocks until `count` writes reached the gate (or `timeout`); returns whether they did.
    func waitForArrivals(_ count: Int, timeout: TimeInterval = 20) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while arrivedCount < count {
            if !condition.wait(until: deadline) { return arrivedCount >= count }
        }
        return true
    }

    func release() {
        condition.lock()
        open = true
        condition.broadcast()
        condition.unlock()
    }
}
