import Foundation
import Ice
import NIOCore
import XCTest

@testable import FileTransfer

/// Every bad input gives its typed Slice exception, with a reason that says what to do.
final class ServerErrorTests: ServerTestCase {
    func testBadPathsArePathErrors() throws {
        let server = try startServer()
        let store = try connect(server)
        let outside = scratch + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root + "/escape", withDestinationPath: outside)

        for path in ["/etc/passwd", "../up.txt", "a/../../b", "a/..", "nul\u{0}byte", "escape/file.txt", ""] {
            let error = expectError(PathError.self, "open \(path.debugDescription)") {
                try store.open(path: path, size: 1, overwrite: false, resume: false)
            }
            XCTAssertEqual(error?.path, path, "the error names the path")
            XCTAssertFalse(error?.reason.isEmpty ?? true)
        }
        expectError(PathError.self, "stat outside") { try store.stat(path: "escape/x") }
        expectError(PathError.self, "stat missing") { try store.stat(path: "missing.txt") }
        expectError(PathError.self, "list ..") { try store.list(dir: "..") }
        expectError(PathError.self, "read absolute") { try store.read(path: "/etc/passwd", offset: 0, length: 10) }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside), [], "nothing written outside")
    }

    func testChunksOutsideTheDeclaredSizeAreRangeErrors() throws {
        let server = try startServer()
        let store = try connect(server)
        let upload = try open(store, "r.bin", size: 100)

        let beyond = expectError(RangeError.self, "beyond the size") { try upload.send(offset: 90, bytes: buffer(makeData(11))) }
        XCTAssertEqual(beyond?.offset, 90)
        XCTAssertEqual(beyond?.length, 11)
        XCTAssertEqual(beyond?.size, 100)
        XCTAssertTrue(beyond?.reason.contains("declared size") ?? false, beyond?.reason ?? "")

        let negative = expectError(RangeError.self, "negative offset") { try upload.send(offset: -1, bytes: buffer([1])) }
        XCTAssertEqual(negative?.offset, -1)
        let overflow = expectError(RangeError.self, "Int64 overflow") {
            try upload.send(offset: .max - 2, bytes: buffer(makeData(10)))
        }
        XCTAssertEqual(overflow?.offset, .max - 2)
        XCTAssertTrue(overflow?.reason.contains("overflow") ?? false, overflow?.reason ?? "")

        expectError(RangeError.self, "compressed beyond the size") {
            try upload.sendCompressed(offset: 50, length: 51, zlibData: deflate(makeData(51)))
        }
        expectError(RangeError.self, "negative length") {
            try upload.sendCompressed(offset: 0, length: -1, zlibData: deflate([1]))
        }
        expectError(RangeError.self, "negative size") { try store.open(path: "neg", size: -5, overwrite: false, resume: false) }

        // Missing bytes at commit.
        try upload.send(offset: 0, bytes: buffer(makeData(60)))
        let missing = expectError(RangeError.self, "incomplete commit") { try upload.commit(checksum: standardChecksum(makeData(100))) }
        XCTAssertEqual(missing?.offset, 60)
        XCTAssertEqual(missing?.length, 40)
        XCTAssertEqual(try upload.received(), [0, 60], "the rejected chunks wrote nothing")

        // Reading outside a committed file.
        try upload.send(offset: 60, bytes: buffer(makeData(40)))
        let data = Array(makeData(60)) + Array(makeData(40))
        _ = try upload.commit(checksum: standardChecksum(data))
        expectError(RangeError.self, "read beyond") { try store.read(path: "r.bin", offset: 101, length: 1) }
        expectError(RangeError.self, "read negative length") { try store.read(path: "r.bin", offset: 0, length: -1) }
    }

    func testOversizedCompressedChunkIsRejectedBeforeInflating() throws {
        let server = try startServer(maxChunkSize: 1024)
        let store = try connect(server)
        let upload = try open(store, "big.bin", size: 1 << 20)
        let error = expectError(RangeError.self) {
            try upload.sendCompressed(offset: 0, length: 1 << 20, zlibData: deflate([UInt8](repeating: 0, count: 1 << 20)))
        }
        XCTAssertTrue(error?.reason.contains("1024") ?? false, error?.reason ?? "")
    }

    func testExistingFilesAndConcurrentUploadsAreConflicts() throws {
        let server = try startServer()
        let store = try connect(server)
        let first = try open(store, "c.txt", size: 1)
        try first.send(offset: 0, bytes: buffer([7]))
        _ = try first.commit(checksum: standardChecksum([7]))

        let exists = expectError(ConflictError.self, "exists without overwrite") {
            try store.open(path: "c.txt", size: 1, overwrite: false, resume: false)
        }
        XCTAssertEqual(exists?.path, "c.txt")
        XCTAssertTrue(exists?.reason.contains("overwrite") ?? false, exists?.reason ?? "")

        let busy = try open(store, "busy.txt", size: 10)
        let second = expectError(ConflictError.self, "second open while uploading") {
            try store.open(path: "busy.txt", size: 10, overwrite: false, resume: false)
        }
        XCTAssertEqual(second?.path, "busy.txt")
        // Another client too.
        let otherClient = try connect(server)
        expectError(ConflictError.self, "second open from another client") {
            try otherClient.open(path: "busy.txt", size: 10, overwrite: true, resume: false)
        }
        // Resume with another size is a conflict as well; with the same size it is the same upload.
        expectError(ConflictError.self, "resume with another size") {
            try store.open(path: "busy.txt", size: 11, overwrite: false, resume: true)
        }
        let resumed = try open(store, "busy.txt", size: 10, resume: true)
        XCTAssertEqual(resumed.ice_getIdentity(), busy.ice_getIdentity())

        try FileManager.default.createDirectory(atPath: root + "/adir", withIntermediateDirectories: true)
        expectError(ConflictError.self, "a directory") { try store.open(path: "adir", size: 1, overwrite: true, resume: false) }
    }

    func testTooLargeFilesAreStorageErrors() throws {
        let limited = try startServer(maxFileSize: 1000)
        let store = try connect(limited)
        let error = expectError(StorageError.self, "above MaxFileSize") {
            try store.open(path: "big", size: 1001, overwrite: false, resume: false)
        }
        XCTAssertTrue(error?.reason.contains("1000") ?? false, error?.reason ?? "")
        XCTAssertNotNil(try store.open(path: "ok", size: 1000, overwrite: false, resume: false))

        let unlimited = try startServer(root: scratch + "/root2")
        let noSpace = expectError(StorageError.self, "more than the free space") {
            try connect(unlimited).open(path: "huge", size: Int64.max / 2, overwrite: false, resume: false)
        }
        XCTAssertTrue(noSpace?.reason.contains("free") ?? false, noSpace?.reason ?? "")
    }

    func testWrongChecksumAtCommitIsIntegrityErrorAndTheUploadCanBeFixed() throws {
        let server = try startServer()
        let store = try connect(server)
        let data = makeData(5000)
        let upload = try open(store, "i.bin", size: data.count)
        try upload.send(offset: 0, bytes: buffer(data))

        let wrongXXH = "xxh64:" + String(repeating: "ab", count: 8)
        let xxhError = expectError(IntegrityError.self, "wrong xxh64") { try upload.commit(checksum: wrongXXH) }
        XCTAssertEqual(xxhError?.expected, wrongXXH)
        XCTAssertEqual(xxhError?.actual, Checksum(of: data, algorithm: .xxh64).description)
        XCTAssertTrue(xxhError?.reason.contains("XXH64") ?? false, xxhError?.reason ?? "")

        let wrongSHA = "sha256:" + String(repeating: "ab", count: 32)
        let shaError = expectError(IntegrityError.self, "wrong sha256") { try upload.commit(checksum: wrongSHA) }
        XCTAssertEqual(shaError?.expected, wrongSHA)
        XCTAssertEqual(shaError?.actual, sha256(data))
        XCTAssertTrue(shaError?.reason.contains("SHA-256") ?? false, shaError?.reason ?? "")

        // A bare 64-hex checksum is SHA-256; the error reports it in the prefixed form.
        let bareError = expectError(IntegrityError.self, "wrong bare sha256") { try upload.commit(checksum: String(repeating: "cd", count: 32)) }
        XCTAssertEqual(bareError?.expected, "sha256:" + String(repeating: "cd", count: 32))
        XCTAssertEqual(bareError?.actual, sha256(data))

        let malformed = expectError(IntegrityError.self, "not a checksum") { try upload.commit(checksum: "xyz") }
        XCTAssertTrue(malformed?.reason.contains("\"sha256:\" followed by 64") ?? false, malformed?.reason ?? "")
        XCTAssertNil(fileContents("i.bin"), "nothing committed")
        expectError(PathError.self, "no file before a good commit") { try store.stat(path: "i.bin") }
        XCTAssertEqual(try upload.commit(checksum: standardChecksum(data).uppercased()).checksum, standardChecksum(data))
        XCTAssertEqual(fileContents("i.bin"), data)
    }

    func testCommitWithSHA256AndWithBareHexEndToEnd() throws {
        let server = try startServer()
        let store = try connect(server)
        let data = makeData(300_000, seed: 5)

        let prefixed = try open(store, "sha.bin", size: data.count)
        try prefixed.send(offset: 0, bytes: buffer(data))
        let info = try prefixed.commit(checksum: sha256(data))
        XCTAssertEqual(info.checksum, sha256(data), "commit answers in the client's algorithm")
        XCTAssertEqual(info.size, Int64(data.count))
        XCTAssertEqual(fileContents("sha.bin"), data)
        XCTAssertEqual(try store.stat(path: "sha.bin").checksum, standardChecksum(data), "stat reports XXH64")

        let bare = try open(store, "bare.bin", size: data.count)
        try bare.send(offset: 0, bytes: buffer(data))
        let bareHex = String(sha256(data).dropFirst("sha256:".count)).uppercased()
        XCTAssertEqual(try bare.commit(checksum: bareHex).checksum, sha256(data))
        XCTAssertEqual(fileContents("bare.bin"), data)
        XCTAssertEqual(try store.list(dir: "").map(\.checksum), [standardChecksum(data), standardChecksum(data)])
    }

    func testErrorsAreTheContractsTypesForAnIcePeer() throws {
        // The sliced format lets a peer that only knows TransferError read any of them.
        let server = try startServer()
        let store = try connect(server)
        let error = expectError(TransferError.self) { try store.stat(path: "../x") }
        XCTAssertTrue(error is PathError)
        XCTAssertEqual(error?.ice_id, "::FileTransfer::PathError")
    }
}
