import Foundation
import Ice
import NIOCore
import XCTest

@testable import FileTransfer

/// Uploads through a real loopback server: windowed out-of-order chunks, compression, commit,
/// stat/list/read, the `upload` default servant and the proxies `open` returns.
final class ServerUploadTests: ServerTestCase {
    func testOutOfOrderWindowedUploadThenStatListRead() throws {
        let server = try startServer(workers: 3, queueLimit: 8)
        let store = try connect(server)
        let data = makeData(1_000_003, seed: 7)
        let upload = try open(store, "docs/report.bin", size: data.count)

        // Chunks in a shuffled order, up to 6 sendAsync in flight.
        var ranges = chunks(data.count, 64 * 1024)
        var generator = ServerSeededGenerator(seed: 42)
        ranges.shuffle(using: &generator)
        var window: [InvocationFuture<Void>] = []
        for range in ranges {
            window.append(try upload.sendAsync(offset: Int64(range.lowerBound), bytes: buffer(data[range])))
            if window.count == 6 { try window.removeFirst().result(timeout: .seconds(30)) }
        }
        for future in window { try future.result(timeout: .seconds(30)) }

        XCTAssertEqual(try upload.received(), [0, Int64(data.count)])
        let info = try upload.commit(checksum: standardChecksum(data))
        XCTAssertEqual(info.path, "docs/report.bin")
        XCTAssertEqual(info.size, Int64(data.count))
        XCTAssertEqual(info.checksum, standardChecksum(data))
        XCTAssertEqual(fileContents("docs/report.bin"), data)
        XCTAssertEqual(stagingFiles(), [], "the staging area is empty after commit")

        XCTAssertEqual(try store.stat(path: "docs/report.bin"), info)
        XCTAssertEqual(try store.list(dir: "docs"), [info])
        XCTAssertEqual(try store.list(dir: ""), [], "directories are not listed")
        let middle = try store.read(path: "docs/report.bin", offset: 500_000, length: 1000)
        XCTAssertEqual(Array(middle.readableBytesView), Array(data[500_000..<501_000]))
        let tail = try store.read(path: "docs/report.bin", offset: Int64(data.count - 3), length: 100)
        XCTAssertEqual(Array(tail.readableBytesView), Array(data[(data.count - 3)...]))

        // The upload object is gone once committed.
        expectError(ObjectNotExistException.self, "received after commit") { try upload.received() }
    }

    func testOpenReturnsUploadProxyInCategoryUploadWithPublishedEndpoints() throws {
        let server = try startServer(publishedEndpoints: "tcp -h files.example.com -p 4242")
        let store = try connect(server)
        let upload = try open(store, "a.txt", size: 3)
        XCTAssertEqual(upload.ice_getIdentity().category, "upload")
        XCTAssertEqual(upload.ice_getIdentity().name.count, 32)
        XCTAssertEqual(upload.ice_getEndpoints().map(\.host), ["files.example.com"])
        XCTAssertEqual(upload.ice_getEndpoints().map(\.port), [4242])

        // Reach the same upload through the real endpoint.
        let direct = try XCTUnwrap(store.ice_communicator.stringToProxy(
            "\"upload/\(upload.ice_getIdentity().name)\":\(server.endpoints)", as: UploadPrx.self))
        try direct.send(offset: 0, bytes: buffer(Array("abc".utf8)))
        XCTAssertEqual(try direct.commit(checksum: standardChecksum(Array("abc".utf8))).size, 3)
    }

    func testUnknownUploadIdIsObjectNotExist() throws {
        let server = try startServer()
        let store = try connect(server)
        let ghost = try XCTUnwrap(store.ice_communicator.stringToProxy(
            "\"upload/0123456789abcdef0123456789abcdef\":\(server.endpoints)", as: UploadPrx.self))
        let error = expectError(ObjectNotExistException.self, "send") { try ghost.send(offset: 0, bytes: buffer([1])) }
        XCTAssertEqual(error?.id, Identity(name: "0123456789abcdef0123456789abcdef", category: "upload"))
        expectError(ObjectNotExistException.self, "received") { try ghost.received() }
        expectError(ObjectNotExistException.self, "commit") { try ghost.commit(checksum: "xxh64:" + String(repeating: "0", count: 16)) }
        expectError(ObjectNotExistException.self, "abort") { try ghost.abort() }
        let other = try XCTUnwrap(store.ice_communicator.stringToProxy("nothing:\(server.endpoints)", as: StorePrx.self))
        expectError(ObjectNotExistException.self, "another identity") { try other.stat(path: "x") }
    }

    func testSendCompressedChunksAreInflatedAndWritten() throws {
        let server = try startServer()
        let store = try connect(server)
        let data = makeText(300_000)
        let upload = try open(store, "text/log.txt", size: data.count)
        var futures: [InvocationFuture<Void>] = []
        for (index, range) in chunks(data.count, 40_000).enumerated() {
            if index % 2 == 0 {
                let zlib = try deflate(data[range])
                XCTAssertLessThan(zlib.readableBytes, range.count, "the test data compresses")
                futures.append(try upload.sendCompressedAsync(offset: Int64(range.lowerBound), length: Int32(range.count), zlibData: zlib))
            } else {
                futures.append(try upload.sendAsync(offset: Int64(range.lowerBound), bytes: buffer(data[range])))
            }
        }
        for future in futures { try future.result(timeout: .seconds(30)) }
        XCTAssertEqual(try upload.commit(checksum: standardChecksum(data)).checksum, standardChecksum(data))
        XCTAssertEqual(fileContents("text/log.txt"), data)
    }

    func testTheServersIdleBuffersAreFreed() throws {
        let server = try startServer(properties: ["--Ice.BufferPool.TrimInterval=20"])
        let store = try connect(server)
        let data = makeText(300_000)
        let upload = try open(store, "idle/log.txt", size: data.count)
        try upload.sendCompressed(offset: 0, length: Int32(data.count), zlibData: deflate(data))
        XCTAssertEqual(try upload.commit(checksum: standardChecksum(data)).size, Int64(data.count))
        XCTAssertEqual(Array(buffer: try store.read(path: "idle/log.txt", offset: 0, length: 300_000)), data)
        let pools = [server.server.store.readBuffers, server.server.inflatedBuffers]
        waitUntil("the server's buffer pools are empty") { pools.allSatisfy { $0.count == 0 } }
    }

    func testBadCompressedChunksAreIntegrityErrorsAndTheUploadStaysUsable() throws {
        let server = try startServer()
        let store = try connect(server)
        let data = makeText(10_000)
        let upload = try open(store, "c.txt", size: data.count)
        let good = try deflate(data)

        var corrupt = good
        corrupt.setInteger(UInt8(0xFF), at: corrupt.readerIndex + 5)
        corrupt.setInteger(UInt8(0x00), at: corrupt.readerIndex + 9)
        let garbage = buffer(makeData(500))
        let truncated = good.getSlice(at: good.readerIndex, length: good.readableBytes - 4)!  // no adler32
        var trailing = good
        trailing.writeBytes([1, 2, 3])

        let cases: [(String, ByteBuffer, Int32)] = [
            ("corrupt stream", corrupt, Int32(data.count)),
            ("not zlib at all", garbage, Int32(data.count)),
            ("truncated stream", truncated, Int32(data.count)),
            ("empty stream", ByteBuffer(), Int32(data.count)),
            ("announced length too small", good, Int32(data.count - 1)),
            ("announced length too large", try deflate(data[0..<9_000]), Int32(data.count)),
            ("bytes after the stream", trailing, Int32(data.count)),
        ]
        for (what, zlib, length) in cases {
            let error = expectError(IntegrityError.self, what) {
                try upload.sendCompressed(offset: 0, length: length, zlibData: zlib)
            }
            XCTAssertFalse(error?.reason.isEmpty ?? true, what)
            XCTAssertTrue(error?.reason.contains("offset 0") ?? false, "\(what): \(error?.reason ?? "")")
        }
        let mismatch = expectError(IntegrityError.self) {
            try upload.sendCompressed(offset: 0, length: Int32(data.count), zlibData: deflate(data[0..<9_000]))
        }
        XCTAssertEqual(mismatch?.actual, "9000 bytes")
        XCTAssertTrue(mismatch?.reason.contains("not the announced 10000") ?? false, mismatch?.reason ?? "")
        XCTAssertEqual(try upload.received(), [], "nothing was written")

        try upload.sendCompressed(offset: 0, length: Int32(data.count), zlibData: good)
        XCTAssertEqual(try upload.commit(checksum: standardChecksum(data)).size, Int64(data.count))
        XCTAssertEqual(fileContents("c.txt"), data)
    }

    func testAbortRemovesThePartialUpload() throws {
        let server = try startServer()
        let store = try connect(server)
        let upload = try open(store, "gone.bin", size: 100)
        try upload.send(offset: 0, bytes: buffer(makeData(50)))
        XCTAssertEqual(stagingFiles().count, 2)
        try upload.abort()
        XCTAssertEqual(stagingFiles(), [])
        expectError(ObjectNotExistException.self) { try upload.received() }
        // The path is free again.
        let again = try open(store, "gone.bin", size: 1)
        try again.send(offset: 0, bytes: buffer([9]))
        XCTAssertEqual(try again.commit(checksum: standardChecksum([9])).size, 1)
    }

    func testEmptyFileAndOverwrite() throws {
        let server = try startServer()
        let store = try connect(server)
        let empty = try open(store, "empty", size: 0)
        XCTAssertEqual(try empty.commit(checksum: standardChecksum([])).size, 0)
        XCTAssertEqual(fileContents("empty"), [])

        let replacement = try open(store, "empty", size: 2, overwrite: true)
        try replacement.send(offset: 0, bytes: buffer([1, 2]))
        XCTAssertEqual(try replacement.commit(checksum: standardChecksum([1, 2])).size, 2)
        XCTAssertEqual(fileContents("empty"), [1, 2])
    }

    func testAbandonedUploadsAreCleanedAfterTheTimeout() throws {
        let server = try startServer(uploadTimeout: 5)
        XCTAssertEqual(server.server.config.cleanupInterval, 1)
        let store = try connect(server)
        let idle = try open(store, "idle.bin", size: 10)
        try idle.send(offset: 0, bytes: buffer(makeData(4)))
        XCTAssertEqual(server.server.cleanAbandonedUploads(), [], "not idle for 5 s yet")
        let removed = server.server.cleanAbandonedUploads(now: .now + .seconds(6))
        XCTAssertEqual(removed, [idle.ice_getIdentity().name])
        XCTAssertEqual(stagingFiles(), [])
        expectError(ObjectNotExistException.self) { try idle.send(offset: 4, bytes: buffer([1])) }
    }
}

/// A small deterministic generator for shuffles.
struct ServerSeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed | 1 }
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state ^ (state >> 29)
    }
}
