import Foundation
import NIOCore
import XCTest

@testable import FileTransfer

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Restart behaviour: a new FileStore on the same root picks up partial uploads.
final class FileStoreRecoveryTests: StorageTestCase {
    func testResumeAfterRestartContinuesFromPersistedRanges() throws {
        let chunk = 16 * 1024
        let data = makeData(20 * chunk + 77, seed: 99)
        let size = Int64(data.count)
        var written = RangeSet()
        let id: String
        do {
            // Ranges become durable every 3 chunks; the rest is lost in the "crash".
            let store = try makeStore(syncEveryBytes: Int64(3 * chunk))
            let handle = try store.open(path: "big/resume.bin", size: size, overwrite: false, resume: false)
            id = handle.id
            for index in [7, 2, 3, 11, 0, 15, 8, 9, 1, 20] {
                let start = index * chunk
                let end = min(start + chunk, data.count)
                try store.write(uploadID: handle.id, offset: Int64(start), bytes: buffer(data[start..<end]))
                written.insert(Int64(start)..<Int64(end))
            }
            XCTAssertEqual(RangeSet(flattened: try store.received(uploadID: handle.id)), written)
            // No flush: the store is dropped as if the process died.
        }

        let restarted = try makeStore()
        XCTAssertEqual(restarted.openUploads(), [UploadHandle(id: id, path: "big/resume.bin", size: size)])
        let handle = try restarted.open(path: "big/resume.bin", size: size, overwrite: false, resume: true)
        XCTAssertEqual(handle.id, id)
        XCTAssertTrue(handle.resumed)

        let persisted = try XCTUnwrap(RangeSet(flattened: try restarted.received(uploadID: id)))
        XCTAssertFalse(persisted.isEmpty)
        XCTAssertTrue(persisted.isSubset(of: written), "persisted \(persisted) claims bytes never written (\(written))")
        XCTAssertEqual(persisted.coveredBytes, Int64(9 * chunk))  // three syncs of 3 chunks each
        XCTAssertLessThan(persisted.coveredBytes, written.coveredBytes)

        // The persisted bytes really are on disk.
        let part = try XCTUnwrap(FileManager.default.contents(atPath: restarted.stagingDirectory + "/" + id + ".part"))
        for range in persisted.ranges {
            XCTAssertEqual(Array(part[Int(range.lowerBound)..<Int(range.upperBound)]), Array(data[Int(range.lowerBound)..<Int(range.upperBound)]))
        }

        // Send what is missing and commit.
        for gap in persisted.missing(in: 0..<size) {
            try restarted.write(uploadID: id, offset: gap.lowerBound, bytes: buffer(data[Int(gap.lowerBound)..<Int(gap.upperBound)]))
        }
        XCTAssertEqual(try restarted.received(uploadID: id), [0, size])
        let info = try restarted.commit(uploadID: id, checksum: standardChecksum(data))
        XCTAssertEqual(info.checksum, standardChecksum(data))
        XCTAssertEqual(fileContents("big/resume.bin"), data)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: restarted.stagingDirectory), [])
    }

    func testFlushedRangesSurviveRestartExactly() throws {
        let id: String
        do {
            let store = try makeStore()
            let handle = try store.open(path: "f", size: 1000, overwrite: true, resume: false)
            id = handle.id
            try store.write(uploadID: id, offset: 100, bytes: buffer(makeData(200)))
            try store.write(uploadID: id, offset: 600, bytes: buffer(makeData(50)))
            store.flushAll()
        }
        let restarted = try makeStore()
        XCTAssertEqual(try restarted.received(uploadID: id), [100, 300, 600, 650])
        // The upload kept its overwrite flag.
        XCTAssertEqual(UploadMetadata.read(from: restarted.stagingDirectory + "/" + id + ".meta")?.overwrite, true)
        // Without resume it is an active upload of the path.
        assertConflict(try restarted.open(path: "f", size: 1000, overwrite: true, resume: false))
    }

    func testRestartCleansUpLeftovers() throws {
        let store = try makeStore()
        let kept = try store.open(path: "kept", size: 10, overwrite: false, resume: false)
        let staging = store.stagingDirectory
        let orphanID = String(repeating: "a", count: 32)
        let lostID = String(repeating: "b", count: 32)
        let badID = String(repeating: "c", count: 32)
        // A part file without metadata (crash during open).
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: "\(staging)/\(orphanID).part"))
        // Metadata without a part file (crash right after a commit's rename).
        try UploadMetadata(id: lostID, path: "lost", size: 5, ranges: [], created: 0, overwrite: false)
            .write(inDirectory: staging)
        // Unreadable metadata.
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: "\(staging)/\(badID).meta"))
        try Data([0]).write(to: URL(fileURLWithPath: "\(staging)/\(badID).part"))
        // An interrupted metadata update.
        try Data("{}".utf8).write(to: URL(fileURLWithPath: "\(staging)/\(kept.id).meta.tmp"))

        let restarted = try makeStore()
        XCTAssertEqual(restarted.openUploads().map(\.id), [kept.id])
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: staging)), [kept.id + ".part", kept.id + ".meta"])
    }

    func testMetadataClaimingBytesOutsideTheFileIsIgnored() throws {
        let store = try makeStore()
        let handle = try store.open(path: "f", size: 10, overwrite: false, resume: false)
        try UploadMetadata(id: handle.id, path: "f", size: 10, ranges: [0, 50], created: 0, overwrite: false)
            .write(inDirectory: store.stagingDirectory)
        let restarted = try makeStore()
        XCTAssertEqual(try restarted.received(uploadID: handle.id), [])
    }

    func testUploadsIdleBeforeTheRestartStillExpire() throws {
        let staleID: String
        let freshID: String
        do {
            let store = try makeStore()
            staleID = try store.open(path: "stale", size: 10, overwrite: false, resume: false).id
            freshID = try store.open(path: "fresh", size: 10, overwrite: false, resume: false).id
            // Make the stale upload's files look two hours old.
            let twoHoursAgo = Date().addingTimeInterval(-7200)
            for suffix in [".part", ".meta"] {
                try FileManager.default.setAttributes([.modificationDate: twoHoursAgo],
                                                      ofItemAtPath: store.stagingDirectory + "/" + staleID + suffix)
            }
        }
        let restarted = try makeStore(staleAfter: .seconds(3600))
        XCTAssertEqual(Set(restarted.openUploads().map(\.id)), [staleID, freshID])
        XCTAssertEqual(restarted.cleanAbandoned(now: .now), [staleID])
        XCTAssertEqual(restarted.openUploads().map(\.id), [freshID])
        // And a new upload may take its path without resume.
        XCTAssertNoThrow(try restarted.open(path: "stale", size: 3, overwrite: false, resume: false))
    }

    func testTwoReloadedUploadsOfOnePathKeepTheNewest() throws {
        let store = try makeStore()
        let handle = try store.open(path: "dup", size: 4, overwrite: false, resume: false)
        let otherID = String(repeating: "d", count: 32)
        try Data(count: 4).write(to: URL(fileURLWithPath: store.stagingDirectory + "/" + otherID + ".part"))
        try UploadMetadata(id: otherID, path: "dup", size: 4, ranges: [0, 2], created: 1, overwrite: false)
            .write(inDirectory: store.stagingDirectory)
        let restarted = try makeStore()
        XCTAssertEqual(restarted.openUploads().map(\.id), [handle.id])  // created now > 1
        XCTAssertFalse(exists(store.stagingDirectory + "/" + otherID + ".part"))
    }
}
