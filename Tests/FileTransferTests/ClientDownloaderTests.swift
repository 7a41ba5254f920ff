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
        XCTAssertEqual(got.checksum, sent.checksum)
        XCTAssertEqual(got.checksum, Checksum(of: data, algorithm: .standard))
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
        let data = randomBytes(5000)
        server.store.put("bad", data)
        let d = try downloader(chunk: 1000, window: 4)
        for fake in ["xxh64:" + String(repeating: "0", count: 16), "sha256:" + String(repeating: "0", count: 64)] {
            server.store.fakeChecksum = fake
            let algorithm = fake.hasPrefix("xxh64") ? ChecksumAlgorithm.xxh64 : .sha256
            XCTAssertThrowsError(try d.download("bad", to: temp.path + "/bad")) { error in
                guard let mismatch = error as? ChecksumMismatchError else { return XCTFail("\(error)") }
                XCTAssertEqual(mismatch.expected.description, fake)
                XCTAssertEqual(mismatch.actual, Checksum(of: data, algorithm: algorithm), "compared in the server's algorithm")
                XCTAssertTrue(mismatch.description.contains("expected \(algorithm.rawValue) 0000"), mismatch.description)
                XCTAssertEqual(ClientErrors.exitCode(for: error), .integrity)
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path + "/bad"))
            XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path + "/bad.ftpart"))
        }
    }

    /// Verified in the algorithm of stat's checksum (a server may report SHA-256, prefixed or as
    /// bare hex), reported in the one asked for.
    func testVerifiesWithTheServersAlgorithmAndReportsTheRequestedOne() throws {
        let data = randomBytes(100_001)
        server.store.put("f.bin", data)
        let sha = Checksum(of: data, algorithm: .sha256)
        let xxh = Checksum(of: data, algorithm: .standard)
        let cases: [(server: String?, requested: ChecksumAlgorithm)] = [
            (nil, .sha256), (sha.description, .standard), (sha.hex, .standard), (sha.description, .sha256),
        ]
        for (i, c) in cases.enumerated() {
            server.store.fakeChecksum = c.server
            var o = DownloadOptions()
            o.chunkSize = 7000
            o.checksum = c.requested
            let d = Downloader(store: try server.storePrx, options: o)
            let target = temp.path + "/f\(i).bin"
            let got = try runWithDeadline { try d.download("f.bin", to: target) }
            XCTAssertTrue(got.verified, "case \(i)")
            XCTAssertEqual(got.checksum, c.requested == .sha256 ? sha : xxh, "case \(i)")
            XCTAssertEqual(try temp.read("f\(i).bin"), data)
        }
    }

    /// No checksum, or one of an algorithm this client does not know: kept, but not verified.
    func testUnknownServerChecksumIsNotVerified() throws {
        let data = randomBytes(3000)
        server.store.put("u.bin", data)
        for (i, fake) in ["", "blake3:" + String(repeating: "1", count: 64)].enumerated() {
            server.store.fakeChecksum = fake
            let d = try downloader(chunk: 1000, window: 2)
            let target = temp.path + "/u\(i)"
            let got = try runWithDeadline { try d.download("u.bin", to: target) }
            XCTAssertFalse(got.verified)
            XCTAssertEqual(got.checksum, Checksum(of: data, algorithm: .standard))
            XCTAssertEqual(try temp.read("u\(i)"), data)
            XCTAssertTrue(ClientOutput.summary(got).contains("not verified"), ClientOutput.summary(got))
        }
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
