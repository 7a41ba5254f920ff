#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import NIOCore
import XCTest

@testable import Ice

// A real server (this runtime, tcp on 127.0.0.1, port 0) fed malformed bytes over raw TCP
// sockets. Expected reactions follow Ice 3.7 (ice-protocol.md §2–§4, vectors/probe_errors.txt):
// framing and request-header errors close the connection without a word (the client only ever
// sees the initial ValidateConnection, then EOF); errors inside the parameter encapsulation are
// answered with status 5 and the connection stays; a well-behaved connection is unaffected.

// MARK: - `interface Calc { int add(int a, int b); }`, mapped by hand

struct CalcPrx: ObjectPrx {
    let _reference: Reference
    init(_reference: Reference) { self._reference = _reference }
    static var ice_staticId: String { "::Demo::Calc" }

    func add(_ a: Int32, _ b: Int32) throws -> Int32 {
        try _invoke("add", write: { $0.write(a); $0.write(b) }, read: { try $0.read(Int32.self) })
            .result(timeout: .seconds(10))
    }
}

final class CalcServant: Servant {
    var ice_ids: [String] { ["::Demo::Calc", "::Ice::Object"] }
    var ice_id: String { "::Demo::Calc" }

    func dispatch(_ request: IncomingRequest) -> DispatchResult? {
        switch request.current.operation {
        case "add":
            return request.dispatch(
                read: { (try $0.read(Int32.self), try $0.read(Int32.self)) },
                write: { (o: inout OutputStream, r: Int32) in o.write(r) }
            ) { (input: (Int32, Int32)) in input.0 &+ input.1 }
        default:
            return nil
        }
    }
}

// MARK: - Raw frames

enum Frame {
    static let validate = MessageHeader.validateConnectionBytes

    static func int32(_ v: Int32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

    static func size(_ n: Int) -> [UInt8] { n < 255 ? [UInt8(n)] : [0xff] + int32(Int32(n)) }

    static func string(_ s: String) -> [UInt8] { size(s.utf8.count) + Array(s.utf8) }

    static func header(
        _ type: UInt8, size: Int32, compression: UInt8 = 0, magic: [UInt8] = Array("IceP".utf8),
        protocol p: (UInt8, UInt8) = (1, 0), encoding e: (UInt8, UInt8) = (1, 0)
    ) -> [UInt8] {
        magic + [p.0, p.1, e.0, e.1, type, compression] + int32(size)
    }

    /// A request body without its id: identity, facet, operation, mode, context, params.
    static func requestBody(
        identity: String = "calc", facet: [String] = [], operation: String, mode: UInt8 = 0,
        context: [(String, String)] = [], params: [UInt8] = [], encoding: (UInt8, UInt8) = (1, 1),
        encapsulationSize: Int32? = nil
    ) -> [UInt8] {
        var b = string(identity) + string("")
        b += size(facet.count) + facet.flatMap(string)
        b += string(operation) + [mode]
        b += size(context.count) + context.flatMap { string($0.0) + string($0.1) }
        b += int32(encapsulationSize ?? Int32(6 + params.count)) + [encoding.0, encoding.1] + params
        return b
    }

    /// A whole request message (type 0).
    static func request(id: Int32, _ body: [UInt8]) -> [UInt8] {
        header(0, size: Int32(18 + body.count)) + int32(id) + body
    }

    static func add(id: Int32, _ a: Int32, _ b: Int32, mode: UInt8 = 0) -> [UInt8] {
        request(id: id, requestBody(operation: "add", mode: mode, params: int32(a) + int32(b)))
    }

    static func ping(id: Int32) -> [UInt8] {
        request(id: id, requestBody(operation: "ice_ping", mode: 1))
    }

    static func batch(count: Int32, _ bodies: [[UInt8]]) -> [UInt8] {
        let all = bodies.flatMap { $0 }
        return header(1, size: Int32(18 + all.count)) + int32(count) + all
    }

    /// `message` with its body bzip2-compressed (compression status 2), as Ice sends it; the
    /// body must be compressible (bzip2 output smaller than its input).
    static func compressed(_ message: [UInt8], uncompressedSize: Int32? = nil) -> [UInt8] {
        let body = BZip2.compress(ByteBuffer(bytes: message[14...]), blockSize: 1).map { Array($0.readableBytesView) } ?? []
        return header(message[8], size: Int32(18 + body.count), compression: 2)
            + int32(uncompressedSize ?? Int32(message.count)) + body
    }

    /// Complete frames at the start of `data` (by their size fields), removed from it. A size
    /// field below 14 is reported as an invalid frame and everything is consumed.
    static func split(_ data: inout [UInt8]) -> (frames: [[UInt8]], invalid: [UInt8]?) {
        var frames: [[UInt8]] = []
        while data.count >= 14 {
            let size = Int(Int32(littleEndian: data[10...13].withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }))
            if size < 14 {
                defer { data = [] }
                return (frames, data)
            }
            guard data.count >= size else { break }
            frames.append(Array(data[0..<size]))
            data.removeFirst(size)
        }
        return (frames, nil)
    }
}

// MARK: - A blocking TCP socket

/// A plain client socket: blocking I/O, reads bounded by `SO_RCVTIMEO` (a safety bound only:
/// every expected outcome is a message or EOF, never silence).
final class RawSocket {
    enum ReadResult: Equatable {
        case data([UInt8])
        case eof
        case timeout
    }

    let fd: Int32
    /// Bytes received and not consumed as frames yet.
    var pending: [UInt8] = []

    init(port: Int, timeout: Int = 10) throws {
        #if canImport(Glibc)
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw VectorFileError(message: "socket() failed: errno \(errno)") }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        #if canImport(Darwin)
        setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
        var addr = sockaddr_in()
        #if canImport(Darwin)
        addr.sin_len = UInt8(MemoryLayout<sockaddr_in>.size)
        #endif
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr = in_addr(s_addr: inet_addr("127.0.0.1"))
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw VectorFileError(message: "connect to 127.0.0.1:\(port) failed: errno \(e)")
        }
    }

    deinit { close(fd) }

    /// Sends everything; false if the peer is gone (EPIPE / ECONNRESET).
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        #if canImport(Glibc)
        let flags = Int32(MSG_NOSIGNAL)
        #else
        let flags: Int32 = 0
        #endif
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { sendBytes(fd, $0.baseAddress! + offset, bytes.count - offset, flags) }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += n
        }
        return true
    }

    /// Half-closes: the server reads EOF after what was sent.
    func shutdownWrite() {
        #if canImport(Glibc)
        shutdown(fd, Int32(SHUT_WR))
        #else
        shutdown(fd, SHUT_WR)
        #endif
    }

    func read() -> ReadResult {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { return .data(Array(buffer[0..<n])) }
            if n == 0 { return .eof }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .timeout
            default: return .eof  // ECONNRESET: the server closed with unread data
            }
        }
    }

    /// Reads exactly `count` bytes (nil on EOF or timeout first).
    func read(exactly count: Int) -> [UInt8]? {
        while pending.count < count {
            guard case .data(let d) = read() else { return nil }
            pending += d
        }
        defer { pending.removeFirst(count) }
        return Array(pending[0..<count])
    }

    struct Outcome {
        var frames: [[UInt8]] = []
        var eof = false
        var timedOut = false
        /// Bytes that do not form a valid frame (a size below 14, or a partial frame at EOF).
        var invalid: [UInt8] = []
    }

    /// Reads frames until `done` says so, EOF, or the timeout.
    func readFrames(until done: ([[UInt8]]) -> Bool = { _ in false }) -> Outcome {
        var out = Outcome()
        while true {
            let (frames, invalid) = Frame.split(&pending)
            out.frames += frames
            if let invalid { out.invalid += invalid }
            if done(out.frames) { return out }
            switch read() {
            case .data(let d): pending += d
            case .eof:
                out.eof = true
                out.invalid += pending
                pending = []
                return out
            case .timeout:
                out.timedOut = true
                return out
            }
        }
    }
}

#if canImport(Glibc)
private func sendBytes(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int, _ flags: Int32) -> Int {
    Glibc.send(fd, p, n, flags)
}
#else
private func sendBytes(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int, _ flags: Int32) -> Int {
    Darwin.send(fd, p, n, flags)
}
#endif

// MARK: - A reproducible PRNG and frame mutations

/// xorshift64* with a fixed seed: the fuzz cases are the same on every run.
struct XorShift {
    var state: UInt64

    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }

    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 2_685_821_657_736_338_717
    }

    /// Uniform in 0..<n (n > 0).
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next() >> 32) }

    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in byte() } }
}

enum Mutator {
    static let interestingBytes: [UInt8] = [0x00, 0x01, 0x02, 0x06, 0x0e, 0x7f, 0x80, 0xfe, 0xff]
    static let interestingInt32s: [Int32] = [0, 1, 5, 6, 13, 14, 255, -1, -2, Int32.min, Int32.max, 0x10_0000, 0x10_0001, 0xffff]

    static func setInt32(_ v: Int32, at offset: Int, in bytes: inout [UInt8]) {
        for (i, b) in Frame.int32(v).enumerated() where offset + i < bytes.count { bytes[offset + i] = b }
    }

    /// Fixes the message size field after a length change.
    static func fixSize(_ bytes: inout [UInt8]) {
        if bytes.count >= 14 { setInt32(Int32(bytes.count), at: 10, in: &bytes) }
    }

    /// One random mutation (sometimes two stacked) of a valid frame.
    static func mutate(_ input: [UInt8], _ rng: inout XorShift) -> [UInt8] {
        var b = input
        let rounds = rng.below(4) == 0 ? 2 : 1
        for _ in 0..<rounds {
            if b.isEmpty { b = [rng.byte()] }
            switch rng.below(12) {
            case 0:  // one bit flip
                let i = rng.below(b.count)
                b[i] ^= 1 << UInt8(rng.below(8))
            case 1:  // a few bit flips
                for _ in 0..<(1 + rng.below(4)) {
                    let i = rng.below(b.count)
                    b[i] ^= 1 << UInt8(rng.below(8))
                }
            case 2:  // random byte
                b[rng.below(b.count)] = rng.byte()
            case 3:  // interesting byte, preferably in the body
                b[rng.below(b.count)] = interestingBytes[rng.below(interestingBytes.count)]
            case 4:  // truncation, size field kept (the server waits for the rest)
                b = Array(b[0..<rng.below(b.count)])
            case 5:  // truncation, size field fixed
                b = Array(b[0..<min(b.count, max(14, rng.below(b.count)))])
                fixSize(&b)
            case 6:  // insertion
                let at = rng.below(b.count + 1)
                b.insert(contentsOf: rng.bytes(1 + rng.below(8)), at: at)
                if rng.below(2) == 0 { fixSize(&b) }
            case 7:  // deletion
                let at = rng.below(b.count)
                b.removeSubrange(at..<min(b.count, at + 1 + rng.below(6)))
                if rng.below(2) == 0 { fixSize(&b) }
            case 8:  // size field tweak
                let current = b.count >= 14 ? Int32(b.count) : 14
                let tweaks: [Int32] = [current + 1, current - 1, current + Int32(rng.below(64)), current - Int32(rng.below(20)),
                                       interestingInt32s[rng.below(interestingInt32s.count)]]
                setInt32(tweaks[rng.below(tweaks.count)], at: 10, in: &b)
            case 9:  // an inner int32 (request id, encapsulation size, count, ...) set to an edge value
                if b.count > 18 {
                    setInt32(interestingInt32s[rng.below(interestingInt32s.count)], at: 14 + rng.below(b.count - 17), in: &b)
                }
            case 10:  // an inner size byte turned into a 5-byte size
                if b.count > 15 {
                    let at = 14 + rng.below(b.count - 14)
                    b[at] = 0xff
                    b.insert(contentsOf: Frame.int32(interestingInt32s[rng.below(interestingInt32s.count)]), at: at + 1)
                    if rng.below(2) == 0 { fixSize(&b) }
                }
            default:  // header bytes 4...9 (versions, type, compression)
                if b.count > 9 {
                    b[4 + rng.below(6)] = interestingBytes[rng.below(interestingBytes.count)]
                }
            }
        }
        return b
    }
}

/// How the server's frame decoder cuts a byte string (decides whether a probe sent after it
/// can be answered).
enum Framing: Equatable {
    /// Whole, valid-looking frames: the server reads them all.
    case complete
    /// Ends inside a frame: the server waits for more bytes.
    case partial
    /// A header the server rejects: it closes the connection.
    case invalidHeader

    init(of bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let rest = ByteBuffer(bytes: bytes[offset...])
            guard rest.readableBytes >= MessageHeader.size else {
                self = .partial
                return
            }
            guard let h = try? MessageHeader.parse(rest, messageSizeMax: 1024 * 1024) else {
                self = .invalidHeader
                return
            }
            guard Int(h.messageSize) <= rest.readableBytes else {
                self = .partial
                return
            }
            offset += Int(h.messageSize)
        }
        self = .complete
    }
}

// MARK: - Tests

final class MalformedInputTests: XCTestCase {
    var server: Communicator!
    var client: Communicator!
    var calc: CalcPrx!
    var port = 0

    override func setUpWithError() throws {
        try super.setUpWithError()
        // Thousands of expected protocol errors: keep the logs to critical messages.
        let probe = try Communicator([])
        var quiet = probe.logger
        probe.destroy()
        quiet.logLevel = .critical
        server = try Communicator(["--X.Endpoints=tcp -h 127.0.0.1 -p 0"], logger: quiet)
        let adapter = try server.createObjectAdapter("X")
        try adapter.add(CalcServant(), identity: Identity(name: "calc"))
        adapter.activate()
        port = try XCTUnwrap(adapter.endpoints.first).port
        XCTAssertNotEqual(port, 0)
        client = try Communicator([], logger: quiet)
        calc = try XCTUnwrap(client.stringToProxy("calc:tcp -h 127.0.0.1 -p \(port)", as: CalcPrx.self))
        XCTAssertEqual(try calc.add(1, 2), 3)
    }

    override func tearDown() {
        client?.destroy()
        server?.destroy()
        client = nil
        server = nil
        super.tearDown()
    }

    /// Connects and reads the server's ValidateConnection.
    func connect(file: StaticString = #filePath, line: UInt = #line) throws -> RawSocket {
        let s = try RawSocket(port: port)
        let validate = s.read(exactly: 14)
        XCTAssertEqual(validate, Frame.validate, "the server validates first", file: file, line: line)
        return s
    }

    /// The well-behaved connection (through the client runtime) still works.
    func assertGoodConnection(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(try calc.add(20, 22), 42, "the good connection stopped working", file: file, line: line)
    }

    /// The server must close the connection after `payload` without sending anything
    /// (beyond the initial ValidateConnection).
    func expectSilentClose(
        _ what: String, _ payload: [UInt8], halfClose: Bool = false, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let s = try connect(file: file, line: line)
        s.send(payload)
        if halfClose { s.shutdownWrite() }
        let out = s.readFrames()
        XCTAssertTrue(out.eof, "\(what): the server kept the connection open", file: file, line: line)
        XCTAssertEqual(out.frames.map(\.hexString), [], "\(what): the server answered", file: file, line: line)
        XCTAssertEqual(out.invalid, [], "\(what): the server sent bytes", file: file, line: line)
        assertGoodConnection(file: file, line: line)
    }

    /// The server must answer `payload` with `replies` replies and keep the connection open
    /// (checked by a probe request sent right after it on the same socket).
    @discardableResult
    func expectKeptOpen(
        _ what: String, _ payload: [UInt8], replies: Int, file: StaticString = #filePath, line: UInt = #line
    ) throws -> [[UInt8]] {
        let probeId: Int32 = 0x7000_0001
        let s = try connect(file: file, line: line)
        s.send(payload + Frame.add(id: probeId, 40, 2))
        // Dispatches run concurrently: the replies may come in any order.
        func isProbe(_ f: [UInt8]) -> Bool { f.count >= 18 && Array(f[14..<18]) == Frame.int32(probeId) }
        let out = s.readFrames { frames in frames.contains(where: isProbe) && frames.count - 1 >= replies }
        XCTAssertFalse(out.eof, "\(what): the server closed the connection", file: file, line: line)
        XCTAssertFalse(out.timedOut, "\(what): no reply to the probe", file: file, line: line)
        let probe = out.frames.filter(isProbe)
        let others = out.frames.filter { !isProbe($0) }
        if let p = probe.first {
            let reply = try XCTUnwrap(Wire.decode(p).reply)
            XCTAssertEqual(reply.status, .ok, file: file, line: line)
            if case .encapsulation(let e) = reply.body {
                XCTAssertEqual(try Wire.read(e) { try $0.read(Int32.self) }.value, 42, file: file, line: line)
            }
        }
        XCTAssertEqual(others.count, replies, "\(what): replies \(others.map(\.hexString))", file: file, line: line)
        assertGoodConnection(file: file, line: line)
        return others
    }

    func status(_ frame: [UInt8]) throws -> ReplyStatus {
        try XCTUnwrap(Wire.decode(frame).reply).status
    }

    // MARK: Framing errors: fatal, nothing sent

    func testHeaderErrorsCloseTheConnection() throws {
        try expectSilentClose("bad magic", Frame.header(0, size: 14, magic: Array("XceP".utf8)))
        try expectSilentClose("magic of another protocol", Array("GET / HTTP/1.1\r\n\r\n".utf8))
        try expectSilentClose("protocol 2.0", Frame.header(3, size: 14, protocol: (2, 0)))
        try expectSilentClose("protocol 1.1", Frame.header(3, size: 14, protocol: (1, 1)))
        try expectSilentClose("header encoding 1.1", Frame.header(3, size: 14, encoding: (1, 1)))
        try expectSilentClose("header encoding 2.0", Frame.header(0, size: 14, encoding: (2, 0)))
        try expectSilentClose("size 13", Frame.header(3, size: 13))
        try expectSilentClose("size 0", Frame.header(0, size: 0))
        try expectSilentClose("size -1", Frame.header(0, size: -1))
        try expectSilentClose("size Int32.min", Frame.header(2, size: Int32.min))
        // Only the header is sent: the server must not wait for the 2 MB body.
        try expectSilentClose("size > Ice.MessageSizeMax", Frame.header(0, size: 2 * 1024 * 1024))
        try expectSilentClose("size Int32.max", Frame.header(0, size: Int32.max))
        try expectSilentClose("unknown message type 7", Frame.header(7, size: 14))
        try expectSilentClose("unknown message type 5 with a body", Frame.header(5, size: 20) + [1, 2, 3, 4, 5, 6])
        try expectSilentClose("unknown message type 255", Frame.header(255, size: 14))
    }

    func testTruncatedFramesFollowedByEOF() throws {
        let add = Frame.add(id: 1, 1, 2)
        try expectSilentClose("half a header, EOF", Array(add[0..<7]), halfClose: true)
        try expectSilentClose("header only, EOF", Array(add[0..<14]), halfClose: true)
        try expectSilentClose("header and half the body, EOF", Array(add[0..<(add.count / 2)]), halfClose: true)
        try expectSilentClose("all but one byte, EOF", Array(add.dropLast()), halfClose: true)
        try expectSilentClose("a valid frame, then half a header, EOF", Frame.ping(id: 0) + Array(add[0..<9]), halfClose: true)
    }

    func testRequestHeaderErrorsCloseTheConnection() throws {
        let ping = Frame.requestBody(operation: "ice_ping", mode: 1)
        // Identity name sizes that lie.
        try expectSilentClose("identity size beyond the frame", Frame.request(id: 1, [200] + Array(ping.dropFirst(5))))
        try expectSilentClose(
            "identity size negative (ff + negative int)",
            Frame.request(id: 1, [0xff] + Frame.int32(-2) + Array("calc".utf8) + Array(ping.dropFirst(5))))
        try expectSilentClose(
            "identity size ff + Int32.max", Frame.request(id: 1, [0xff] + Frame.int32(Int32.max) + Array(ping.dropFirst(5))))
        try expectSilentClose("identity truncated", Frame.header(0, size: 19) + Frame.int32(1) + [5])
        try expectSilentClose("request id truncated", Frame.header(0, size: 16) + [1, 0])
        // Facet, operation, mode and context.
        try expectSilentClose(
            "facet sequence with 2 elements", Frame.request(id: 1, Frame.requestBody(facet: ["a", "b"], operation: "ice_ping", mode: 1)))
        try expectSilentClose(
            "facet count beyond the frame", Frame.request(id: 1, Frame.string("calc") + [0, 0xff] + Frame.int32(1_000_000)))
        try expectSilentClose(
            "operation size beyond the frame", Frame.request(id: 1, Frame.string("calc") + [0, 0, 0x7f] + Array("ice_ping".utf8)))
        try expectSilentClose(
            "context count beyond the frame",
            Frame.request(id: 1, Frame.string("calc") + [0, 0] + Frame.string("ice_ping") + [1, 0xff] + Frame.int32(0x7fff_ffff)))
        try expectSilentClose(
            "context value size beyond the frame",
            Frame.request(id: 1, Frame.string("calc") + [0, 0] + Frame.string("ice_ping") + [1, 1] + Frame.string("k") + [0x30, 0x41]))
    }

    func testBatchErrorsCloseTheConnection() throws {
        let body = Frame.requestBody(operation: "add", params: Frame.int32(1) + Frame.int32(2))
        try expectSilentClose("batch with a negative count", Frame.batch(count: -1, [body]))
        try expectSilentClose("batch with Int32.min requests", Frame.batch(count: Int32.min, []))
        try expectSilentClose("batch count larger than its requests", Frame.batch(count: 3, [body]))
        try expectSilentClose("batch count beyond the frame", Frame.batch(count: Int32.max, [body, body]))
        try expectSilentClose("batch with bytes after its requests", Frame.batch(count: 1, [body, [1, 2, 3]]))
        try expectSilentClose(
            "batched request whose encapsulation lies",
            Frame.batch(count: 2, [Frame.requestBody(operation: "add", params: Frame.int32(1) + Frame.int32(2), encapsulationSize: 600), body]))
        try expectSilentClose("batch count truncated", Frame.header(1, size: 16) + [1, 0])
        // A well-formed batch is dispatched (no reply) and the connection stays.
        try expectKeptOpen("valid batch", Frame.batch(count: 2, [body, body]), replies: 0)
        try expectKeptOpen("empty batch", Frame.batch(count: 0, []), replies: 0)
    }

    func testGarbageAfterAValidFrame() throws {
        let s = try connect()
        s.send(Frame.add(id: 5, 2, 3) + Array("garbage, not Ice".utf8))
        let out = s.readFrames()
        XCTAssertTrue(out.eof, "the server must close after the garbage")
        XCTAssertEqual(out.invalid, [])
        // The add may or may not be answered before the close (its dispatch races the close, as
        // in Ice); if it is, the reply is valid and correct.
        XCTAssertLessThanOrEqual(out.frames.count, 1)
        for f in out.frames {
            let reply = try XCTUnwrap(Wire.decode(f).reply)
            XCTAssertEqual(reply.id, 5)
            XCTAssertEqual(reply.status, .ok)
        }
        assertGoodConnection()
        try expectSilentClose("ValidateConnection then garbage", Frame.validate + Array("this is not an Ice message".utf8))
    }

    func testCompressionErrorsCloseTheConnection() throws {
        // bzip2 only pays off for larger messages: an add with a big context.
        let add = Frame.request(id: 1, Frame.requestBody(
            operation: "add", context: [("pad", String(repeating: "pad ", count: 100))], params: Frame.int32(3) + Frame.int32(4)))
        let good = Frame.compressed(add)
        XCTAssertGreaterThan(good.count, 22)
        XCTAssertLessThan(good.count, add.count)
        XCTAssertEqual(Array(good.dropFirst(18).prefix(4)), Array("BZh1".utf8))
        // A valid compressed request is answered (small reply: not compressed, status 1).
        let replies = try expectKeptOpen("valid compressed request", good, replies: 1)
        XCTAssertEqual(replies.first?[9], 1)
        XCTAssertEqual(try replies.first.map(status), .ok)

        var corrupt = good
        for i in 26..<corrupt.count { corrupt[i] ^= 0x5a }
        try expectSilentClose("corrupt bzip2 stream", corrupt)
        try expectSilentClose(
            "junk instead of bzip2", Frame.header(0, size: 18 + 12, compression: 2) + Frame.int32(40) + Array("BZh1 nonsense".utf8.prefix(12)))
        try expectSilentClose("bzip2 stream cut short", Array(good.dropLast(8)).withSize())
        try expectSilentClose("uncompressed size smaller than the data", Frame.compressed(add, uncompressedSize: Int32(add.count - 4)))
        try expectSilentClose("uncompressed size larger than the data", Frame.compressed(add, uncompressedSize: Int32(add.count + 4)))
        try expectSilentClose("uncompressed size 14", Frame.compressed(add, uncompressedSize: 14))
        try expectSilentClose("uncompressed size 0", Frame.header(0, size: 22, compression: 2) + [0, 0, 0, 0, 0, 0, 0, 0])
        try expectSilentClose("uncompressed size negative", Frame.compressed(add, uncompressedSize: -1))
        try expectSilentClose("uncompressed size > Ice.MessageSizeMax", Frame.compressed(add, uncompressedSize: 2 * 1024 * 1024))
        try expectSilentClose("compressed message without its uncompressed size", Frame.header(0, size: 16, compression: 2) + [1, 0])
    }

    func testCloseConnectionFromTheClient() throws {
        try expectSilentClose("CloseConnection", MessageHeader.closeConnectionBytes)
        try expectSilentClose("CloseConnection with compression byte 0", Frame.header(4, size: 14))
    }

    // MARK: What Ice accepts or answers

    func testMessagesIceIgnoresKeepTheConnection() throws {
        try expectKeptOpen("ValidateConnection from the client (heartbeat)", Frame.validate, replies: 0)
        try expectKeptOpen("three heartbeats", Frame.validate + Frame.validate + Frame.validate, replies: 0)
        try expectKeptOpen("reply to an unknown request id", Frame.header(2, size: 25) + Frame.int32(9) + [0] + Frame.int32(6) + [1, 1], replies: 0)
        try expectKeptOpen("reply with a bad status", Frame.header(2, size: 19) + Frame.int32(9) + [42], replies: 0)
        try expectKeptOpen("oneway request (id 0)", Frame.add(id: 0, 1, 1), replies: 0)
        try expectKeptOpen("oneway request with bad parameters", Frame.request(id: 0, Frame.requestBody(operation: "add", params: [1])), replies: 0)
    }

    func testParameterErrorsAreAnsweredWithStatus5() throws {
        func expectStatus5(_ what: String, _ body: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws {
            let replies = try expectKeptOpen(what, Frame.request(id: 3, body), replies: 1, file: file, line: line)
            if let r = replies.first {
                let reply = try XCTUnwrap(Wire.decode(r).reply)
                XCTAssertEqual(reply.id, 3, what, file: file, line: line)
                XCTAssertEqual(reply.status, .unknownLocalException, what, file: file, line: line)
            }
        }
        let params = Frame.int32(1) + Frame.int32(2)
        // The encapsulation size lies (probe A12) or is impossible.
        try expectStatus5("encapsulation size beyond the frame", Frame.requestBody(operation: "add", params: params, encapsulationSize: 600))
        try expectStatus5("encapsulation size Int32.max", Frame.requestBody(operation: "add", params: params, encapsulationSize: Int32.max))
        try expectStatus5("encapsulation size negative", Frame.requestBody(operation: "add", params: params, encapsulationSize: -1))
        try expectStatus5("encapsulation size 5", Frame.requestBody(operation: "add", params: params, encapsulationSize: 5))
        try expectStatus5("encapsulation shorter than its data", Frame.requestBody(operation: "add", params: params, encapsulationSize: 6))
        try expectStatus5("ice_ping encapsulation size beyond the frame", Frame.requestBody(operation: "ice_ping", mode: 1, encapsulationSize: 7))
        try expectStatus5("no parameter encapsulation at all", Frame.string("calc") + [0, 0] + Frame.string("ice_ping") + [1, 0])
        try expectStatus5("encapsulation header truncated", Frame.string("calc") + [0, 0] + Frame.string("add") + [0, 0, 8, 0])
        // The parameters themselves are wrong (probes A10, A13, A14).
        try expectStatus5("params encoding 1.2", Frame.requestBody(operation: "ice_ping", mode: 1, encoding: (1, 2)))
        try expectStatus5("params encoding 2.0", Frame.requestBody(operation: "add", params: params, encoding: (2, 0)))
        try expectStatus5("truncated params", Frame.requestBody(operation: "add", params: [1, 0]))
        try expectStatus5("extra param bytes", Frame.requestBody(operation: "add", params: params + [0x99]))
        try expectStatus5("ice_isA without its string", Frame.requestBody(operation: "ice_isA", mode: 1))
        try expectStatus5("ice_isA string size lies", Frame.requestBody(operation: "ice_isA", mode: 1, params: [0xff] + Frame.int32(-7)))
        try expectStatus5("operation mode mismatch", Frame.requestBody(operation: "add", mode: 2, params: params))
        // Optional values after the parameters are skipped (encoding 1.1): tag 1, format F4.
        let optional = try expectKeptOpen(
            "add with a trailing optional", Frame.request(id: 3, Frame.requestBody(operation: "add", params: params + [0x0a, 9, 9, 9, 9])), replies: 1)
        XCTAssertEqual(try optional.first.map(status), .ok)
    }

    func testRepliesFollowTheRequest() throws {
        // Probe A11: a 1.0 request gets a 1.0 reply encapsulation.
        var replies = try expectKeptOpen("params encoding 1.0", Frame.request(id: 1, Frame.requestBody(operation: "ice_ping", mode: 1, encoding: (1, 0))), replies: 1)
        XCTAssertEqual(replies.first?.hexString, "49636550010001000200190000000100000000060000000100")
        // Probe A17: a negative request id is echoed.
        replies = try expectKeptOpen("negative request id", Frame.ping(id: -5), replies: 1)
        XCTAssertEqual(replies.first?.hexString, "4963655001000100020019000000fbffffff00060000000101")
        // Probe A18: two requests in one write, two replies.
        replies = try expectKeptOpen("two requests, one write", Frame.ping(id: 1) + Frame.ping(id: 2), replies: 2)
        XCTAssertEqual(
            Set(replies.map(\.hexString)),
            ["49636550010001000200190000000100000000060000000101", "49636550010001000200190000000200000000060000000101"])
        // Request failures: status 2, 3, 4 echo the request.
        replies = try expectKeptOpen("unknown identity", Frame.request(id: 7, Frame.requestBody(identity: "nobody", operation: "add")), replies: 1)
        XCTAssertEqual(try replies.first.map(status), .objectNotExist)
        replies = try expectKeptOpen("unknown facet", Frame.request(id: 7, Frame.requestBody(facet: ["f"], operation: "ice_ping", mode: 1)), replies: 1)
        XCTAssertEqual(try replies.first.map(status), .facetNotExist)
        replies = try expectKeptOpen("unknown operation", Frame.request(id: 7, Frame.requestBody(operation: "sub")), replies: 1)
        XCTAssertEqual(try replies.first.map(status), .operationNotExist)
    }

    // MARK: Fuzzing

    /// ≥ 10,000 mutations of valid requests, sent over TCP. The server must never crash or
    /// hang: each mutated frame is followed by a probe, and the connection either answers the
    /// probe or is closed. Whatever comes back must parse as valid Ice messages.
    func testFuzzMutatedFramesOverTCP() throws {
        let body = Frame.requestBody(operation: "add", params: Frame.int32(3) + Frame.int32(4))
        let seeds: [[UInt8]] = [
            Frame.add(id: 1, 3, 4),
            Frame.add(id: 0, 5, 6),
            Frame.batch(count: 2, [body, Frame.requestBody(operation: "add", params: Frame.int32(-1) + Frame.int32(1))]),
            Frame.request(id: 2, Frame.requestBody(operation: "ice_isA", mode: 1, params: Frame.string("::Demo::Calc"))),
            Frame.request(id: 3, Frame.requestBody(operation: "add", context: [("k", "v"), ("trace", "1")], params: Frame.int32(1) + Frame.int32(1))),
            Frame.compressed(Frame.request(id: 4, Frame.requestBody(operation: "ice_isA", mode: 1, params: Frame.string(String(repeating: "::Demo::Calc", count: 20))))),
            Frame.ping(id: 5),
        ]
        var rng = XorShift(seed: 0x1CE_F00D)
        let cases = 10_000
        var socket: RawSocket?
        var reconnects = 0
        var repliesChecked = 0
        let start = Date()
        for n in 0..<cases {
            if n % 1000 == 0 { assertGoodConnection() }
            let mutated = Mutator.mutate(seeds[rng.below(seeds.count)], &rng)
            let s: RawSocket
            if let socket {
                s = socket
            } else {
                s = try connect()
                reconnects += 1
            }
            let framing = Framing(of: mutated)
            let probeId = Int32(0x4000_0000 + n)
            let out: RawSocket.Outcome
            switch framing {
            case .complete:
                // Whole frames: the server must answer the probe after them, or close.
                s.send(mutated + Frame.ping(id: probeId))
                out = s.readFrames { frames in frames.contains { $0.count >= 18 && Array($0[14..<18]) == Frame.int32(probeId) } }
            case .partial:
                // The server waits for the rest: end the stream so it sees EOF.
                s.send(mutated)
                s.shutdownWrite()
                out = s.readFrames()
            case .invalidHeader:
                s.send(mutated)
                out = s.readFrames()
            }
            for f in out.frames {
                repliesChecked += 1
                do {
                    let d = try Wire.decode(f)
                    XCTAssertTrue(d.header.type == .reply || d.header.type == .validateConnection, "case \(n): message type \(d.header.type)")
                } catch {
                    XCTFail("case \(n): invalid reply \(f.hexString): \(error) (sent \(mutated.hexString))")
                }
            }
            XCTAssertEqual(out.invalid, [], "case \(n): invalid bytes from the server (sent \(mutated.hexString))")
            if out.timedOut {
                XCTFail("case \(n): the server neither answered nor closed (sent \(mutated.hexString), framing \(framing))")
            }
            if framing != .complete {
                XCTAssertTrue(out.eof || out.timedOut, "case \(n): the connection must end")
            }
            socket = out.eof || out.timedOut ? nil : s
        }
        assertGoodConnection()
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertGreaterThan(repliesChecked, 1000, "the fuzz should get many replies back")
        print("fuzz: \(cases) mutated frames, \(reconnects) connections, \(repliesChecked) replies checked, \(String(format: "%.1f", elapsed)) s")
    }

    /// ≥ 100,000 random and mutated inputs straight into the decoders: every failure must be a
    /// thrown `LocalException` (never a trap).
    func testFuzzDecodersInProcess() throws {
        let communicator = client!
        var messageSeeds: [[UInt8]] = [
            Frame.add(id: 1, 3, 4), Frame.batch(count: 1, [Frame.requestBody(operation: "add", params: Frame.int32(1) + Frame.int32(2))]),
            Frame.compressed(Frame.request(id: 4, Frame.requestBody(operation: "ice_isA", mode: 1, params: Frame.string(String(repeating: "x", count: 300))))),
        ]
        var encapsulationSeeds: [[UInt8]] = []
        if let names = try? VectorFile.allNames() {
            for name in names {
                for m in try VectorFile.load(name).messages {
                    messageSeeds.append(m.bytes)
                    if let d = try? Wire.decode(m.bytes), case .encapsulation(let e)? = d.reply?.body {
                        encapsulationSeeds.append(Array(e.readableBytesView))
                    }
                }
            }
        }
        // A sliced exception with an unknown most-derived slice, then RangeError; and a compact
        // RangeError slice with an optional member (tag 1, F4) and its end marker.
        var sliced = OutputStream(slicedFormat: true)
        sliced.startEncapsulation()
        sliced.startSlice(typeId: "::Demo::Derived", isLast: false)
        sliced.write(Int64(7))
        sliced.endSlice()
        DemoRangeError(reason: "r", limit: 1)._writeSlices(to: &sliced)
        sliced.endEncapsulation()
        encapsulationSeeds.append(Wire.bytes(sliced))
        let optional: [UInt8] = [0x24] + Frame.string("::Demo::RangeError") + Frame.string("r") + Frame.int32(1) + [0x0a, 1, 2, 3, 4, 0xff]
        encapsulationSeeds.append(Frame.int32(Int32(6 + optional.count)) + [1, 1] + optional)
        // An indirect proxy: identity "a", no facet, twoway, not secure, 1.0, 1.1, no endpoints, adapter id.
        let indirect = Frame.string("a") + [0, 0, 0, 0, 1, 0, 1, 1, 0] + Frame.string("adapter")
        encapsulationSeeds.append(Frame.int32(Int32(6 + indirect.count)) + [1, 1] + indirect)
        var istr = InputStream(ByteBuffer(bytes: encapsulationSeeds[encapsulationSeeds.count - 3]))
        try istr.startEncapsulation()
        XCTAssertEqual((try istr.readUserException(knownTypes: [DemoRangeError.self]) as? DemoRangeError)?.reason, "r", "unknown slices are skipped")
        istr = InputStream(ByteBuffer(bytes: encapsulationSeeds[encapsulationSeeds.count - 2]))
        try istr.startEncapsulation()
        XCTAssertEqual((try istr.readUserException(knownTypes: [DemoRangeError.self]) as? DemoRangeError)?.limit, 1, "optional members are skipped")
        try istr.endEncapsulation()
        istr = InputStream(ByteBuffer(bytes: encapsulationSeeds[encapsulationSeeds.count - 1]))
        try istr.startEncapsulation()
        XCTAssertEqual(try istr.readProxy(communicator: communicator)?.description, "a -t -e 1.1 @ adapter")
        try istr.endEncapsulation()

        var rng = XorShift(seed: 0xDEC0DE)
        var failures = 0
        func check(_ what: String, _ input: [UInt8], _ body: () throws -> Void) {
            do {
                try body()
            } catch is LocalException {
            } catch is VectorFileError where what == "message" {
                // Wire.decode's own consistency checks (size field, leftover bytes).
            } catch {
                failures += 1
                if failures <= 10 { XCTFail("\(what) threw \(type(of: error)) for \(input.hexString)") }
            }
        }
        let cases = 120_000
        for n in 0..<cases {
            let input: [UInt8]
            switch n % 4 {
            case 0: input = rng.bytes(rng.below(48))
            case 1: input = Array("IceP".utf8) + [1, 0, 1, 0] + rng.bytes(rng.below(64))
            case 2: input = Mutator.mutate(messageSeeds[rng.below(messageSeeds.count)], &rng)
            default: input = Mutator.mutate(encapsulationSeeds[rng.below(encapsulationSeeds.count)], &rng)
            }
            let buffer = ByteBuffer(bytes: input)
            let body = input.count >= 14 ? ByteBuffer(bytes: input[14...]) : buffer
            check("header", input) { _ = try MessageHeader.parse(buffer, messageSizeMax: 1024 * 1024) }
            check("message", input) { _ = try Wire.decode(input) }
            check("request", input) {
                var i = InputStream(body, encoding: .v1_0)
                _ = try i.read(Int32.self)
                _ = try RequestHeader(from: &i)
                var params = InputStream(try i.readEncapsulation())
                try params.startEncapsulation()
                _ = try params.read(String.self)
                try params.endEncapsulation()
            }
            check("user exception", input) {
                var i = InputStream(buffer)
                try i.startEncapsulation()
                _ = try i.readUserException(knownTypes: [DemoRangeError.self])
                try i.endEncapsulation()
            }
            check("proxy", input) {
                var i = InputStream(buffer)
                try i.startEncapsulation()
                _ = try i.readProxy(communicator: communicator)
                try i.endEncapsulation()
            }
            check("proxy 1.0", input) {
                var i = InputStream(body, encoding: .v1_0)
                _ = try i.readProxy(communicator: communicator)
            }
            check("containers", input) {
                var i = InputStream(body)
                _ = try Context(from: &i)
                _ = try [String](from: &i)
                _ = try [Identity](from: &i)
                _ = try i.readEnum(maxValue: 3)
                _ = try i.readByteSeq()
            }
        }
        XCTAssertEqual(failures, 0)
    }
}

extension Array where Element == UInt8 {
    /// The message with its size field set to its length.
    func withSize() -> [UInt8] {
        var b = self
        Mutator.fixSize(&b)
        return b
    }
}
