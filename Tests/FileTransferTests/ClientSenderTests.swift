import Foundation
import Ice
import NIOCore
import XCTest

@testable import FileTransfer

/// Holds `send` dispatches and completes them newest first: the window fills up, replies come
/// back in an order the sender cannot assume, and the count of dispatches outstanding at the
/// server is recorded.
final class LIFOGate: SendGate, @unchecked Sendable {
    let limit: Int
    let total: Int
    private let lock = NSLock()
    private var outstanding: [(offset: Int64, future: Future<Void>)] = []
    private(set) var arrivals: [Int64] = []
    private(set) var completions: [Int64] = []
    private(set) var maxOutstanding = 0
    /// Outstanding count seen by each arrival (itself included).
    private(set) var outstandingAtArrival: [Int] = []

    /// - Parameters:
    ///   - limit: complete the newest dispatch whenever this many are outstanding.
    ///   - total: once this many arrived, complete everything (newest first).
    init(limit: Int, total: Int) {
        self.limit = limit
        self.total = total
    }

    func arrived(offset: Int64, length: Int, current: Current) -> Future<Void>? {
        let f = Future<Void>()
        let ready: [Future<Void>] = lock.withLock {
            outstanding.append((offset, f))
            arrivals.append(offset)
            outstandingAtArrival.append(outstanding.count)
            maxOutstanding = max(maxOutstanding, outstanding.count)
            var ready: [Future<Void>] = []
            if arrivals.count >= total {
                while let last = outstanding.popLast() {
                    completions.append(last.offset)
                    ready.append(last.future)
                }
            } else if outstanding.count >= limit {
                let last = outstanding.removeLast()
                completions.append(last.offset)
                ready.append(last.future)
            }
            return ready
        }
        for r in ready { r.setResult(()) }
        return f
    }

    var snapshot: (arrivals: [Int64], completions: [Int64], max: Int, atArrival: [Int]) {
        lock.withLock { (arrivals, completions, maxOutstanding, outstandingAtArrival) }
    }
}

final class ClientSenderTests: FakeStoreTestCase {
    private func options(chunk: Int, window: Int, compression: CompressionMode = .off) -> SendOptions {
        testSendOptions(chunk: chunk, window: window, compression: compression, invocationTimeout: .seconds(30))
    }

    private func send(_ path: String, to remote: String, _ options: SendOptions) throws -> SendResult {
        let sender = Sender(store: try server.storePrx, options: options)
        return try runWithDeadline { try sender.send(file: path, to: remote) }
    }

    // MARK: Basics

    func testSendsAndCommitsWithChecksum() throws {
        let data = randomBytes(1_000_003)
        let path = try temp.file("a.bin", data)
        let result = try send(path, to: "dir/a.bin", options(chunk: 64 * 1024, window: 8))
        XCTAssertEqual(server.store.file("dir/a.bin"), data)
        XCTAssertEqual(result.checksum, Checksum(of: data, algorithm: .standard), "XXH64 by default")
        XCTAssertEqual(result.info.checksum, result.checksum.description)
        XCTAssertEqual(server.store.commitChecksums, [result.checksum.description])
        XCTAssertEqual(result.info.size, Int64(data.count))
        XCTAssertEqual(result.bytes, Int64(data.count))
        XCTAssertEqual(result.chunks, 16)
        XCTAssertEqual(result.wireBytes, Int64(data.count))
        XCTAssertEqual(result.compressionRatio, 1)
        XCTAssertEqual(result.reconnects, 0)
        XCTAssertEqual(result.resumedBytes, 0)
    }

    func testEmptyFile() throws {
        let path = try temp.file("empty", [])
        let result = try send(path, to: "empty", options(chunk: 1024, window: 2))
        XCTAssertEqual(server.store.file("empty"), [])
        XCTAssertEqual(result.chunks, 0)
        XCTAssertEqual(result.checksum.description, "xxh3:2d06800538d394c2")
    }

    func testSHA256OnRequest() throws {
        let data = randomBytes(300_001)
        let path = try temp.file("s.bin", data)
        var o = options(chunk: 32 * 1024, window: 4, compression: .auto)
        o.checksum = .sha256
        let result = try send(path, to: "s.bin", o)
        XCTAssertEqual(server.store.file("s.bin"), data)
        XCTAssertEqual(result.checksum, Checksum(of: data, algorithm: .sha256))
        XCTAssertEqual(server.store.commitChecksums, [Checksum(of: data, algorithm: .sha256).description])
        XCTAssertEqual(result.info.checksum, result.checksum.description)
    }

    /// The commit succeeds but its reply is lost: after reconnecting, the sender recognises the
    /// stored file by stat's checksum (XXH64) in either mode, instead of uploading it again.
    func testLostCommitReplyIsRecognisedByStatInEitherAlgorithm() throws {
        for algorithm in ChecksumAlgorithm.allCases {
            let s = try ClientTestServer(clientProperties: ["--Ice.RetryIntervals=-1"])
            defer { s.destroy() }
            let dropped = NSLock()
            nonisolated(unsafe) var didDrop = false
            s.store.afterCommit = { current in
                if dropped.withLock({ () -> Bool in defer { didDrop = true }; return !didDrop }) {
                    current.connection?.close(.forcefully)
                }
            }
            let data = randomBytes(100_000)
            let path = try temp.file("lost-\(algorithm)", data)
            var o = options(chunk: 16 * 1024, window: 4)
            o.checksum = algorithm
            let sender = Sender(store: try s.storePrx, options: o)
            let result = try runWithDeadline { try sender.send(file: path, to: "lost.bin") }
            XCTAssertTrue(dropped.withLock { didDrop }, "\(algorithm)")
            XCTAssertEqual(result.reconnects, 1, "\(algorithm)")
            XCTAssertEqual(s.store.commitChecksums.count, 1, "committed once (\(algorithm))")
            XCTAssertEqual(s.store.file("lost.bin"), data)
            XCTAssertEqual(result.checksum, Checksum(of: data, algorithm: algorithm))
            XCTAssertEqual(result.info.checksum, Checksum(of: data, algorithm: .standard).description, "stat's info")
            XCTAssertFalse(s.store.opens.contains { $0.resume }, "not uploaded again (\(algorithm))")
        }
    }

    func testUploadIsReachedThroughTheStoreEndpoints() throws {
        // The server publishes an endpoint nobody listens on: the client must not use it.
        let s = try ClientTestServer()
        defer { s.destroy() }
        let bogus = try XCTUnwrap(s.client.stringToProxy("x:tcp -h 127.0.0.1 -p 1", as: UploadPrx.self))
        let sender = Sender(store: try s.storePrx)
        let upload = sender.uploadProxy(for: bogus)
        XCTAssertEqual(upload.ice_getIdentity(), Identity(name: "x"))
        XCTAssertEqual(upload.ice_getEndpoints(), try s.storePrx.ice_getEndpoints())
    }

    func testMissingLocalFile() throws {
        let sender = Sender(store: try server.storePrx)
        XCTAssertThrowsError(try sender.send(file: temp.path + "/nope", to: "nope")) { error in
            XCTAssertEqual((error as? LocalFileError)?.kind, .notFound)
            XCTAssertEqual(ClientErrors.exitCode(for: error), .noInput)
        }
        XCTAssertThrowsError(try sender.send(file: temp.path, to: "dir")) { error in
            XCTAssertEqual((error as? LocalFileError)?.kind, .unreadable)
        }
    }

    func testServerErrorsAreTyped() throws {
        let path = try temp.file("a", randomBytes(10))
        let sender = Sender(store: try server.storePrx)
        XCTAssertThrowsError(try sender.send(file: path, to: "../a")) { error in
            XCTAssertEqual((error as? PathError)?.path, "../a")
            XCTAssertEqual(ClientErrors.exitCode(for: error), .refused)
        }
        server.store.put("exists", [1])
        XCTAssertThrowsError(try sender.send(file: path, to: "exists")) { error in
            XCTAssertTrue(error is ConflictError, "\(error)")
        }
        var o = SendOptions()
        o.overwrite = true
        let overwriting = Sender(store: try server.storePrx, options: o)
        _ = try runWithDeadline { try overwriting.send(file: path, to: "exists") }
        XCTAssertEqual(server.store.file("exists"), randomBytes(10))
    }

    // MARK: Window

    /// `--window 1`: every request waits for the previous reply; chunks go in file order.
    func testWindowOneIsStrictlySequential() throws {
        let chunk = 8 * 1024
        let count = 40
        let data = randomBytes(chunk * count)
        let gate = LIFOGate(limit: 1, total: count)
        server.store.gate = gate
        let path = try temp.file("w1", data)
        let result = try send(path, to: "w1", options(chunk: chunk, window: 1))
        let s = gate.snapshot
        XCTAssertEqual(s.max, 1)
        XCTAssertEqual(s.atArrival, Array(repeating: 1, count: count))
        XCTAssertEqual(s.arrivals, (0..<count).map { Int64($0 * chunk) })
        XCTAssertEqual(s.completions, s.arrivals)
        XCTAssertEqual(result.window, 1)
        XCTAssertEqual(server.store.file("w1"), data)
    }

    /// `--window 4`: never more than 4 outstanding, the window is used to the full, and replies
    /// completing newest-first (the oldest chunk is answered last) do not stall the sender.
    func testWindowFourNeverExceedsFourAndHandlesOutOfOrderReplies() throws {
        let chunk = 8 * 1024
        let count = 48
        let data = randomBytes(chunk * count)
        let gate = LIFOGate(limit: 4, total: count)
        server.store.gate = gate
        let path = try temp.file("w4", data)
        let result = try send(path, to: "w4", options(chunk: chunk, window: 4))
        let s = gate.snapshot
        XCTAssertEqual(s.max, 4, "the window must be used to the full, never exceeded")
        XCTAssertTrue(s.atArrival.allSatisfy { $0 <= 4 })
        XCTAssertEqual(s.arrivals.count, count)
        XCTAssertEqual(Set(s.arrivals), Set((0..<count).map { Int64($0 * chunk) }))
        // The first chunks were answered last: the sender kept going on the later replies.
        XCTAssertNotEqual(s.completions, s.arrivals)
        XCTAssertEqual(s.completions.count, count)
        // The first three dispatches stay outstanding (one slot cycles) and are answered last,
        // newest first.
        XCTAssertEqual(Array(s.completions.suffix(3)), Array(s.arrivals.prefix(3).reversed()))
        XCTAssertEqual(result.window, 4)
        XCTAssertEqual(server.store.file("w4"), data)
    }

    func testWindowCountsCompressedRequestsToo() throws {
        let chunk = 8 * 1024
        let count = 24
        let data = textBytes(chunk * count)
        let gate = LIFOGate(limit: 3, total: count)
        server.store.gate = gate
        let path = try temp.file("w3", data)
        _ = try send(path, to: "w3", options(chunk: chunk, window: 3, compression: .on))
        XCTAssertEqual(gate.snapshot.max, 3)
        XCTAssertEqual(server.store.counts.compressed, count)
        XCTAssertEqual(server.store.file("w3"), data)
    }

    // MARK: Compression

    func testCompressionOnDeflatesEveryChunk() throws {
        let data = randomBytes(256 * 1024)
        let path = try temp.file("on", data)
        let result = try send(path, to: "on", options(chunk: 32 * 1024, window: 4, compression: .on))
        XCTAssertEqual(server.store.counts.compressed, 8)
        XCTAssertEqual(server.store.counts.raw, 0)
        XCTAssertEqual(result.compressedChunks, 8)
        XCTAssertEqual(server.store.file("on"), data)
    }

    func testCompressionAutoSendsRandomDataRaw() throws {
        let data = randomBytes(512 * 1024)
        let path = try temp.file("rand", data)
        let result = try send(path, to: "rand", options(chunk: 32 * 1024, window: 4, compression: .auto))
        XCTAssertEqual(server.store.counts.compressed, 0)
        XCTAssertEqual(server.store.counts.raw, 16)
        XCTAssertEqual(result.wireBytes, Int64(data.count))
        XCTAssertEqual(server.store.file("rand"), data)
    }

    func testCompressionAutoCompressesText() throws {
        let data = textBytes(512 * 1024)
        let path = try temp.file("text", data)
        let result = try send(path, to: "text", options(chunk: 32 * 1024, window: 4, compression: .auto))
        XCTAssertEqual(server.store.counts.compressed, 16)
        XCTAssertEqual(server.store.counts.raw, 0)
        XCTAssertGreaterThan(result.compressionRatio, 2)
        XCTAssertLessThan(result.wireBytes, Int64(data.count) / 2)
        XCTAssertEqual(server.store.file("text"), data)
    }

    func testAutoPolicyPausesAfterIncompressibleChunks() {
        let policy = AutoCompressionPolicy(threshold: 2, pauseLength: 3)
        XCTAssertTrue(policy.shouldTry())
        policy.record(shrank: false)
        XCTAssertTrue(policy.shouldTry())
        policy.record(shrank: false)
        // Paused for 3 chunks, then one probe; a miss pauses again at once.
        XCTAssertEqual((0..<3).map { _ in policy.shouldTry() }, [false, false, false])
        XCTAssertTrue(policy.shouldTry())
        policy.record(shrank: false)
        XCTAssertFalse(policy.shouldTry())
    }

    func testMixedDataInAutoMode() throws {
        // Text, then random, then text: both kinds of request are used.
        let chunk = 16 * 1024
        let data = textBytes(chunk * 4) + randomBytes(chunk * 2) + textBytes(chunk * 4)
        let path = try temp.file("mixed", data)
        var o = options(chunk: chunk, window: 2, compression: .auto)
        o.compressionThreads = 1
        _ = try send(path, to: "mixed", o)
        XCTAssertEqual(server.store.counts.compressed, 8)
        XCTAssertEqual(server.store.counts.raw, 2)
        XCTAssertEqual(server.store.file("mixed"), data)
    }

    // MARK: Reconnection and resume

    /// The server drops the connection after K chunks; the sender reconnects, asks what was
    /// received, sends only the rest and commits with the right checksum.
    func testResumesAfterConnectionDrop() throws {
        let chunk = 32 * 1024
        let count = 40
        let data = randomBytes(chunk * count + 777)
        let dropped = NSLock()
        nonisolated(unsafe) var didDrop = false
        server.store.afterStore = { n, current in
            let drop = dropped.withLock { () -> Bool in
                if n >= 10 && !didDrop { didDrop = true; return true }
                return false
            }
            if drop { current.connection?.close(.forcefully) }
        }
        let path = try temp.file("drop", data)
        let reconnects = NSLock()
        nonisolated(unsafe) var reported: [Int] = []
        let sender = Sender(store: try server.storePrx, options: options(chunk: chunk, window: 4))
        sender.onReconnect = { attempt, error in
            XCTAssertTrue(ClientErrors.isConnectionFailure(error), "\(error)")
            reconnects.withLock { reported.append(attempt) }
        }
        let result = try runWithDeadline { try sender.send(file: path, to: "drop") }
        XCTAssertEqual(server.store.file("drop"), data)
        XCTAssertEqual(result.info.checksum, Checksum(of: data, algorithm: .standard).description)
        XCTAssertEqual(result.reconnects, 1)
        XCTAssertEqual(reconnects.withLock { reported }, [1])
        XCTAssertTrue(server.store.opens.contains { $0.path == "drop" && $0.resume }, "reopened with resume")
        // Only what was lost is sent again: at most the window (plus the chunk being dropped).
        let total = count + 1
        XCTAssertLessThanOrEqual(server.store.counts.raw, total + 5)
        XCTAssertLessThanOrEqual(result.sentBytes, Int64(data.count + 5 * chunk))
    }

    func testResumesAfterSeveralDropsWithCompression() throws {
        let chunk = 16 * 1024
        let data = textBytes(chunk * 30)
        let drops = NSLock()
        nonisolated(unsafe) var dropped: Set<Int> = []
        server.store.afterStore = { n, current in
            let drop = drops.withLock { () -> Bool in
                guard n % 8 == 0, n <= 24, !dropped.contains(n) else { return false }
                dropped.insert(n)
                return true
            }
            if drop { current.connection?.close(.forcefully) }
        }
        let path = try temp.file("drops", data)
        let result = try send(path, to: "drops", options(chunk: chunk, window: 3, compression: .auto))
        XCTAssertEqual(server.store.file("drops"), data)
        XCTAssertGreaterThanOrEqual(result.reconnects, 2)
    }

    /// `--resume`: a previous run failed half-way; the next one sends only what is missing.
    func testResumeFlagContinuesAnInterruptedRun() throws {
        let chunk = 16 * 1024
        let count = 32
        let data = randomBytes(chunk * count)
        let path = try temp.file("res", data)
        let failed = NSLock()
        nonisolated(unsafe) var didFail = false
        server.store.afterStore = { n, _ in
            let fail = failed.withLock { () -> Bool in
                if n == 12 && !didFail { didFail = true; return true }
                return false
            }
            if fail { throw StorageError(reason: "disk full") }
        }
        XCTAssertThrowsError(try send(path, to: "res", options(chunk: chunk, window: 1))) { error in
            XCTAssertEqual((error as? StorageError)?.reason, "disk full")
            XCTAssertEqual(ClientErrors.exitCode(for: error), .refused)
        }
        XCTAssertNil(server.store.file("res"))
        let before = server.store.counts.raw
        XCTAssertEqual(before, 12)

        var o = options(chunk: chunk, window: 4)
        o.resume = true
        let result = try send(path, to: "res", o)
        XCTAssertEqual(server.store.file("res"), data)
        // Chunk 12 was stored before the error was thrown: 12 chunks were kept.
        XCTAssertEqual(result.resumedBytes, Int64(12 * chunk))
        XCTAssertEqual(result.chunks, count - 12)
        XCTAssertEqual(server.store.counts.raw - before, count - 12)
        XCTAssertEqual(result.checksum, Checksum(of: data, algorithm: .standard))
    }

    func testGivesUpAfterRetries() throws {
        let s = try ClientTestServer()
        let store = try s.storePrx
        s.serverCommunicator.destroy()  // nothing listens on that port any more
        defer { s.client.destroy() }
        let path = try temp.file("x", randomBytes(100))
        var o = options(chunk: 1024, window: 2)
        o.maxRetries = 2
        o.initialBackoff = .milliseconds(1)
        let sender = Sender(store: store, options: o)
        let attempts = NSLock()
        nonisolated(unsafe) var seen: [Int] = []
        sender.onReconnect = { n, _ in attempts.withLock { seen.append(n) } }
        XCTAssertThrowsError(try runWithDeadline { try sender.send(file: path, to: "x") }) { error in
            let e = error as? ConnectionFailedError
            XCTAssertNotNil(e, "\(error)")
            XCTAssertEqual(e?.attempts, 2)
            XCTAssertTrue(e?.underlying is ConnectFailedException, "\(String(describing: e?.underlying))")
            XCTAssertEqual(ClientErrors.exitCode(for: error), .unavailable)
        }
        XCTAssertEqual(attempts.withLock { seen }, [1, 2])
    }

    func testProgressIsReportedAndFinal() throws {
        let data = randomBytes(300_000)
        let path = try temp.file("p", data)
        var o = options(chunk: 10_000, window: 2)
        o.progressInterval = .milliseconds(0)
        let sender = Sender(store: try server.storePrx, options: o)
        let lock = NSLock()
        nonisolated(unsafe) var reports: [TransferProgress] = []
        sender.onProgress = { p in lock.withLock { reports.append(p) } }
        _ = try runWithDeadline { try sender.send(file: path, to: "p") }
        let all = lock.withLock { reports }
        XCTAssertGreaterThan(all.count, 2)
        XCTAssertEqual(all.last?.isFinal, true)
        XCTAssertEqual(all.last?.bytesDone, Int64(data.count))
        XCTAssertEqual(all.filter(\.isFinal).count, 1)
        XCTAssertTrue(all.allSatisfy { $0.inFlight <= 2 && $0.totalBytes == Int64(data.count) })
        XCTAssertEqual(all.map(\.bytesDone), all.map(\.bytesDone).sorted())
    }
}
