import Foundation
import NIOCore
import XCTest

@testable import FileTransfer

/// The running XXH3 that spares `commit` a full read of the file.
final class PrefixDigestTests: XCTestCase {
    var dir: URL!
    var fd: Int32 = -1

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("digest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        fd = open(dir.appendingPathComponent("part").path, O_RDWR | O_CREAT, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
    }

    override func tearDownWithError() throws {
        close(fd)
        try FileManager.default.removeItem(at: dir)
    }

    func bytes(_ n: Int, seed: UInt8) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7) &+ seed } }

    /// Writes a chunk to the file, records it, and feeds the digest, as `FileStore.write` does.
    /// `toFile: false` leaves the file alone, to tell bytes hashed from memory from bytes read back.
    func write(_ chunk: [UInt8], at offset: Int64, digest: PrefixDigest, received: inout RangeSet, toFile: Bool = true) throws {
        if toFile {
            _ = chunk.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
        }
        let range = offset..<(offset + Int64(chunk.count))
        received.insert(range)
        try digest.wrote(range, bytes: ByteBuffer(bytes: chunk), contiguousEnd: received.contiguousEnd(from: 0), fd: fd, path: "part")
    }

    func testChunksWrittenAheadAreHashedFromMemory() throws {
        let chunks = (0..<4).map { bytes(5000, seed: UInt8(10 + $0)) }
        let digest = PrefixDigest()
        var received = RangeSet()
        // The file never sees chunks 1...3: reading them back would hash zeros.
        for i in [3, 1, 2] {
            try write(chunks[i], at: Int64(i * 5000), digest: digest, received: &received, toFile: false)
        }
        try write(chunks[0], at: 0, digest: digest, received: &received)
        XCTAssertEqual(digest.final(size: 20000), Checksum(of: chunks.flatMap { $0 }, algorithm: .standard))
    }

    func testChunksBeyondTheHeldLimitAreReadBack() throws {
        let size = 1 << 20
        let count = PrefixDigest.maxHeldBytes / size + 3
        let chunks = (0..<count).map { bytes(size, seed: UInt8($0)) }
        let digest = PrefixDigest()
        var received = RangeSet()
        for i in (1..<count).reversed() {
            try write(chunks[i], at: Int64(i * size), digest: digest, received: &received)
        }
        try write(chunks[0], at: 0, digest: digest, received: &received)
        XCTAssertEqual(digest.final(size: Int64(count * size)), Checksum(of: chunks.flatMap { $0 }, algorithm: .standard))
    }

    func testInOrderAndOutOfOrderChunksGiveTheFileDigest() throws {
        let chunks = (0..<8).map { bytes(3000 + $0, seed: UInt8($0)) }
        var offsets: [Int64] = []
        var total: Int64 = 0
        for c in chunks {
            offsets.append(total)
            total += Int64(c.count)
        }
        let digest = PrefixDigest()
        var received = RangeSet()
        for i in [0, 2, 1, 5, 4, 3, 7, 6] {
            try write(chunks[i], at: offsets[i], digest: digest, received: &received)
        }
        let expected = Checksum(of: chunks.flatMap { $0 }, algorithm: .standard)
        XCTAssertEqual(digest.final(size: total), expected)
    }

    func testIncompleteOrInvalidatedDigestIsNotUsed() throws {
        let digest = PrefixDigest()
        var received = RangeSet()
        try write(bytes(100, seed: 1), at: 0, digest: digest, received: &received)
        XCTAssertNil(digest.final(size: 200), "half the file is not its digest")
        try write(bytes(100, seed: 2), at: 100, digest: digest, received: &received)
        XCTAssertEqual(digest.final(size: 200), Checksum(of: bytes(100, seed: 1) + bytes(100, seed: 2), algorithm: .standard))

        let resent = PrefixDigest()
        var again = RangeSet()
        try write(bytes(100, seed: 1), at: 0, digest: resent, received: &again)
        resent.invalidate()
        try write(bytes(100, seed: 2), at: 100, digest: resent, received: &again)
        XCTAssertNil(resent.final(size: 200))
    }

    func testCommitAfterAResendWithOtherBytesChecksTheFinalContent() throws {
        let root = dir.appendingPathComponent("root").path
        let store = try FileStore(root: root)
        let first = ByteBuffer(bytes: bytes(4096, seed: 1))
        let second = ByteBuffer(bytes: bytes(4096, seed: 2))
        let changed = ByteBuffer(bytes: bytes(4096, seed: 9))
        let upload = try store.open(path: "f.bin", size: 8192, overwrite: false, resume: false)
        try store.write(uploadID: upload.id, offset: 0, bytes: first)
        try store.write(uploadID: upload.id, offset: 4096, bytes: second)
        try store.write(uploadID: upload.id, offset: 0, bytes: changed)  // a resend with other bytes
        let stale = Checksum(of: bytes(4096, seed: 1) + bytes(4096, seed: 2), algorithm: .standard).description
        XCTAssertThrowsError(try store.commit(uploadID: upload.id, checksum: stale)) { error in
            guard case .integrity = error as? FileStoreError else { return XCTFail("\(error)") }
        }
        let actual = Checksum(of: bytes(4096, seed: 9) + bytes(4096, seed: 2), algorithm: .standard).description
        XCTAssertEqual(try store.commit(uploadID: upload.id, checksum: actual).checksum, actual)
    }

    func testSHA256CommitAfterAResendHashesTheFileForBoth() throws {
        let root = dir.appendingPathComponent("root").path
        let store = try FileStore(root: root)
        let upload = try store.open(path: "s.bin", size: 8192, overwrite: false, resume: false)
        try store.write(uploadID: upload.id, offset: 0, bytes: ByteBuffer(bytes: bytes(4096, seed: 1)))
        try store.write(uploadID: upload.id, offset: 4096, bytes: ByteBuffer(bytes: bytes(4096, seed: 2)))
        try store.write(uploadID: upload.id, offset: 0, bytes: ByteBuffer(bytes: bytes(4096, seed: 9)))
        let content = bytes(4096, seed: 9) + bytes(4096, seed: 2)
        let sha = Checksum(of: content, algorithm: .sha256).description
        XCTAssertEqual(try store.commit(uploadID: upload.id, checksum: sha).checksum, sha)
        // The XXH64 was computed in the same read and cached for stat.
        XCTAssertEqual(store.checksums.count, 1)
        XCTAssertEqual(try store.stat(path: "s.bin").checksum, Checksum(of: content, algorithm: .standard).description)
        XCTAssertEqual(store.checksums.count, 1)
    }
}
