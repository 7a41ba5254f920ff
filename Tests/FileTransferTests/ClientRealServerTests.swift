import Foundation
import Ice
import NIOCore
import XCTest

@testable import FileTransfer

/// The client against the real `FileServer` (in-process), library and executable.
final class ClientRealServerTests: RealServerTestCase {
    private func options(chunk: Int, window: Int, compression: CompressionMode = .off) -> SendOptions {
        testSendOptions(chunk: chunk, window: window, compression: compression)
    }

    func testSendAndGetWithEveryCompressionMode() throws {
        for (i, mode) in CompressionMode.allCases.enumerated() {
            let data = textBytes(300_000) + randomBytes(200_000, seed: UInt64(i + 1))
            let path = try temp.file("in\(i)", data)
            // Both checksums, against the real server's commit.
            let algorithm: ChecksumAlgorithm = i == 1 ? .sha256 : .xxh64
            var sendOptions = options(chunk: 32 * 1024, window: 6, compression: mode)
            sendOptions.checksum = algorithm
            let sender = Sender(store: try server.storePrx, options: sendOptions)
            let sent = try runWithDeadline { try sender.send(file: path, to: "modes/\(mode)") }
            XCTAssertEqual(server.file("modes/\(mode)"), data, "\(mode)")
            XCTAssertEqual(sent.info.checksum, Checksum(of: data, algorithm: algorithm).description, "\(mode)")
            XCTAssertEqual(sent.checksum, Checksum(of: data, algorithm: algorithm))
            if mode == .off { XCTAssertEqual(sent.compressedChunks, 0) } else { XCTAssertGreaterThan(sent.compressedChunks, 0) }

            var o = DownloadOptions()
            o.chunkSize = 20_000
            o.window = 4
            let d = Downloader(store: try server.storePrx, options: o)
            let target = temp.path + "/out\(i)"
            let got = try runWithDeadline { try d.download("modes/\(mode)", to: target) }
            XCTAssertEqual(try temp.read("out\(i)"), data)
            XCTAssertTrue(got.verified)
            XCTAssertEqual(got.checksum, Checksum(of: data, algorithm: .standard))
        }
    }

    /// The client's connection breaks mid-transfer (closed from the sending thread once a third
    /// is acknowledged); the sender reconnects, resumes from `received()` and commits.
    func testResumesAfterConnectionLossAgainstRealServer() throws {
        let chunk = 16 * 1024
        let data = randomBytes(chunk * 60 + 5)
        let path = try temp.file("drop", data)
        let store = try server.storePrx
        var o = options(chunk: chunk, window: 4)
        o.progressInterval = .zero
        let sender = Sender(store: store, options: o)
        let lock = NSLock()
        nonisolated(unsafe) var closed = false
        sender.onProgress = { p in
            let close = lock.withLock { () -> Bool in
                if !closed && p.bytesDone >= p.totalBytes / 3 { closed = true; return true }
                return false
            }
            if close { _ = try? store.ice_getConnection().close(.forcefully) }
        }
        let result = try runWithDeadline { try sender.send(file: path, to: "drop.bin") }
        XCTAssertTrue(lock.withLock { closed })
        XCTAssertGreaterThanOrEqual(result.reconnects, 1)
        XCTAssertEqual(server.file("drop.bin"), data)
        XCTAssertEqual(result.info.checksum, Checksum(of: data, algorithm: .standard).description)
        XCTAssertLessThan(result.sentBytes, Int64(data.count + 8 * chunk), "only the lost chunks are sent again")
    }

    func testResumeFlagAgainstRealServer() throws {
        let chunk = 8 * 1024
        let data = randomBytes(chunk * 20)
        let path = try temp.file("half", data)
        // A first run stores 8 chunks by hand, then stops (as if interrupted).
        let store = try server.storePrx
        let upload = try XCTUnwrap(try store.open(path: "half.bin", size: Int64(data.count), overwrite: false, resume: false))
        for i in 0..<8 {
            try upload.send(offset: Int64(i * chunk), bytes: ByteBuffer(bytes: data[(i * chunk)..<((i + 1) * chunk)]))
        }
        var o = options(chunk: chunk, window: 3)
        o.resume = true
        let sender = Sender(store: store, options: o)
        let result = try runWithDeadline { try sender.send(file: path, to: "half.bin") }
        XCTAssertEqual(result.resumedBytes, Int64(8 * chunk))
        XCTAssertEqual(result.chunks, 12)
        XCTAssertEqual(server.file("half.bin"), data)
    }

    /// The server publishes an address the client cannot reach (as behind a relay or a port
    /// forward): uploads still work, through the store's endpoints.
    func testUploadGoesThroughTheStoreEndpoints() throws {
        let relayed = try RealTestServer(publishedEndpoints: "tcp -h 127.0.0.1 -p 1")
        defer { relayed.destroy() }
        let store = try relayed.storePrx
        let returned = try XCTUnwrap(try store.open(path: "probe", size: 1, overwrite: false, resume: false))
        XCTAssertEqual(returned.ice_getEndpoints().first?.port, 1, "the server announces the unreachable address")
        let data = randomBytes(100_000)
        let path = try temp.file("relay", data)
        let sender = Sender(store: store, options: options(chunk: 16 * 1024, window: 4))
        let result = try runWithDeadline { try sender.send(file: path, to: "relay.bin") }
        XCTAssertEqual(result.reconnects, 0)
        XCTAssertEqual(relayed.file("relay.bin"), data)
    }

    func testExecutableAgainstRealServer() throws {
        let scratch = temp.path
        func ftclient(_ args: [String]) throws -> FTClientOutcome { try runFTClient(args, scratch: scratch) }
        let data = randomBytes(123_457)
        let local = try temp.file("real.bin", data)
        let proxy = ["--proxy", server.proxyString]
        let sent = try ftclient(["send", local, "r/real.bin", "--compress", "auto", "--json", "--chunk-size", "32KiB"] + proxy)
        XCTAssertEqual(sent.status, 0, sent.stderr)
        XCTAssertEqual(server.file("r/real.bin"), data)

        let ls = try ftclient(["ls", "r", "--json"] + proxy)
        XCTAssertEqual(ls.status, 0, ls.stderr)
        XCTAssertTrue(ls.stdout.contains("\"path\":\"r/real.bin\""), ls.stdout)

        let stat = try ftclient(["stat", "r/real.bin"] + proxy)
        XCTAssertEqual(stat.status, 0, stat.stderr)
        XCTAssertTrue(stat.stdout.contains("checksum: " + Checksum(of: data, algorithm: .standard).displayText), stat.stdout)

        let got = try ftclient(["get", "r/real.bin", temp.path + "/back.bin", "--window", "2"] + proxy)
        XCTAssertEqual(got.status, 0, got.stderr)
        XCTAssertEqual(try temp.read("back.bin"), data)

        let again = try ftclient(["send", local, "r/real.bin"] + proxy)
        XCTAssertEqual(again.status, 65, again.stderr)
        XCTAssertTrue(again.stderr.hasPrefix("ftclient: refused by server: ConflictError: "), again.stderr)
        XCTAssertTrue(again.stderr.contains("(path: r/real.bin)"), again.stderr)

        let escape = try ftclient(["send", local, "../x"] + proxy)
        XCTAssertEqual(escape.status, 65, escape.stderr)
        XCTAssertTrue(escape.stderr.hasPrefix("ftclient: refused by server: PathError: "), escape.stderr)
    }
}
