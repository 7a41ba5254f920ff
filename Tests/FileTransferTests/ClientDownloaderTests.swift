import Foundation
import Ice
import NIOCore
import XCTest

@testable import FileTransfer

final class ClientDownloaderTests: FakeStoreTestCase {
    private func downloader(chunk: Int, window: Int) throws -> Downloader {
        var o = DownloadOptions()
        o.chunkSize = chunk
        o.window = window
        o.initialBackoff = .milliseconds(10)
        return Downloader(store: try server.storePrx, options: o)
    }

    func testRoundTripThroughSendAndGet() throws {
        let data = randomBytes(777_777)
        let source = try temp.file("src", data)
        var o = SendOptions()
        o.chunkSize = 50_000
        o.window = 3
        o.compression = .auto
        let sender = Sender(store: try server.storePrx, options: o)
        let sent = try runWithDeadline { try sender.send(file: source, to: "round/trip.bin") }

        let d = try downloader(chunk: 4096, window: 5)
        let local = temp.path + "/copy.bin"
        let got = try runWithDeadline { try d.download("round/trip.bin", to: local) }
        XCTAssertEqual(try temp.read("copy.bin"), data)
        XCTAssertEqual(got.sha256, sent.sha256)
        XCTAssertTrue(got.verified)
        XCTAssertEqual(got.bytes, Int64(data.count))
        XCTAssertEqual(got.chunks, (data.count + 4095) / 4096)
        XCTAssertEqual(got.localPath, local)
        XCTAssertFalse(FileManager.default.fileExists(atPath: local + ".ftpart"))
    }

    func testIntoDirectoryAndWindowOne() throws {
        let data = textBytes(10_001)
        server.store.put("docs/readme.txt", data)
        let d = try downloader(chunk: 1000, window: 1)
        let dir = temp.path
        let got = try runWithDeadline { try d.download("docs/readme.txt", to: dir) }
        XCTAssertEqual(got.localPath, temp.path + "/readme.txt")
        XCTAssertEqual(try temp.read("readme.txt"), data)
        XCTAssertEqual(got.window, 1)
    }

    /// The connection drops mid-download (the runtime's own retries are off, so the
    /// downloader sees it): it reconnects, asks again for what was lost, and verifies.
    func testReconnectsAfterConnectionDrop() throws {
        let s = try ClientTestServer(clientProperties: ["--Ice.RetryIntervals=-1"])
        defer { s.destroy() }
        let data = randomBytes(200_000)
        s.store.put("big", data)
        let lock = NSLock()
        nonisolated(unsafe) var dropped = false
        s.store.beforeRead = { n, current in
            let drop = lock.withLock { () -> Bool in
                if n >= 10 && !dropped { dropped = true; return true }
                return false
            }
            if drop { current.connection?.close(.forcefully) }
        }
        var o = DownloadOptions()
        o.chunkSize = 5000
        o.window = 4
        o.initialBackoff = .milliseconds(5)
        let d = Downloader(store: try s.storePrx, options: o)
        let lost = NSLock()
        nonisolated(unsafe) var errors: [any Error] = []
        d.onReconnect = { _, error in lost.withLock { errors.append(error) } }
        let target = temp.path + "/big"
        let got = try runWithDeadline { try d.download("big", to: target) }
        XCTAssertEqual(try temp.read("big"), data)
        XCTAssertEqual(got.reconnects, 1)
        XCTAssertTrue(lost.withLock { errors }.allSatisfy(ClientErrors.isConnectionFailure))
        XCTAssertTrue(got.verified)
    }

    func testEmptyFile() throws {
        server.store.put("empty", [])
        let d = try downloader(chunk: 1000, window: 4)
        let target = temp.path + "/e"
        let got = try runWithDeadline { try d.download("empty", to: target) }
        XCTAssertEqual(got.bytes, 0)
        XCTAssertEqual(try temp.read("e"), [])
    }

    func testChecksumMismatchKeepsNothing() throws {
        server.store.put("bad", randomBytes(5000))
        server.store.fakeSHA256 = String(repeating: "0", count: 64)
        let d = try downloader(chunk: 1000, window: 4)
        XCTAssertThrowsError(try d.download("bad", to: temp.path + "/bad")) { error in
            XCTAssertTrue(error is ChecksumMismatchError, "\(error)")
            XCTAssertEqual(ClientErrors.exitCode(for: error), .integrity)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path + "/bad"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path + "/bad.ftpart"))
    }

    func testMissingRemoteFileAndUnwritableDestination() throws {
        let d = try downloader(chunk: 1000, window: 4)
        XCTAssertThrowsError(try d.download("nope", to: temp.path + "/nope")) { error in
            XCTAssertEqual((error as? PathError)?.path, "nope")
        }
        server.store.put("x", [1, 2, 3])
        XCTAssertThrowsError(try d.download("x", to: temp.path + "/no/such/dir/x")) { error in
            XCTAssertEqual((error as? LocalFileError)?.kind, .cannotCreate)
            XCTAssertEqual(ClientErrors.exitCode(for: error), .cannotCreate)
        }
    }
}
