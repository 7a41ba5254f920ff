import Foundation
import NIOCore
import XCTest

@testable import FileTransfer

/// `FileStore.commit` with each checksum: XXH3 (the standard one) from the running digest,
/// XXH64 and SHA-256 by reading the part file, the old bare-hex form, and what stat reports
/// afterwards.
final class FileStoreChecksumTests: StorageTestCase {
    func testCommitWithAnotherAlgorithmAnswersInItAndStatReportsXXH3() throws {
        let store = try makeStore()
        let data = makeData(FileChecksum.chunkSize + 12_345)
        for (i, (algorithm, expected)) in [(ChecksumAlgorithm.sha256, sha256(data)), (.xxh64, Checksum(of: data, algorithm: .xxh64).description)].enumerated() {
            let path = "s\(i).bin"
            let handle = try store.open(path: path, size: Int64(data.count), overwrite: false, resume: false)
            try store.write(uploadID: handle.id, offset: 0, bytes: buffer(data))
            let info = try store.commit(uploadID: handle.id, checksum: expected)
            XCTAssertEqual(info.checksum, expected, "\(algorithm)")
            XCTAssertEqual(fileContents(path), data)
            // The running XXH3 was cached at commit: stat does not hash the file again.
            XCTAssertEqual(store.checksums.count, i + 1)
            XCTAssertEqual(try store.stat(path: path).checksum, standardChecksum(data))
            XCTAssertTrue(standardChecksum(data).hasPrefix("xxh3:"))
        }
        XCTAssertEqual(try store.list(dir: "").map(\.checksum), [standardChecksum(data), standardChecksum(data)])
        XCTAssertEqual(store.checksums.count, 2)
    }

    func testBareSHA256IsStillAcceptedInEitherCase() throws {
        let store = try makeStore()
        let data = makeData(4000, seed: 3)
        for (i, text) in [bareSHA256(data), bareSHA256(data).uppercased()].enumerated() {
            let handle = try store.open(path: "bare\(i)", size: 4000, overwrite: false, resume: false)
            try store.write(uploadID: handle.id, offset: 0, bytes: buffer(data))
            XCTAssertEqual(try store.commit(uploadID: handle.id, checksum: text).checksum, sha256(data))
            XCTAssertEqual(fileContents("bare\(i)"), data)
        }
    }

    func testWrongChecksumOfEitherKindCommitsNothing() throws {
        let store = try makeStore()
        let data = makeData(10_000, seed: 4)
        let other = makeData(10_000, seed: 5)
        let handle = try store.open(path: "w.bin", size: 10_000, overwrite: false, resume: false)
        try store.write(uploadID: handle.id, offset: 0, bytes: buffer(data))

        let cases: [(given: String, expected: String, actual: String, name: String)] = [
            (standardChecksum(other), standardChecksum(other), standardChecksum(data), "XXH3"),
            (Checksum(of: other, algorithm: .xxh64).description, Checksum(of: other, algorithm: .xxh64).description,
             Checksum(of: data, algorithm: .xxh64).description, "XXH64"),
            (sha256(other), sha256(other), sha256(data), "SHA-256"),
            (bareSHA256(other), sha256(other), sha256(data), "SHA-256"),
        ]
        for c in cases {
            guard case .integrity(let reason, let expected, let actual)? = storeError(try store.commit(uploadID: handle.id, checksum: c.given)) else {
                return XCTFail("expected .integrity for \(c.given)")
            }
            XCTAssertEqual(expected, c.expected, "reported as algorithm:hex")
            XCTAssertEqual(actual, c.actual)
            XCTAssertTrue(reason.contains("has \(c.name) "), reason)
            XCTAssertFalse(exists(store.root + "/w.bin"), "nothing committed after \(c.given)")
            assertPathError(try store.stat(path: "w.bin"))
        }
        // Still open: the right checksum of either kind commits it.
        XCTAssertEqual(try store.commit(uploadID: handle.id, checksum: sha256(data)).checksum, sha256(data))
        XCTAssertEqual(fileContents("w.bin"), data)
    }

    func testStandardCommitHashesTheFileWhenTheRunningDigestIsInvalid() throws {
        let store = try makeStore()
        let data = makeData(9000, seed: 6)
        let handle = try store.open(path: "x.bin", size: 9000, overwrite: false, resume: false)
        try store.write(uploadID: handle.id, offset: 0, bytes: buffer(makeData(9000, seed: 7)))
        try store.write(uploadID: handle.id, offset: 0, bytes: buffer(data))  // a resend: digest invalid
        let partial = try XCTUnwrap(store.state.withLock { $0.uploads[handle.id] })
        XCTAssertNil(partial.digest.final(size: 9000), "the resend invalidated the running digest")
        XCTAssertEqual(try store.commit(uploadID: handle.id, checksum: standardChecksum(data)).checksum, standardChecksum(data))
        XCTAssertEqual(try store.stat(path: "x.bin").checksum, standardChecksum(data))
    }
}
