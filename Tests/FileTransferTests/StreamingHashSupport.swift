import FileTransfer

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
