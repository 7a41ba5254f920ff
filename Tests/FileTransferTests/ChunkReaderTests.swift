import Foundation
import Ice
import NIOCore
import XCTest

@testable import FileTransfer

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

final class ChunkReaderTests: XCTestCase {
    private var path = ""
    private var fd: Int32 = -1
    private let content: [UInt8] = (0..<12_288).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 7) }

    override func setUpWithError() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("chunk-reader-\(UUID().uuidString)").path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(content)))
        fd = open(path, O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
    }

    override func tearDown() {
        if fd >= 0 { close(fd) }
        try? FileManager.default.removeItem(atPath: path)
    }

    private func reader(size: Int64? = nil, chunk: Int = 4096, skip: RangeSet = RangeSet()) -> ChunkReader {
        ChunkReader(
            fd: fd, path: path, size: size ?? Int64(content.count), chunkSize: chunk, skip: skip,
            buffers: ByteBufferPool(maxBytes: 4 * chunk, minimumSize: 1024), algorithms: [.xxh3, .sha256])
    }

    /// Every piece `reader` returns, as (offset, bytes), until it returns nil.
    private func drain(_ reader: inout ChunkReader) throws -> [(Int64, [UInt8])] {
        var pieces: [(Int64, [UInt8])] = []
        while let item = try reader.next() {
            for piece in item.pieces {
                XCTAssertFalse(piece.compressed)
                XCTAssertEqual(piece.payload.readableBytes, piece.length)
                pieces.append((piece.offset, Array(piece.payload.readableBytesView)))
            }
        }
        return pieces
    }

    private func expectedChecksums() -> [Checksum] {
        [ChecksumAlgorithm.xxh3, .sha256].map { algorithm in
            var hasher = ChecksumHasher(algorithm)
            content.withUnsafeBytes { hasher.update($0) }
            return hasher.finalize()
        }
    }

    func testReadsTheFileInChunksInOrderAndHashesIt() throws {
        var r = reader()
        XCTAssertNil(r.checksums, "no checksum before the end of the file")
        let pieces = try drain(&r)
        XCTAssertEqual(pieces.map(\.0), [0, 4096, 8192])
        XCTAssertEqual(pieces.map(\.1.count), [4096, 4096, 4096])
        XCTAssertEqual(pieces.flatMap(\.1), content)
        XCTAssertEqual(r.checksums, expectedChecksums())
        XCTAssertNil(try r.next(), "stays at the end")
    }

    func testReturnsOnlyWhatTheServerLacksButHashesEverything() throws {
        // Chunk 0 stored entirely, chunk 1 partly (its middle), chunk 2 not at all.
        var r = reader(skip: RangeSet([0..<4096, 5000..<6000]))
        let pieces = try drain(&r)
        XCTAssertEqual(pieces.map(\.0), [4096, 6000, 8192])
        XCTAssertEqual(pieces[0].1, Array(content[4096..<5000]))
        XCTAssertEqual(pieces[1].1, Array(content[6000..<8192]))
        XCTAssertEqual(pieces[2].1, Array(content[8192...]))
        XCTAssertEqual(r.checksums, expectedChecksums())
    }

    func testEverythingStoredReturnsNothingAndStillHashes() throws {
        var r = reader(skip: RangeSet([0..<Int64(content.count)]))
        XCTAssertNil(try r.next())
        XCTAssertEqual(r.checksums, expectedChecksums())
    }

    func testAFileThatGrewIsReportedAtTheEnd() throws {
        var r = reader(size: 9000)
        XCTAssertThrowsError(try drain(&r)) { error in
            XCTAssertEqual((error as? LocalFileError)?.kind, .changed)
            XCTAssertTrue("\(error)".contains("grew"), "\(error)")
        }
        XCTAssertNil(r.checksums, "no checksum for a file that changed")
    }

    func testAFileThatShrankIsReported() throws {
        var r = reader(size: 20_000)
        XCTAssertThrowsError(try drain(&r)) { error in
            XCTAssertEqual((error as? LocalFileError)?.kind, .changed)
            XCTAssertTrue("\(error)".contains("shrank to 12288 bytes"), "\(error)")
        }
    }

    func testReusesAChunkBufferOnceNothingReferencesIt() throws {
        var r = reader()
        let first = try XCTUnwrap(try r.next()).pieces[0].payload
        let firstAddress = bytesAddress(first)
        // `first` still references its buffer: the next chunk gets another one.
        let second = try XCTUnwrap(try r.next()).pieces[0].payload
        XCTAssertNotEqual(bytesAddress(second), firstAddress)
        _ = consume first
        let third = try XCTUnwrap(try r.next()).pieces[0].payload
        XCTAssertEqual(bytesAddress(third), firstAddress)
        XCTAssertEqual(Array(third.readableBytesView), Array(content[8192...]))
    }
}
