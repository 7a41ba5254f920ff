import Foundation
import XCTest

@testable import FileTransfer

/// `XXH64` against published vectors and against Python's `xxhash` module (the reference C
/// implementation), with the input cut at many different update boundaries.
final class XXH64Tests: StorageTestCase {
    func hash(_ text: String) -> UInt64 {
        Array(text.utf8).withUnsafeBytes { XXH64.hash($0) }
    }

    func testKnownVectors() {
        XCTAssertEqual(hash(""), 0xEF46_DB37_51D8_E999)
        XCTAssertEqual(hash("a"), 0xD24E_C4F1_A98C_6E5B)
        XCTAssertEqual(hash("abc"), 0x44BC_2CF5_AD77_0999)
        XCTAssertEqual(XXH64.canonicalHex(hash("")), "ef46db3751d8e999")
        XCTAssertEqual(XXH64.canonicalHex(hash("a")), "d24ec4f1a98c6e5b")
        XCTAssertEqual(XXH64.canonicalHex(hash("abc")), "44bc2cf5ad770999")
        XCTAssertEqual(Checksum(of: Array("abc".utf8), algorithm: .xxh64).description, "xxh64:44bc2cf5ad770999")
    }

    func testCanonicalHexIsBigEndianAndZeroPadded() {
        XCTAssertEqual(XXH64.canonicalHex(0), "0000000000000000")
        XCTAssertEqual(XXH64.canonicalHex(0x0123_4567_89AB_CDEF), "0123456789abcdef")
        XCTAssertEqual(XXH64.canonicalHex(.max), "ffffffffffffffff")
    }

    func testFinalizeDoesNotEndTheStream() {
        var hasher = XXH64()
        Array("ab".utf8).withUnsafeBytes { hasher.update($0) }
        XCTAssertEqual(XXH64.canonicalHex(hasher.finalize()), XXH64.canonicalHex(hash("ab")))
        Array("c".utf8).withUnsafeBytes { hasher.update($0) }
        XCTAssertEqual(hasher.finalize(), hash("abc"))
        hasher.update(UnsafeRawBufferPointer(start: nil, count: 0))  // an empty update changes nothing
        XCTAssertEqual(hasher.finalize(), hash("abc"))
    }

    /// Every prefix length around the 32-byte stripe and the 8/4/1-byte tails, against Python,
    /// and the same values whatever the update sizes.
    func testAgreesWithPythonXXHashWhateverTheSplit() throws {
        let data = makeData(3 * 1024 * 1024 + 17, seed: 77)
        let lengths = Array(0...80) + [95, 96, 97, 127, 128, 129, 1000, 4096 + 7, 65_536, 1_000_003, data.count]
        let expected = try pythonDigests("xxh64", of: data, lengths: lengths)

        data.withUnsafeBytes { all in
            for (length, reference) in zip(lengths, expected) {
                let input = UnsafeRawBufferPointer(rebasing: all[0..<length])
                XCTAssertEqual(XXH64.canonicalHex(XXH64.hash(input)), reference, "length \(length)")
            }
            // The whole input, cut at many boundaries: always the one-shot value.
            let reference = expected[expected.count - 1]
            for step in [1, 3, 7, 31, 32, 33, 64, 4096 + 7, 65_536, 1 << 20, data.count] {
                XCTAssertEqual(streamedHex(XXH64.self, all, sizes: [step]), reference, "updates of \(step) bytes")
            }
            // Irregular cuts, empty updates included.
            let pattern = [1, 0, 3, 31, 32, 33, 0, 4096 + 7, 5, 63, 64, 65, 8, 4, 2, 100_000]
            XCTAssertEqual(streamedHex(XXH64.self, all, sizes: pattern), reference, "irregular updates")
        }
    }
}
