import Foundation
import Ice
import NIOCore
import XCTest

@testable import FileTransfer

// A minimal in-memory Store/Upload pair on our runtime, for the client tests: it implements
// the contract's semantics that the client relies on (ranges, resume, checksum on commit,
// typed errors) and lets a test watch and steer the `send` dispatches.

/// Decides when a `send`/`sendCompressed` dispatch completes (AMD); nil completes it at once.
protocol SendGate: AnyObject, Sendable {
    func arrived(offset: Int64, length: Int, current: Current) -> Future<Void>?
}

final class FakeStore: StoreServant, @unchecked Sendable {
    private let lock = NSLock()
    private var files: [String: [UInt8]] = [:]
    private var uploads: [String: FakeUpload] = [:]
    private(set) var opens: [(path: String, resume: Bool)] = []
    private(set) var rawSends = 0
    private(set) var compressedSends = 0
    private(set) var sentBytes = 0
    /// Steers send completions (window tests).
    var gate: (any SendGate)?
    /// When set, `stat` reports this checksum (to provoke a mismatch) instead of the XXH64.
    var fakeChecksum: String?
    /// Called after a successful commit, before its reply (lost-reply tests).
    var afterCommit: (@Sendable (_ current: Current) -> Void)?
    /// Called after each stored chunk with the number of chunks stored so far (drop tests).
    var afterStore: (@Sendable (_ count: Int, _ current: Current) throws -> Void)?

    func file(_ path: String) -> [UInt8]? { lock.withLock { files[path] } }
    func put(_ path: String, _ bytes: [UInt8]) { lock.withLock { files[path] = bytes } }
    var counts: (raw: Int, compressed: Int, bytes: Int) { lock.withLock { (rawSends, compressedSends, sentBytes) } }

    // MARK: Store

    func open(path: String, size: Int64, overwrite: Bool, resume: Bool, current: Current) throws -> UploadPrx? {
        try check(path)
        let upload: FakeUpload = try lock.withLock {
            opens.append((path, resume))
            if files[path] != nil && !overwrite {
                throw ConflictError(reason: "the file exists; pass overwrite to replace it", path: path)
            }
            if let existing = uploads[path], resume, existing.size == size { return existing }
            let u = FakeUpload(store: self, path: path, size: size)
            uploads[path] = u
            return u
        }
        guard let adapter = current.adapter else { throw UnknownException("no adapter") }
        if adapter.find(upload.identity) == nil { try adapter.add(upload, identity: upload.identity) }
        return uncheckedCast(adapter.createProxy(upload.identity), to: UploadPrx.self)
    }

    func stat(path: String, current: Current) throws -> FileInfo {
        try check(path)
        guard let data = file(path) else { throw PathError(reason: "no such file", path: path) }
        return FileInfo(
            path: path, size: Int64(data.count), checksum: fakeChecksum ?? Checksum(of: data, algorithm: .standard).description,
            modified: 1_700_000_000)
    }

    func list(dir: String, current: Current) throws -> [FileInfo] {
        let prefix = dir.isEmpty || dir == "." ? "" : dir + "/"
        let all = lock.withLock { files }
        return all.keys.sorted().filter { $0.hasPrefix(prefix) && !$0.dropFirst(prefix.count).contains("/") }.map {
            FileInfo(path: $0, size: Int64(all[$0]!.count), checksum: Checksum(of: all[$0]!, algorithm: .standard).description,
                     modified: 1_700_000_000)
        }
    }

    /// Called before each `read` with the number of reads so far (drop tests).
    var beforeRead: (@Sendable (_ count: Int, _ current: Current) -> Void)?
    private var reads = 0

    func read(path: String, offset: Int64, length: Int32, current: Current) throws -> ByteBuffer {
        let n = lock.withLock { reads += 1; return reads }
        beforeRead?(n, current)
        try check(path)
        guard let data = file(path) else { throw PathError(reason: "no such file", path: path) }
        guard offset >= 0, offset <= data.count, length >= 0 else {
            throw RangeError(reason: "outside the file", offset: offset, length: length, size: Int64(data.count))
        }
        let end = min(data.count, Int(offset) + Int(length))
        return ByteBuffer(bytes: data[Int(offset)..<end])
    }

    private func check(_ path: String) throws {
        if path.isEmpty || path.hasPrefix("/") || path.split(separator: "/").contains("..") {
            throw PathError(reason: "the path must be relative and stay inside the root", path: path)
        }
    }

    // MARK: Upload bookkeeping

    fileprivate func stored(compressed: Bool, bytes: Int) -> Int {
        lock.withLock {
            if compressed { compressedSends += 1 } else { rawSends += 1 }
            sentBytes += bytes
            return rawSends + compressedSends
        }
    }

    /// Every checksum a `commit` was called with, in order.
    var commitChecksums: [String] { lock.withLock { commitTexts } }
    private var commitTexts: [String] = []

    fileprivate func commitCalled(with checksum: String) {
        lock.withLock { commitTexts.append(checksum) }
    }

    fileprivate func committed(_ upload: FakeUpload, data: [UInt8]) {
        lock.withLock {
            files[upload.path] = data
            if uploads[upload.path] === upload { uploads[upload.path] = nil }
        }
    }
}

final class FakeUpload: UploadServant, @unchecked Sendable {
    let identity = Identity(name: UUID().uuidString, category: "upload")
    let path: String
    let size: Int64
    private weak var store: FakeStore?
    private let lock = NSLock()
    private var data: [UInt8]
    private var ranges = RangeSet()

    init(store: FakeStore, path: String, size: Int64) {
        self.store = store
        self.path = path
        self.size = size
        self.data = [UInt8](repeating: 0, count: Int(size))
    }

    func send(offset: Int64, bytes: ByteBuffer, current: Current) throws -> Future<Void> {
        try write(offset: offset, bytes: bytes, compressed: false, wire: bytes.readableBytes, current: current)
    }

    func sendCompressed(offset: Int64, length: Int32, zlibData: ByteBuffer, current: Current) throws -> Future<Void> {
        guard let bytes = ZlibChunk.decompress(zlibData, length: Int(length)) else {
            throw IntegrityError(reason: "the chunk does not inflate to \(length) bytes", expected: "\(length)", actual: "?")
        }
        return try write(offset: offset, bytes: bytes, compressed: true, wire: zlibData.readableBytes, current: current)
    }

    private func write(offset: Int64, bytes: ByteBuffer, compressed: Bool, wire: Int, current: Current) throws -> Future<Void> {
        let count = bytes.readableBytes
        guard offset >= 0, offset + Int64(count) <= size else {
            throw RangeError(reason: "outside the declared size", offset: offset, length: Int32(count), size: size)
        }
        lock.withLock {
            bytes.withUnsafeReadableBytes { raw in
                for i in 0..<count { data[Int(offset) + i] = raw[i] }
            }
            ranges.insert(offset..<(offset + Int64(count)))
        }
        let n = store?.stored(compressed: compressed, bytes: wire) ?? 0
        try store?.afterStore?(n, current)
        return store?.gate?.arrived(offset: offset, length: count, current: current) ?? Future.completed(())
    }

    func received(current: Current) throws -> [Int64] { lock.withLock { ranges.flattened } }

    func commit(checksum: String, current: Current) throws -> FileInfo {
        store?.commitCalled(with: checksum)
        let (complete, snapshot) = lock.withLock { (ranges.isComplete(size: size), data) }
        guard complete else {
            let gap = lock.withLock { ranges.firstMissing(in: 0..<size) } ?? 0..<0
            throw RangeError(reason: "bytes are missing", offset: gap.lowerBound, length: Int32(gap.count), size: size)
        }
        guard let expected = Checksum(parsing: checksum) else {
            throw IntegrityError(reason: "not a checksum", expected: checksum, actual: "")
        }
        let actual = Checksum(of: snapshot, algorithm: expected.algorithm)
        guard actual == expected else {
            throw IntegrityError(reason: "checksum mismatch", expected: expected.description, actual: actual.description)
        }
        store?.committed(self, data: snapshot)
        current.adapter?.remove(identity)
        store?.afterCommit?(current)
        return FileInfo(path: path, size: size, checksum: actual.description, modified: 1_700_000_000)
    }

    func abort(current: Current) throws {}
}

/// A loopback server (fake store) and a client communicator.
final class ClientTestServer {
    let serverCommunicator: Communicator
    let adapter: ObjectAdapter
    let store: FakeStore
    let client: Communicator

    init(store: FakeStore = FakeStore(), clientProperties: [String] = []) throws {
        self.store = store
        serverCommunicator = try Communicator(["--Ice.MessageSizeMax=65536", "--Ice.ThreadPool.Server.Size=4"])
        adapter = try serverCommunicator.createObjectAdapterWithEndpoints("Store", "tcp -h 127.0.0.1 -p 0")
        try adapter.add(store, identity: Identity(name: "store"))
        adapter.activate()
        client = try Communicator(["--Ice.MessageSizeMax=65536"] + clientProperties)
    }

    var port: Int { adapter.endpoints[0].port }
    var proxyString: String { "store:tcp -h 127.0.0.1 -p \(port)" }

    var storePrx: StorePrx {
        get throws { try XCTUnwrap(client.stringToProxy(proxyString, as: StorePrx.self)) }
    }

    func destroy() {
        client.destroy()
        serverCommunicator.destroy()
    }
}

/// Temporary files for one test.
final class TempDir {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("ftclient-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let p = path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    func read(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path + "/" + name)))
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Compressible text.
func textBytes(_ count: Int) -> [UInt8] {
    let words = ["ice", "floe", "file", "transfer", "chunk", "window", "swift", "server", "client", "resume"]
    var out: [UInt8] = []
    out.reserveCapacity(count + 16)
    var i = 0
    while out.count < count {
        out += Array((words[(i * 7 + i / 3) % words.count] + (i % 11 == 0 ? "\n" : " ")).utf8)
        i += 1
    }
    return Array(out.prefix(count))
}

/// Runs `body` on another thread and waits for it at most `seconds` (a hang fails the test
/// instead of blocking the suite).
func runWithDeadline<T: Sendable>(
    _ seconds: Double = 60, file: StaticString = #filePath, line: UInt = #line, _ body: @escaping @Sendable () throws -> T
) throws -> T {
    let done = DispatchSemaphore(value: 0)
    let box = ResultBox<T>()
    Thread {
        box.set(Result { try body() })
        done.signal()
    }.start()
    guard done.wait(timeout: .now() + seconds) == .success else {
        XCTFail("did not finish within \(seconds) s", file: file, line: line)
        throw CancellationError()
    }
    return try box.get().get()
}

final class ResultBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Result<T, any Error>?
    func set(_ v: Result<T, any Error>) { lock.withLock { value = v } }
    func get() -> Result<T, any Error> { lock.withLock { value! } }
}

/// The real `FileServer` on loopback (temporary root), and a client communicator.
final class RealTestServer {
    let serverCommunicator: Communicator
    let server: FileServer
    let client: Communicator
    let root: TempDir

    /// - Parameter publishedEndpoints: what the server puts in the upload proxies it returns.
    init(publishedEndpoints: String = "") throws {
        root = try TempDir()
        serverCommunicator = try Communicator(["--Ice.MessageSizeMax=65536"])
        server = try FileServer(
            communicator: serverCommunicator,
            config: FileServerConfig(
                root: root.path + "/root", endpoints: "tcp -h 127.0.0.1 -p 0", publishedEndpoints: publishedEndpoints))
        try server.start()
        client = try Communicator(["--Ice.MessageSizeMax=65536"])
    }

    var port: Int { server.endpoints[0].port }
    var proxyString: String { "store:tcp -h 127.0.0.1 -p \(port)" }

    var storePrx: StorePrx {
        get throws { try XCTUnwrap(client.stringToProxy(proxyString, as: StorePrx.self)) }
    }

    /// The bytes of a committed file, read from the root directly.
    func file(_ path: String) -> [UInt8]? {
        (try? Data(contentsOf: URL(fileURLWithPath: root.path + "/root/" + path))).map { [UInt8]($0) }
    }

    func destroy() {
        client.destroy()
        server.stop()
        serverCommunicator.destroy()
    }
}

/// The `ftclient` built next to the test bundle (in the build products directory).
func ftclientExecutable() throws -> String {
    var candidates: [URL] = []
    candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
    let bundle = Bundle(for: ClientTestServer.self).bundleURL
    candidates.append(bundle.deletingLastPathComponent())
    candidates.append(bundle.deletingLastPathComponent().deletingLastPathComponent())
    for dir in candidates {
        let path = dir.appendingPathComponent("ftclient").path
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    XCTFail("ftclient was not found next to the test bundle (\(candidates.map(\.path))); build it with --build-tests")
    throw CancellationError()
}

struct FTClientOutcome {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs ftclient with `arguments` and waits for it; its outputs go through files in `scratch`
/// (no pipe can fill up), stdin is /dev/null.
func runFTClient(_ arguments: [String], scratch: String) throws -> FTClientOutcome {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try ftclientExecutable())
    process.arguments = arguments
    let outPath = scratch + "/stdout-\(UUID().uuidString)"
    let errPath = scratch + "/stderr-\(UUID().uuidString)"
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    try out.close()
    try err.close()
    defer {
        try? FileManager.default.removeItem(atPath: outPath)
        try? FileManager.default.removeItem(atPath: errPath)
    }
    return FTClientOutcome(
        status: process.terminationStatus,
        stdout: String(decoding: try Data(contentsOf: URL(fileURLWithPath: outPath)), as: UTF8.self),
        stderr: String(decoding: try Data(contentsOf: URL(fileURLWithPath: errPath)), as: UTF8.self))
}

/// Send options for tests: fast reconnection back-off, optionally an invocation timeout.
func testSendOptions(
    chunk: Int, window: Int, compression: CompressionMode = .off, invocationTimeout: Duration? = nil
) -> SendOptions {
    var o = SendOptions()
    o.chunkSize = chunk
    o.window = window
    o.compression = compression
    o.initialBackoff = .milliseconds(10)
    o.invocationTimeout = invocationTimeout
    return o
}

/// A test case with a fresh fake store on loopback and a temporary directory per test.
class FakeStoreTestCase: XCTestCase {
    var server: ClientTestServer!
    var temp: TempDir!

    override func setUpWithError() throws {
        server = try ClientTestServer()
        temp = try TempDir()
    }

    override func tearDown() {
        server?.destroy()
        server = nil
        temp = nil
    }
}

/// A test case with the real `FileServer` on loopback and a temporary directory per test.
class RealServerTestCase: XCTestCase {
    var server: RealTestServer!
    var temp: TempDir!

    override func setUpWithError() throws {
        server = try RealTestServer()
        temp = try TempDir()
    }

    override func tearDown() {
        server?.destroy()
        server = nil
        temp = nil
    }
}
