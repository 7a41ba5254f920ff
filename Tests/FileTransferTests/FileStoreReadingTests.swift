import Foundation
import NIOCore
import XCTest

@testable import FileTransfer

final class FileStoreReadingTests: StorageTestCase {
    func testStatReportsSizeChecksumAndModificationTime() throws {
        let store = try makeStore()
        let data = makeData(12_345)
        let before = Int64(Date().timeIntervalSince1970) - 1
        let committed = try upload(store, "docs/report.pdf", data)
        let info = try store.stat(path: "docs/report.pdf")
        XCTAssertEqual(info, committed)
        XCTAssertEqual(info.path, "docs/report.pdf")
        XCTAssertEqual(info.size, 12_345)
        XCTAssertEqual(info.checksum, standardChecksum(data))
        XCTAssertGreaterThanOrEqual(info.modified, before)
        XCTAssertLessThanOrEqual(info.modified, Int64(Date().timeIntervalSince1970) + 1)
        XCTAssertEqual(try store.stat(path: "./docs//report.pdf").path, "docs/report.pdf")
    }

    func testStatOfFilesPlacedByOtherMeans() throws {
        let store = try makeStore()
        let data = makeData(3 << 20)  // more than one hashing chunk
        try writeFile("external.bin", data)
        XCTAssertEqual(try store.stat(path: "external.bin").checksum, standardChecksum(data))
        // Changing the content changes the checksum (cache keyed by inode/size/times).
        var changed = data
        changed[0] ^= 1
        try writeFile("external.bin", changed)
        XCTAssertEqual(try store.stat(path: "external.bin").checksum, standardChecksum(changed))
    }

    func testStatErrors() throws {
        let store = try makeStore()
        try FileManager.default.createDirectory(atPath: store.root + "/dir", withIntermediateDirectories: true)
        guard case .path(let reason, let path)? = storeError(try store.stat(path: "missing.txt")) else {
            return XCTFail("expected .path")
        }
        XCTAssertEqual(path, "missing.txt")
        XCTAssertTrue(reason.contains("no such file"), reason)
        assertPathError(try store.stat(path: "dir"))
        assertPathError(try store.stat(path: "dir/missing"))
        assertPathError(try store.stat(path: "missing-dir/x"))
    }

    func testListShowsFilesDirectlyInTheDirectorySortedByName() throws {
        let store = try makeStore()
        let b = try upload(store, "b.txt", Array("bee".utf8))
        let a = try upload(store, "a.txt", Array("a".utf8))
        let upper = try upload(store, "Z.txt", Array("zed".utf8))
        let nested = try upload(store, "sub/inner.txt", Array("inner".utf8))
        try writeFile("sub/deeper/x", [1])
        try FileManager.default.createSymbolicLink(atPath: store.root + "/link.txt", withDestinationPath: "a.txt")
        let open = try store.open(path: "pending.txt", size: 10, overwrite: false, resume: false)
        try store.write(uploadID: open.id, offset: 0, bytes: buffer(makeData(10)))

        let rootListing = try store.list(dir: "")
        XCTAssertEqual(rootListing, [upper, a, b])  // byte order: "Z" < "a"
        XCTAssertEqual(try store.list(dir: "."), rootListing)
        XCTAssertEqual(try store.list(dir: "./"), rootListing)
        XCTAssertEqual(try store.list(dir: "sub"), [nested])
        XCTAssertEqual(try store.list(dir: "sub/"), [nested])
        XCTAssertEqual(try store.list(dir: "sub/deeper").map(\.path), ["sub/deeper/x"])
        XCTAssertEqual(try store.list(dir: "sub/deeper").first?.checksum, standardChecksum([1]))
    }

    func testListErrors() throws {
        let store = try makeStore()
        try upload(store, "file", [1])
        assertPathError(try store.list(dir: "missing"))
        assertPathError(try store.list(dir: "file"))
        assertPathError(try store.list(dir: "/"))
        assertPathError(try store.list(dir: ".."))
    }

    func testListCachesChecksums() throws {
        let store = try makeStore()
        let data = makeData(100_000)
        try writeFile("one", data)
        try writeFile("two", Array(data.reversed()))
        XCTAssertEqual(store.checksums.count, 0)
        let first = try store.list(dir: "")
        XCTAssertEqual(store.checksums.count, 2)
        XCTAssertEqual(try store.list(dir: ""), first)
        XCTAssertEqual(store.checksums.count, 2)
        XCTAssertEqual(first.map(\.checksum), [standardChecksum(data), standardChecksum(Array(data.reversed()))])
    }

    func testReadReturnsTheRequestedBytes() throws {
        let store = try makeStore()
        let data = makeData(10_000)
        try upload(store, "r.bin", data)

        XCTAssertEqual(Array(buffer: try store.read(path: "r.bin", offset: 0, length: 10_000)), data)
        XCTAssertEqual(Array(buffer: try store.read(path: "r.bin", offset: 1234, length: 100)), Array(data[1234..<1334]))
        // Length is clamped to the end of the file.
        XCTAssertEqual(Array(buffer: try store.read(path: "r.bin", offset: 9_990, length: 1000)), Array(data[9_990...]))
        // Reading at the end gives nothing; zero length gives nothing.
        XCTAssertEqual(try store.read(path: "r.bin", offset: 10_000, length: 10).readableBytes, 0)
        XCTAssertEqual(try store.read(path: "r.bin", offset: 5, length: 0).readableBytes, 0)
    }

    func testReadBuffersAreLentAgainOnlyOnceReleased() throws {
        let store = try makeStore()
        let data = makeData(400_000)
        try upload(store, "r.bin", data)

        var first: ByteBuffer? = try store.read(path: "r.bin", offset: 0, length: 200_000)
        let firstStorage = first.map(bytesAddress)
        // While the first reply's bytes are still referenced, the next read must not overwrite them.
        let second = try store.read(path: "r.bin", offset: 200_000, length: 200_000)
        XCTAssertNotEqual(bytesAddress(second), firstStorage)
        XCTAssertEqual(first.map { Array(buffer: $0) }, Array(data[..<200_000]))
        XCTAssertEqual(Array(buffer: second), Array(data[200_000...]))
        // Once released, the first buffer is lent again.
        first = nil
        let third = try store.read(path: "r.bin", offset: 100_000, length: 200_000)
        XCTAssertEqual(bytesAddress(third), firstStorage)
        XCTAssertEqual(Array(buffer: third), Array(data[100_000..<300_000]))
    }

    func testReadRangeErrors() throws {
        let store = try makeStore()
        try upload(store, "r.bin", makeData(100))

        var fields = assertRangeError(try store.read(path: "r.bin", offset: 101, length: 1))
        XCTAssertEqual(fields?.offset, 101)
        XCTAssertEqual(fields?.length, 1)
        XCTAssertEqual(fields?.size, 100)
        fields = assertRangeError(try store.read(path: "r.bin", offset: -1, length: 1))
        XCTAssertEqual(fields?.offset, -1)
        fields = assertRangeError(try store.read(path: "r.bin", offset: 0, length: -1))
        XCTAssertEqual(fields?.length, -1)
        fields = assertRangeError(try store.read(path: "r.bin", offset: 0, length: FileStore.maxReadLength + 1))
        XCTAssertEqual(fields?.length, FileStore.maxReadLength + 1)
        assertRangeError(try store.read(path: "r.bin", offset: Int64.max, length: Int32.max))
        XCTAssertNoThrow(try store.read(path: "r.bin", offset: 0, length: FileStore.maxReadLength))
    }

    func testReadErrors() throws {
        let store = try makeStore()
        try FileManager.default.createDirectory(atPath: store.root + "/dir", withIntermediateDirectories: true)
        assertPathError(try store.read(path: "missing", offset: 0, length: 1))
        assertPathError(try store.read(path: "dir", offset: 0, length: 1))
    }

    func testReadersSeeTheOldOrTheNewFileNeverAMix() throws {
        let store = try makeStore()
        let old = [UInt8](repeating: 1, count: 256 * 1024)
        let new = [UInt8](repeating: 2, count: 256 * 1024)
        try upload(store, "swap", old)
        let handle = try store.open(path: "swap", size: Int64(new.count), overwrite: true, resume: false)
        let reads = StorageTestResults<[UInt8]>()
        let done = DispatchSemaphore(value: 0)
        let reader = DispatchGroup()
        DispatchQueue.global().async(group: reader) {
            var finished = false
            while !finished {
                finished = done.wait(timeout: .now()) == .success
                if let bytes = try? store.read(path: "swap", offset: 0, length: Int32(new.count)) {
                    reads.append(Array(buffer: bytes))
                }
            }
        }
        for start in stride(from: 0, to: new.count, by: 16 * 1024) {
            try store.write(uploadID: handle.id, offset: Int64(start), bytes: buffer(new[start..<start + 16 * 1024]))
        }
        _ = try store.commit(uploadID: handle.id, checksum: standardChecksum(new))
        done.signal()
        reader.wait()
        XCTAssertFalse(reads.all.isEmpty)
        for bytes in reads.all {
            XCTAssertTrue(bytes == old || bytes == new, "a reader saw a half-written file")
        }
        XCTAssertEqual(reads.all.last, new)
    }
}
