import Foundation
import NIOCore
import XCTest

@testable import FileTransfer

final class FileStoreConflictTests: StorageTestCase {
    func testExistingFileNeedsOverwrite() throws {
        let store = try makeStore()
        try upload(store, "doc.txt", Array("first".utf8))
        guard case .conflict(let reason, let path)? = storeError(try store.open(path: "doc.txt", size: 6, overwrite: false, resume: false)) else {
            return XCTFail("expected .conflict")
        }
        XCTAssertEqual(path, "doc.txt")
        XCTAssertTrue(reason.contains("overwrite"), reason)
        // resume does not bypass the check either.
        assertConflict(try store.open(path: "doc.txt", size: 6, overwrite: false, resume: true))

        let info = try upload(store, "doc.txt", Array("second".utf8), overwrite: true)
        XCTAssertEqual(fileContents("doc.txt"), Array("second".utf8))
        XCTAssertEqual(info.size, 6)
        XCTAssertEqual(try store.stat(path: "doc.txt").checksum, standardChecksum(Array("second".utf8)))
    }

    func testDirectoryAtThePathIsAConflictEvenWithOverwrite() throws {
        let store = try makeStore()
        try FileManager.default.createDirectory(atPath: store.root + "/folder", withIntermediateDirectories: true)
        assertConflict(try store.open(path: "folder", size: 1, overwrite: true, resume: false))
        assertConflict(try store.open(path: "folder", size: 1, overwrite: false, resume: false))
    }

    func testSecondOpenOfAnActiveUploadIsAConflict() throws {
        let store = try makeStore()
        let first = try store.open(path: "shared.bin", size: 100, overwrite: false, resume: false)
        assertConflict(try store.open(path: "shared.bin", size: 100, overwrite: false, resume: false))
        assertConflict(try store.open(path: "./shared.bin", size: 100, overwrite: true, resume: false))
        // Another path is independent.
        XCTAssertNotEqual(try store.open(path: "other.bin", size: 100, overwrite: false, resume: false).id, first.id)
    }

    func testSameFileThroughASymlinkedDirectoryIsTheSameUpload() throws {
        let store = try makeStore()
        try FileManager.default.createDirectory(atPath: store.root + "/real", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: store.root + "/alias", withDestinationPath: "real")
        let first = try store.open(path: "real/f", size: 10, overwrite: false, resume: false)
        assertConflict(try store.open(path: "alias/f", size: 10, overwrite: false, resume: false))
        XCTAssertEqual(try store.open(path: "alias/f", size: 10, overwrite: false, resume: true).id, first.id)
    }

    func testResumeContinuesTheSamePartialUpload() throws {
        let store = try makeStore()
        let data = makeData(1000)
        let first = try store.open(path: "resumable", size: 1000, overwrite: false, resume: false)
        try store.write(uploadID: first.id, offset: 0, bytes: buffer(data[0..<400]))

        let resumed = try store.open(path: "resumable", size: 1000, overwrite: false, resume: true)
        XCTAssertEqual(resumed.id, first.id)
        XCTAssertTrue(resumed.resumed)
        XCTAssertEqual(try store.received(uploadID: resumed.id), [0, 400])
        try store.write(uploadID: resumed.id, offset: 400, bytes: buffer(data[400...]))
        XCTAssertEqual(try store.commit(uploadID: resumed.id, checksum: standardChecksum(data)).size, 1000)
        XCTAssertEqual(fileContents("resumable"), data)
    }

    func testResumeWithAnotherSizeIsAConflict() throws {
        let store = try makeStore()
        let first = try store.open(path: "f", size: 1000, overwrite: false, resume: false)
        try store.write(uploadID: first.id, offset: 0, bytes: buffer([1, 2, 3]))
        guard case .conflict(let reason, _)? = storeError(try store.open(path: "f", size: 999, overwrite: false, resume: true)) else {
            return XCTFail("expected .conflict")
        }
        XCTAssertTrue(reason.contains("1000"), reason)
        XCTAssertEqual(try store.received(uploadID: first.id), [0, 3])  // untouched
    }

    func testResumeWithoutAPartialUploadStartsFresh() throws {
        let store = try makeStore()
        let handle = try store.open(path: "new", size: 5, overwrite: false, resume: true)
        XCTAssertFalse(handle.resumed)
        XCTAssertEqual(try store.received(uploadID: handle.id), [])
    }

    func testStaleUploadIsReplacedByANewOpen() throws {
        let store = try makeStore(staleAfter: .zero)  // everything idle is stale at once
        let old = try store.open(path: "f", size: 10, overwrite: false, resume: false)
        try store.write(uploadID: old.id, offset: 0, bytes: buffer([1]))
        let new = try store.open(path: "f", size: 20, overwrite: false, resume: false)
        XCTAssertNotEqual(new.id, old.id)
        assertConflict(try store.received(uploadID: old.id))
        XCTAssertEqual(try store.received(uploadID: new.id), [])
        let names = try FileManager.default.contentsOfDirectory(atPath: store.stagingDirectory)
        XCTAssertEqual(Set(names), [new.id + ".part", new.id + ".meta"])
    }

    func testFileAppearingDuringTheUploadIsDetectedAtCommit() throws {
        let store = try makeStore()
        let data = makeData(64)
        let slow = try store.open(path: "race.txt", size: 64, overwrite: false, resume: false)
        try store.write(uploadID: slow.id, offset: 0, bytes: buffer(data))
        try writeFile("race.txt", Array("someone else".utf8))

        assertConflict(try store.commit(uploadID: slow.id, checksum: standardChecksum(data)))
        XCTAssertEqual(fileContents("race.txt"), Array("someone else".utf8))  // untouched

        // Resuming with overwrite keeps the data and replaces the file.
        let again = try store.open(path: "race.txt", size: 64, overwrite: true, resume: true)
        XCTAssertEqual(again.id, slow.id)
        XCTAssertEqual(try store.commit(uploadID: again.id, checksum: standardChecksum(data)).size, 64)
        XCTAssertEqual(fileContents("race.txt"), data)
    }

    func testConcurrentCommitsOfOneUpload() throws {
        let store = try makeStore()
        let data = makeData(2 << 20)
        let handle = try store.open(path: "once", size: Int64(data.count), overwrite: false, resume: false)
        try store.write(uploadID: handle.id, offset: 0, bytes: buffer(data))
        let expected = standardChecksum(data)
        let successes = StorageTestResults<FileInfo>()
        let failures = StorageTestResults<FileStoreError>()
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            do {
                successes.append(try store.commit(uploadID: handle.id, checksum: expected))
            } catch let error as FileStoreError {
                failures.append(error)
            } catch {
                XCTFail("unexpected \(error)")
            }
        }
        XCTAssertEqual(successes.all.count, 1)
        XCTAssertEqual(failures.all.count, 3)
        for failure in failures.all {
            guard case .conflict = failure else { return XCTFail("expected .conflict, got \(failure)") }
        }
        XCTAssertEqual(fileContents("once"), data)
    }

    func testUnknownUploadIDIsAConflict() throws {
        let store = try makeStore()
        assertConflict(try store.write(uploadID: "nope", offset: 0, bytes: buffer([1])))
        assertConflict(try store.received(uploadID: "nope"))
        assertConflict(try store.commit(uploadID: "nope", checksum: standardChecksum([])))
        assertConflict(try store.flush(uploadID: "nope"))
    }
}
