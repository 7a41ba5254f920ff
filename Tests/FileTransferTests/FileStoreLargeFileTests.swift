import Foundation
import NIOCore
import XCTest

@testable import FileTransfer

/// Declared sizes beyond 2^31 and 2^32 with a few chunks: sparse, so fast and small on disk.
final class FileStoreLargeFileTests: StorageTestCase {
    private func requireFreeSpace(_ bytes: Int64) throws {
        let free = try freeBytes()
        try XCTSkipIf(free < bytes + (1 << 30), "needs \(bytes) bytes of free disk space for the declared size, has \(free)")
    }

    private func allocatedBytes(_ path: String) throws -> Int64 {
        var status = stat()
        XCTAssertEqual(lstat(path, &status), 0)
        return Int64(status.st_blocks) * 512
    }

    func testSparse3GiBFileWithChunksAbove2GiB() throws {
        let size: Int64 = 3 << 30
        try requireFreeSpace(size)
        let store = try makeStore()
        let handle = try store.open(path: "sparse3g.bin", size: size, overwrite: false, resume: false)
        let part = store.stagingDirectory + "/" + handle.id + ".part"
        let chunk = makeData(1 << 20, seed: 3)
        let offsets: [Int64] = [(1 << 31) + 12_345, size - Int64(chunk.count), 0, (5 << 29) + 1]
        for offset in offsets {
            try store.write(uploadID: handle.id, offset: offset, bytes: buffer(chunk))
        }
        XCTAssertEqual(RangeSet(flattened: try store.received(uploadID: handle.id)),
                       RangeSet(offsets.map { $0..<$0 + Int64(chunk.count) }))
        try store.flush(uploadID: handle.id)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: part)[.size] as? NSNumber, NSNumber(value: size))
        XCTAssertLessThan(try allocatedBytes(part), 64 << 20, "the part file should be sparse")

        // The bytes are where they belong (pread the part file directly).
        let fd = open(part, O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        for offset in offsets {
            var back = [UInt8](repeating: 0, count: chunk.count)
            XCTAssertEqual(pread(fd, &back, back.count, off_t(offset)), chunk.count)
            XCTAssertEqual(back, chunk, "at \(offset)")
        }
        let error = assertRangeError(try store.commit(uploadID: handle.id, checksum: standardChecksum([])))
        XCTAssertEqual(error?.offset, Int64(chunk.count))
        XCTAssertEqual(error?.size, size)
        // A write past the end is refused even with a huge offset.
        XCTAssertEqual(assertRangeError(try store.write(uploadID: handle.id, offset: size - 1, bytes: buffer([1, 2])))?.offset, size - 1)
        try store.abort(uploadID: handle.id)
    }

    func testOffsetsAbove4GiB() throws {
        let size: Int64 = (5 << 30) + 17
        try requireFreeSpace(size)
        let store = try makeStore()
        let handle = try store.open(path: "huge/sparse5g.bin", size: size, overwrite: false, resume: false)
        let chunk = makeData(256 * 1024, seed: 5)
        let high: Int64 = (1 << 32) + 4096 + 3  // above 2^32: would wrap in 32 bits
        try store.write(uploadID: handle.id, offset: high, bytes: buffer(chunk))
        try store.write(uploadID: handle.id, offset: size - 17, bytes: buffer(chunk[0..<17]))
        XCTAssertEqual(try store.received(uploadID: handle.id), [high, high + Int64(chunk.count), size - 17, size])
        XCTAssertLessThan(try allocatedBytes(store.stagingDirectory + "/" + handle.id + ".part"), 64 << 20)

        // A restart keeps ranges beyond 2^32 exactly.
        try store.flush(uploadID: handle.id)
        let restarted = try makeStore()
        XCTAssertEqual(try restarted.received(uploadID: handle.id), [high, high + Int64(chunk.count), size - 17, size])
        try restarted.abort(uploadID: handle.id)
    }

    func testReadAtOffsetsAbove4GiBOfACommittedSparseFile() throws {
        // A sparse file placed directly (committing would hash 5 GiB of zeros).
        let store = try makeStore()
        let path = store.root + "/placed.bin"
        let size: Int64 = (5 << 30)
        let fd = open(path, O_RDWR | O_CREAT, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        XCTAssertEqual(ftruncate(fd, off_t(size)), 0)
        let marker = Array("marker above 4 GiB".utf8)
        let offset: Int64 = (1 << 32) + 1
        XCTAssertEqual(pwrite(fd, marker, marker.count, off_t(offset)), marker.count)
        close(fd)

        XCTAssertEqual(Array(buffer: try store.read(path: "placed.bin", offset: offset, length: Int32(marker.count))), marker)
        XCTAssertEqual(Array(buffer: try store.read(path: "placed.bin", offset: size - 2, length: 100)), [0, 0])
        XCTAssertEqual(assertRangeError(try store.read(path: "placed.bin", offset: size + 1, length: 1))?.size, size)
    }
}
