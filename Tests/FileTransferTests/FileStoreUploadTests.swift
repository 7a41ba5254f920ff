import Foundation
import NIOCore
import XCTest

@testable import FileTransfer

final class FileStoreUploadTests: StorageTestCase {
    func testInitCreatesRootAndHiddenStagingArea() throws {
        XCTAssertFalse(exists(root))
        let store = try makeStore()
        var isDirectory: ObjCBool = false
        XCTAssertTrue(FileManager.default.fileExists(atPath: store.root, isDirectory: &isDirectory) && isDirectory.boolValue)
        XCTAssertTrue(FileManager.default.fileExists(atPath: store.root + "/.floe-staging", isDirectory: &isDirectory) && isDirectory.boolValue)
        XCTAssertEqual(store.stagingDirectory, store.root + "/.floe-staging")
        XCTAssertEqual(try store.list(dir: ""), [])
    }

    func testConcurrentOutOfOrderWritesFromFourThreads() throws {
        let store = try makeStore()
        let chunkSize = 64 * 1024
        let size = 64 * chunkSize - 123  // last chunk is short
        let data = makeData(size, seed: 42)
        let handle = try store.open(path: "dir/sub/big.bin", size: Int64(size), overwrite: false, resume: false)
        XCTAssertEqual(handle.path, "dir/sub/big.bin")
        XCTAssertEqual(handle.size, Int64(size))
        XCTAssertFalse(handle.resumed)

        // 64 chunks in a scrambled order, dealt round-robin to 4 threads.
        var generator = StorageTestRandom(seed: 7)
        let order = Array(0..<64).shuffled(using: &generator)
        let errors = StorageTestResults<Error>()
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for (position, chunk) in order.enumerated() where position % 4 == thread {
                let start = chunk * chunkSize
                let end = min(start + chunkSize, size)
                do {
                    try store.write(uploadID: handle.id, offset: Int64(start), bytes: ByteBuffer(bytes: data[start..<end]))
                } catch {
                    errors.append(error)
                }
            }
        }
        XCTAssertEqual(errors.all.count, 0, "\(errors.all)")
        XCTAssertEqual(try store.received(uploadID: handle.id), [0, Int64(size)])

        // Not visible under its final name before commit.
        XCTAssertFalse(exists(store.root + "/dir/sub/big.bin"))

        let info = try store.commit(uploadID: handle.id, checksum: standardChecksum(data))
        XCTAssertEqual(info.path, "dir/sub/big.bin")
        XCTAssertEqual(info.size, Int64(size))
        XCTAssertEqual(info.checksum, standardChecksum(data))
        XCTAssertEqual(fileContents("dir/sub/big.bin"), data)
        XCTAssertEqual(try store.stat(path: "dir/sub/big.bin"), info)
        XCTAssertEqual(try stagingNames(store), [])
    }

    func testWriteDoesNotConsumeTheBuffer() throws {
        let store = try makeStore()
        let handle = try store.open(path: "f", size: 10, overwrite: false, resume: false)
        var bytes = ByteBuffer(bytes: [9, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
        bytes.moveReaderIndex(forwardBy: 2)  // only the readable bytes are written
        try store.write(uploadID: handle.id, offset: 0, bytes: bytes)
        XCTAssertEqual(bytes.readableBytes, 10)
        let info = try store.commit(uploadID: handle.id, checksum: standardChecksum(Array(0...9)))
        XCTAssertEqual(info.size, 10)
        XCTAssertEqual(fileContents("f"), Array(0...9))
    }

    func testOverlappingAndRepeatedWritesAreFine() throws {
        let store = try makeStore()
        let data = makeData(1000)
        let handle = try store.open(path: "f", size: 1000, overwrite: false, resume: false)
        try store.write(uploadID: handle.id, offset: 0, bytes: buffer(data[0..<600]))
        try store.write(uploadID: handle.id, offset: 400, bytes: buffer(data[400..<1000]))
        try store.write(uploadID: handle.id, offset: 100, bytes: buffer(data[100..<200]))
        try store.write(uploadID: handle.id, offset: 1000, bytes: buffer([]))  // empty at the end: allowed
        XCTAssertEqual(try store.received(uploadID: handle.id), [0, 1000])
        XCTAssertEqual(try store.commit(uploadID: handle.id, checksum: standardChecksum(data)).checksum, standardChecksum(data))
    }

    func testChecksumIsComparedCaseInsensitively() throws {
        let store = try makeStore()
        let data = makeData(5000)
        let handle = try store.open(path: "upper", size: 5000, overwrite: false, resume: false)
        try store.write(uploadID: handle.id, offset: 0, bytes: buffer(data))
        let info = try store.commit(uploadID: handle.id, checksum: standardChecksum(data).uppercased())
        XCTAssertEqual(info.checksum, standardChecksum(data))  // reported lowercase
    }

    func testChecksumMismatchKeepsTheUploadForAnotherTry() throws {
        let store = try makeStore()
        let data = makeData(3000)
        var corrupted = data
        corrupted[1500] ^= 0xff
        let handle = try store.open(path: "file.bin", size: 3000, overwrite: false, resume: false)
        try store.write(uploadID: handle.id, offset: 0, bytes: buffer(corrupted))

        let error = storeError(try store.commit(uploadID: handle.id, checksum: standardChecksum(data)))
        guard case .integrity(let reason, let expected, let actual)? = error else {
            return XCTFail("expected .integrity, got \(String(describing: error))")
        }
        XCTAssertEqual(expected, standardChecksum(data))
        XCTAssertEqual(actual, standardChecksum(corrupted))
        XCTAssertTrue(reason.contains("XXH3 " + actual.dropFirst("xxh3:".count)), reason)
        XCTAssertFalse(exists(store.root + "/file.bin"))
        assertPathError(try store.stat(path: "file.bin"))

        // The upload is still open: resend the bad chunk and commit again.
        XCTAssertEqual(try store.received(uploadID: handle.id), [0, 3000])
        try store.write(uploadID: handle.id, offset: 1000, bytes: buffer(data[1000..<2000]))
        let info = try store.commit(uploadID: handle.id, checksum: standardChecksum(data))
        XCTAssertEqual(info.checksum, standardChecksum(data))
        XCTAssertEqual(fileContents("file.bin"), data)
    }

    func testMalformedExpectedChecksumIsAnIntegrityError() throws {
        let store = try makeStore()
        let handle = try store.open(path: "f", size: 1, overwrite: false, resume: false)
        try store.write(uploadID: handle.id, offset: 0, bytes: buffer([1]))
        let malformed = [
            "", "abc", String(repeating: "g", count: 64), String(repeating: "a", count: 65),
            String(repeating: "a", count: 16),  // a bare XXH64: only a bare SHA-256 is accepted
            "xxh64:" + String(repeating: "a", count: 15), "xxh64:" + String(repeating: "a", count: 64),
            "sha256:" + String(repeating: "a", count: 16), "md5:" + String(repeating: "a", count: 32), "xxh64:",
        ]
        for bad in malformed {
            guard case .integrity(let reason, let expected, let actual)? = storeError(try store.commit(uploadID: handle.id, checksum: bad)) else {
                return XCTFail("expected .integrity for \(bad)")
            }
            XCTAssertEqual(expected, bad)
            XCTAssertEqual(actual, "")
            XCTAssertTrue(reason.contains("not in an accepted format"), reason)
            XCTAssertTrue(reason.contains("\"xxh64:\" followed by 16 hexadecimal digits"), reason)
        }
        XCTAssertNoThrow(try store.commit(uploadID: handle.id, checksum: standardChecksum([1])))
    }

    func testCommitWithAMissingRangeNamesTheFirstGap() throws {
        let store = try makeStore()
        let data = makeData(300)
        let handle = try store.open(path: "holes", size: 300, overwrite: false, resume: false)
        try store.write(uploadID: handle.id, offset: 0, bytes: buffer(data[0..<100]))
        try store.write(uploadID: handle.id, offset: 200, bytes: buffer(data[200..<250]))
        XCTAssertEqual(try store.received(uploadID: handle.id), [0, 100, 200, 250])

        let error = storeError(try store.commit(uploadID: handle.id, checksum: standardChecksum(data)))
        guard case .range(let reason, let offset, let length, let size)? = error else {
            return XCTFail("expected .range, got \(String(describing: error))")
        }
        XCTAssertEqual(offset, 100)
        XCTAssertEqual(length, 100)
        XCTAssertEqual(size, 300)
        XCTAssertTrue(reason.contains("[100, 200)"), reason)
        XCTAssertFalse(exists(store.root + "/holes"))

        // Fill the first gap: the error now names the second one.
        try store.write(uploadID: handle.id, offset: 100, bytes: buffer(data[100..<200]))
        let second = assertRangeError(try store.commit(uploadID: handle.id, checksum: standardChecksum(data)))
        XCTAssertEqual(second?.offset, 250)
        XCTAssertEqual(second?.length, 50)

        try store.write(uploadID: handle.id, offset: 250, bytes: buffer(data[250..<300]))
        XCTAssertEqual(try store.commit(uploadID: handle.id, checksum: standardChecksum(data)).size, 300)
    }

    func testFinalNameAppearsOnlyAtCommit() throws {
        let store = try makeStore()
        let data = makeData(10_000)
        let handle = try store.open(path: "atomic/file.dat", size: 10_000, overwrite: false, resume: false)
        try store.write(uploadID: handle.id, offset: 0, bytes: buffer(data))
        try store.flush(uploadID: handle.id)

        // Complete and durable, but not committed: nothing under the final name,
        // the parent directory is not even created, listings show nothing.
        XCTAssertFalse(exists(store.root + "/atomic/file.dat"))
        XCTAssertFalse(exists(store.root + "/atomic"))
        assertPathError(try store.stat(path: "atomic/file.dat"))
        assertPathError(try store.read(path: "atomic/file.dat", offset: 0, length: 10))
        XCTAssertEqual(try store.list(dir: ""), [])
        // The data lives in the staging area under the upload's id.
        XCTAssertEqual(Set(try stagingNames(store)), [handle.id + ".part", handle.id + ".meta"])

        let info = try store.commit(uploadID: handle.id, checksum: standardChecksum(data))
        XCTAssertEqual(fileContents("atomic/file.dat"), data)
        XCTAssertEqual(try store.list(dir: "atomic"), [info])
        XCTAssertEqual(try stagingNames(store), [])
    }

    func testEmptyFile() throws {
        let store = try makeStore()
        let handle = try store.open(path: "empty", size: 0, overwrite: false, resume: false)
        XCTAssertEqual(try store.received(uploadID: handle.id), [])
        let info = try store.commit(uploadID: handle.id, checksum: standardChecksum([]))
        XCTAssertEqual(info.size, 0)
        XCTAssertEqual(info.checksum, "xxh3:2d06800538d394c2")
        XCTAssertEqual(try store.stat(path: "empty").checksum, "xxh3:2d06800538d394c2")
        let emptySHA = try store.open(path: "empty-sha", size: 0, overwrite: false, resume: false)
        XCTAssertEqual(try store.commit(uploadID: emptySHA.id, checksum: sha256([])).checksum,
                       "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(fileContents("empty"), [])
    }

    func testUploadIsClosedAfterCommitAndAbort() throws {
        let store = try makeStore()
        let committed = try store.open(path: "a", size: 1, overwrite: false, resume: false)
        try store.write(uploadID: committed.id, offset: 0, bytes: buffer([7]))
        _ = try store.commit(uploadID: committed.id, checksum: standardChecksum([7]))
        assertConflict(try store.write(uploadID: committed.id, offset: 0, bytes: buffer([7])))
        assertConflict(try store.commit(uploadID: committed.id, checksum: standardChecksum([7])))
        assertConflict(try store.received(uploadID: committed.id))
        XCTAssertNoThrow(try store.abort(uploadID: committed.id))  // idempotent: nothing to do
        XCTAssertEqual(fileContents("a"), [7])

        let aborted = try store.open(path: "b", size: 4, overwrite: false, resume: false)
        try store.write(uploadID: aborted.id, offset: 0, bytes: buffer([1, 2]))
        XCTAssertEqual(try stagingNames(store).count, 2)
        try store.abort(uploadID: aborted.id)
        XCTAssertEqual(try stagingNames(store), [])
        XCTAssertNoThrow(try store.abort(uploadID: aborted.id))
        XCTAssertNoThrow(try store.abort(uploadID: "no-such-upload"))
        assertConflict(try store.write(uploadID: aborted.id, offset: 2, bytes: buffer([3, 4])))
        assertConflict(try store.received(uploadID: aborted.id))
        XCTAssertFalse(exists(store.root + "/b"))
        XCTAssertEqual(store.openUploads(), [])
    }

    func testAbortWhileWritesAreRunning() throws {
        let store = try makeStore()
        let chunk = 32 * 1024
        let handle = try store.open(path: "racy", size: Int64(chunk * 256), overwrite: false, resume: false)
        let data = makeData(chunk)
        let outcomes = StorageTestResults<Bool>()
        let unexpected = StorageTestResults<Error>()
        let firstWriteDone = DispatchSemaphore(value: 0)
        let writers = DispatchGroup()
        for thread in 0..<2 {
            DispatchQueue.global().async(group: writers) {
                for index in stride(from: thread, to: 256, by: 2) {
                    do {
                        try store.write(uploadID: handle.id, offset: Int64(index * chunk), bytes: ByteBuffer(bytes: data))
                        outcomes.append(true)
                    } catch FileStoreError.conflict {
                        outcomes.append(false)
                    } catch {
                        unexpected.append(error)
                    }
                    if index == 0 { firstWriteDone.signal() }
                }
            }
        }
        firstWriteDone.wait()
        try store.abort(uploadID: handle.id)
        writers.wait()

        XCTAssertEqual(unexpected.all.count, 0, "\(unexpected.all)")
        XCTAssertEqual(outcomes.all.count, 256)
        XCTAssertTrue(outcomes.all.contains(true))
        // Everything after the abort failed; nothing is left behind.
        assertConflict(try store.received(uploadID: handle.id))
        assertConflict(try store.write(uploadID: handle.id, offset: 0, bytes: buffer(data)))
        XCTAssertEqual(try stagingNames(store), [])
        XCTAssertFalse(exists(store.root + "/racy"))
    }

    func testDurableRangesFollowSyncsAndFlush() throws {
        let chunk = 4096
        let store = try makeStore(syncEveryBytes: Int64(3 * chunk))
        let data = makeData(10 * chunk)
        let handle = try store.open(path: "durable", size: Int64(data.count), overwrite: false, resume: false)
        let metaPath = store.stagingDirectory + "/" + handle.id + ".meta"
        XCTAssertEqual(UploadMetadata.read(from: metaPath)?.ranges, [])
        XCTAssertEqual(UploadMetadata.read(from: metaPath)?.path, "durable")
        XCTAssertEqual(UploadMetadata.read(from: metaPath)?.size, Int64(data.count))

        for index in [9, 0, 4, 5] {
            let start = index * chunk
            try store.write(uploadID: handle.id, offset: Int64(start), bytes: buffer(data[start..<start + chunk]))
        }
        // The third write crossed 3 chunks: its ranges (and those before) were persisted.
        let persisted = RangeSet(flattened: UploadMetadata.read(from: metaPath)?.ranges ?? [])
        let received = RangeSet(flattened: try store.received(uploadID: handle.id))
        XCTAssertEqual(received, RangeSet([0..<Int64(chunk), Int64(4 * chunk)..<Int64(6 * chunk), Int64(9 * chunk)..<Int64(10 * chunk)]))
        XCTAssertEqual(persisted?.coveredBytes, Int64(3 * chunk))
        XCTAssertTrue(persisted?.isSubset(of: received ?? RangeSet()) ?? false)

        try store.flush(uploadID: handle.id)
        XCTAssertEqual(UploadMetadata.read(from: metaPath)?.ranges, try store.received(uploadID: handle.id))
        XCTAssertEqual(try stagingNames(store).filter { $0.hasSuffix(".tmp") }, [])
    }

    func testEveryWriteSyncsWithAZeroInterval() throws {
        let store = try makeStore(syncInterval: .zero)
        let handle = try store.open(path: "f", size: 100, overwrite: false, resume: false)
        let metaPath = store.stagingDirectory + "/" + handle.id + ".meta"
        try store.write(uploadID: handle.id, offset: 50, bytes: buffer(makeData(10)))
        XCTAssertEqual(UploadMetadata.read(from: metaPath)?.ranges, [50, 60])
        try store.write(uploadID: handle.id, offset: 0, bytes: buffer(makeData(10)))
        XCTAssertEqual(UploadMetadata.read(from: metaPath)?.ranges, [0, 10, 50, 60])
    }

    func testPartFileIsCreatedAtTheDeclaredSize() throws {
        let store = try makeStore()
        let handle = try store.open(path: "sized", size: 123_456, overwrite: false, resume: false)
        let attributes = try FileManager.default.attributesOfItem(atPath: store.stagingDirectory + "/" + handle.id + ".part")
        XCTAssertEqual((attributes[.size] as? NSNumber)?.int64Value, 123_456)
    }

    func testCleanAbandonedRemovesOnlyIdleUploads() throws {
        let store = try makeStore(staleAfter: .seconds(3600))
        let idle = try store.open(path: "idle", size: 10, overwrite: false, resume: false)
        try store.write(uploadID: idle.id, offset: 0, bytes: buffer([1, 2, 3]))
        let start = ContinuousClock.now

        XCTAssertEqual(store.cleanAbandoned(now: start), [])
        XCTAssertEqual(store.cleanAbandoned(now: start + .seconds(1800)), [])
        XCTAssertEqual(try store.received(uploadID: idle.id), [0, 3])

        let later = start + .seconds(3601)
        XCTAssertEqual(store.cleanAbandoned(now: later), [idle.id])
        assertConflict(try store.received(uploadID: idle.id))
        assertConflict(try store.write(uploadID: idle.id, offset: 3, bytes: buffer([4])))
        XCTAssertEqual(try stagingNames(store), [])
        XCTAssertEqual(store.cleanAbandoned(now: later), [])
    }

    func testActivityPostponesCleanup() throws {
        let store = try makeStore(staleAfter: .seconds(3600))
        let handle = try store.open(path: "busy", size: 10, overwrite: false, resume: false)
        let opened = ContinuousClock.now
        try store.write(uploadID: handle.id, offset: 0, bytes: buffer([1]))
        let touched = ContinuousClock.now
        XCTAssertEqual(store.cleanAbandoned(now: touched + .seconds(3599)), [])
        XCTAssertEqual(store.cleanAbandoned(now: touched + .seconds(3601)), [handle.id])
        XCTAssertLessThan(opened, touched + .seconds(3601))
    }

    /// Names in the staging area.
    func stagingNames(_ store: FileStore) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: store.stagingDirectory).sorted()
    }
}

/// A small seeded generator for reproducible shuffles.
struct StorageTestRandom: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
