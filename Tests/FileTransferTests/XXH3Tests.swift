import Foundation
import XCTest

@testable import FileTransfer

/// `XXH3` against Python's `xxhash` module (the reference C implementation): every length class
/// (0, 1–3, 4–8, 9–16, 17–128, 129–240, long), block and buffer boundaries, and the same value
/// whatever the update sizes, with the AVX2 kernel and with the portable loop.
final class XXH3Tests: StorageTestCase {
    func hash(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { XXH64.canonicalHex(XXH3.hash($0)) }
    }

    func testKnownVectors() {
        XCTAssertEqual(hash([]), "2d06800538d394c2")
        XCTAssertEqual(hash(Array("a".utf8)), "e6c632b61e964e1f")
        XCTAssertEqual(hash(Array("abc".utf8)), "78af5f94892f3950")
        XCTAssertEqual(hash(Array(String(repeating: "abcd", count: 4).utf8)), "bf304b109122e539")
        XCTAssertEqual(hash([UInt8](repeating: UInt8(ascii: "x"), count: 100)), "c90984ffdf50ce42")
        XCTAssertEqual(hash([UInt8](repeating: UInt8(ascii: "y"), count: 200)), "78c5ae5cf7b1237e")
        XCTAssertEqual(hash([UInt8](repeating: UInt8(ascii: "z"), count: 1000)), "cd3a574700eddf41")
    }

    func testFinalizeDoesNotEndTheStream() {
        let data = makeData(5000, seed: 3)
        data.withUnsafeBytes { all in
            var hasher = XXH3()
            for cut in [0, 2, 200, 240, 241, 256, 257, 1024, 1100, 4999, 5000] {
                hasher = XXH3()
                hasher.update(UnsafeRawBufferPointer(rebasing: all[0..<cut]))
                XCTAssertEqual(hasher.finalize(), XXH3.hash(UnsafeRawBufferPointer(rebasing: all[0..<cut])), "prefix \(cut)")
                hasher.update(UnsafeRawBufferPointer(rebasing: all[cut...]))
                XCTAssertEqual(hasher.finalize(), XXH3.hash(all), "prefix \(cut), then the rest")
            }
        }
    }

    /// The portable accumulate loop against Python's values too: where the CPU has AVX2 (as
    /// here) the other tests run the AVX2 kernel, which is the default there.
    func testPortableLoopAgreesWithPythonXXHash() throws {
        let data = makeData(1024 * 1024 + 17, seed: 79)
        let lengths = [0, 240, 241, 1024, 1025, 16 * 1024 + 1, 1 << 20, data.count]
        let expected = try pythonDigests("xxh3_64", of: data, lengths: lengths)
        data.withUnsafeBytes { all in
            for (length, reference) in zip(lengths, expected) {
                var hasher = XXH3(allowAVX2: false)
                XCTAssertFalse(hasher.usesAVX2)
                hasher.update(UnsafeRawBufferPointer(rebasing: all[0..<length]))
                XCTAssertEqual(XXH64.canonicalHex(hasher.finalize()), reference, "length \(length)")
            }
        }
        XCTAssertEqual(XXH3().usesAVX2, XXH3.cpuHasAVX2, "the AVX2 kernel is the default where the CPU has it")
    }

    func testAgreesWithPythonXXHashWhateverTheSplit() throws {
        let data = makeData(3 * 1024 * 1024 + 17, seed: 78)
        let lengths =
            Array(0...300) + [319, 320, 321, 511, 512, 513, 1023, 1024, 1025, 1087, 1088, 1089, 2047, 2048, 2049, 4096 + 7]
            + [16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 65_536, 1_000_003, 1 << 20, data.count]
        let expected = try pythonDigests("xxh3_64", of: data, lengths: lengths)

        data.withUnsafeBytes { all in
            for (length, reference) in zip(lengths, expected) {
                XCTAssertEqual(XXH64.canonicalHex(XXH3.hash(UnsafeRawBufferPointer(rebasing: all[0..<length]))), reference, "length \(length)")
            }
            // Prefixes hashed in small steps: the buffered paths (bytes waiting, a final stripe
            // reaching back into consumed bytes) against the same Python values.
            for (length, reference) in zip(lengths, expected) where length <= 20_000 {
                let prefix = UnsafeRawBufferPointer(rebasing: all[0..<length])
                for step in [1, 7, 64, 255, 256, 257] {
                    XCTAssertEqual(streamedHex(XXH3.self, prefix, sizes: [step]), reference, "length \(length) in updates of \(step)")
                }
            }
            // The whole input, cut at many boundaries, and irregularly (empty updates included).
            let reference = expected[expected.count - 1]
            for step in [3, 63, 64, 65, 1024, 4096 + 7, 1 << 20, data.count] {
                XCTAssertEqual(streamedHex(XXH3.self, all, sizes: [step]), reference, "updates of \(step) bytes")
            }
            let pattern = [1, 0, 3, 31, 255, 256, 257, 0, 4096 + 7, 5, 63, 64, 65, 1023, 1025, 100_000]
            XCTAssertEqual(streamedHex(XXH3.self, all, sizes: pattern), reference, "irregular updates")
        }
    }
}
