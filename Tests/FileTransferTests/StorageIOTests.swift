import Foundation
import XCTest

@testable import FileTransfer

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class StorageIOTests: StorageTestCase {
    func testDiskFullIsReportedAsAStorageError() throws {
        #if os(Linux)
        // /dev/full fails every write with ENOSPC.
        let fd = try StorageIO.openFile("/dev/full", flags: O_WRONLY)
        defer { StorageIO.closeFile(fd) }
        let bytes: [UInt8] = [1, 2, 3]
        var caught: SystemCallError?
        bytes.withUnsafeBytes { raw in
            do throws(SystemCallError) {
                try StorageIO.pwriteAll(fd, raw, at: 0, path: "/dev/full")
            } catch {
                caught = error
            }
        }
        let error = try XCTUnwrap(caught)
        XCTAssertEqual(error.code, ENOSPC)
        guard case .storage(let reason) = FileStoreError.storage(error, while: "writing 3 bytes at offset 0") else {
            return XCTFail("expected .storage")
        }
        XCTAssertTrue(reason.contains("disk space"), reason)
        XCTAssertTrue(reason.contains("writing 3 bytes at offset 0"), reason)
        #else
        throw XCTSkip("/dev/full is Linux only")
        #endif
    }

    func testErrnoMappingNamesTheProblemAndTheRemedy() {
        let cases: [(Int32, String)] = [(ENOSPC, "disk space"), (EDQUOT, "quota"), (EIO, "I/O error"), (EROFS, "read-only"), (EACCES, "errno \(EACCES)")]
        for (code, phrase) in cases {
            let error = FileStoreError.storage(SystemCallError(call: "pwrite", path: "/secret/server/path", code: code), while: "writing")
            guard case .storage(let reason) = error else { return XCTFail("expected .storage") }
            XCTAssertTrue(reason.contains(phrase), reason)
            XCTAssertFalse(reason.contains("/secret/server/path"), "server paths must not leak: \(reason)")
            XCTAssertTrue(reason.contains(";"), "a reason says what to do after the problem: \(reason)")
        }
    }

    func testSHA256Helpers() {
        XCTAssertEqual(sha256(Array("abc".utf8)), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(Checksum.lowercaseHex([0x00, 0x0f, 0xa5, 0xff]), "000fa5ff")
    }

    func testStreamingChecksumOverSeveralChunks() throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let data = makeData(FileChecksum.chunkSize * 2 + 5)
        try writeFile("f", data)
        let fd = try StorageIO.openFile(root + "/f", flags: O_RDONLY)
        defer { StorageIO.closeFile(fd) }
        XCTAssertEqual(try FileChecksum.checksum(.sha256, fd: fd, path: "f").description, sha256(data))
        XCTAssertEqual(try FileChecksum.checksum(.standard, fd: fd, path: "f").description, standardChecksum(data))
        XCTAssertEqual(
            try FileChecksum.checksums([.standard, .sha256, .xxh64], fd: fd, path: "f").map(\.description),
            [standardChecksum(data), sha256(data), Checksum(of: data, algorithm: .xxh64).description])
    }

    func testErrorDescriptions() {
        XCTAssertEqual(FileStoreError.path(reason: "bad", path: "p").description, "PathError(p): bad")
        XCTAssertEqual(FileStoreError.range(reason: "r", offset: 1, length: 2, size: 3).reason, "r")
        XCTAssertEqual(FileStoreError.integrity(reason: "i", expected: "e", actual: "a").reason, "i")
    }
}
