import Foundation
import XCTest

@testable import FileTransfer

/// XXH64 and XXH3 stream the same way: the tests feed both through one helper.
protocol StreamingHash64 {
    init()
    mutating func update(_ bytes: UnsafeRawBufferPointer)
    func finalize() -> UInt64
}

extension XXH64: StreamingHash64 {}
extension XXH3: StreamingHash64 {}

/// The canonical hex digest of `bytes` fed in updates of the sizes in `sizes`, cycled (an
/// empty update included if `sizes` has a 0).
func streamedHex<H: StreamingHash64>(_: H.Type, _ bytes: UnsafeRawBufferPointer, sizes: [Int]) -> String {
    var hasher = H()
    var offset = 0
    var index = 0
    while offset < bytes.count {
        let end = min(bytes.count, offset + sizes[index % sizes.count])
        hasher.update(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
        offset = end
        index += 1
    }
    return XXH64.canonicalHex(hasher.finalize())
}

extension StorageTestCase {
    /// What Python's `xxhash.<function>(data[:n]).hexdigest()` (the reference C implementation)
    /// gives for each length in `lengths`; skips the test without /usr/bin/python3.
    func pythonDigests(_ function: String, of data: [UInt8], lengths: [Int]) throws -> [String] {
        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw XCTSkip("/usr/bin/python3 (with the xxhash module) is not installed")
        }
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        let path = outside + "/\(function)-input.bin"
        try Data(data).write(to: URL(fileURLWithPath: path))
        let script = """
            import sys, xxhash
            data = open(sys.argv[1], "rb").read()
            for n in sys.argv[2:]:
                print(xxhash.\(function)(data[:int(n)]).hexdigest())
            """
        let result = try runProcess(python, ["-c", script, path] + lengths.map(String.init))
        XCTAssertEqual(result.status, 0, result.stderr)
        let digests = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(digests.count, lengths.count, "one digest per length")
        return digests
    }
}
