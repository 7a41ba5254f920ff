import XCTest

@testable import FileTransfer

/// The self-describing checksum text of the contract and the hasher behind both algorithms.
final class ChecksumTests: XCTestCase {
    let shaOfABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

    func testParsesBothPrefixedFormsAndBareSHA256() throws {
        let xxh = try XCTUnwrap(Checksum(parsing: "xxh64:44BC2CF5AD770999"))
        XCTAssertEqual(xxh.algorithm, .xxh64)
        XCTAssertEqual(xxh.hex, "44bc2cf5ad770999")
        XCTAssertEqual(xxh.description, "xxh64:44bc2cf5ad770999")
        XCTAssertEqual(xxh.displayText, "xxh64 44bc2cf5ad770999")

        let sha = try XCTUnwrap(Checksum(parsing: "SHA256:" + shaOfABC.uppercased()))
        XCTAssertEqual(sha.algorithm, .sha256)
        XCTAssertEqual(sha.description, "sha256:" + shaOfABC)

        let bare = try XCTUnwrap(Checksum(parsing: shaOfABC))
        XCTAssertEqual(bare, sha, "64 hex digits alone are a SHA-256")
        XCTAssertEqual(Checksum(parsing: shaOfABC.uppercased()), sha)
    }

    func testRejectsEverythingElse() {
        let bad = [
            "", ":", "xxh64:", "sha256:", "xxh64", "44bc2cf5ad770999",  // a bare XXH64 is ambiguous
            "xxh64:44bc2cf5ad77099", "xxh64:44bc2cf5ad7709990", "xxh64:44bc2cf5ad77099g",
            "sha256:" + String(shaOfABC.dropLast()), "sha256:44bc2cf5ad770999", "xxh64:" + shaOfABC,
            "md5:900150983cd24fb0d6963f7d28e17f72", " xxh64:44bc2cf5ad770999", "xxh64: 44bc2cf5ad770999",
            "xxh64:44bc2cf5ad770999:00", String(repeating: "z", count: 64),
        ]
        for text in bad {
            XCTAssertNil(Checksum(parsing: text), text)
        }
        XCTAssertNil(Checksum(algorithm: .xxh64, hex: "0x44bc2cf5ad7709"))
    }

    func testAlgorithmNames() {
        XCTAssertEqual(ChecksumAlgorithm(parsing: " SHA256 "), .sha256)
        XCTAssertEqual(ChecksumAlgorithm(parsing: "xxh64"), .xxh64)
        XCTAssertEqual(ChecksumAlgorithm(parsing: "XXH3"), .xxh3)
        XCTAssertEqual(ChecksumAlgorithm.standard, .xxh3)
        XCTAssertEqual(ChecksumAlgorithm.xxh3.hexLength, 16)
        XCTAssertEqual(Checksum(parsing: "xxh3:78AF5F94892F3950"), Checksum(of: Array("abc".utf8), algorithm: .xxh3))
        XCTAssertEqual(Checksum(xxh3: 0x78af_5f94_892f_3950).description, "xxh3:78af5f94892f3950")
        XCTAssertNil(ChecksumAlgorithm(parsing: "sha-256"))
        XCTAssertEqual(ChecksumAlgorithm.xxh64.hexLength, 16)
        XCTAssertEqual(ChecksumAlgorithm.sha256.hexLength, 64)
        XCTAssertEqual(ChecksumAlgorithm.sha256.displayName, "SHA-256")
    }

    func testHasherComputesEitherAlgorithmInPieces() {
        let text = Array("abc".utf8)
        for algorithm in ChecksumAlgorithm.allCases {
            var hasher = ChecksumHasher(algorithm)
            text.withUnsafeBytes { bytes in
                hasher.update(UnsafeRawBufferPointer(rebasing: bytes[0..<1]))
                hasher.update(UnsafeRawBufferPointer(rebasing: bytes[1..<3]))
            }
            XCTAssertEqual(hasher.finalize(), Checksum(of: text, algorithm: algorithm))
            XCTAssertEqual(hasher.algorithm, algorithm)
        }
        XCTAssertEqual(Checksum(of: text, algorithm: .sha256).description, "sha256:" + shaOfABC)
        XCTAssertEqual(Checksum(of: text, algorithm: .xxh64).description, "xxh64:44bc2cf5ad770999")
        XCTAssertEqual([Checksum(xxh64: 1), Checksum(of: text, algorithm: .sha256)].first(.sha256)?.hex, shaOfABC)
        XCTAssertNil([Checksum(xxh64: 1)].first(.sha256))
    }
}
