import Crypto

/// A streaming hasher for one `ChecksumAlgorithm`: XXH3, XXH64 or SHA-256 behind one interface.
///
/// The state is a value, not `Sendable` (swift-crypto's SHA-256 state is not): create and use
/// it on the thread that hashes, and pass the resulting `Checksum` (which is) around.
public struct ChecksumHasher {
    public let algorithm: ChecksumAlgorithm
    // One of them is set. (Optionals rather than an enum with payloads: an optional is
    // mutated in place, so SHA256's copy-on-write state is never copied by an update.)
    private var xxh3: XXH3?
    private var xxh64: XXH64?
    private var sha256: SHA256?

    public init(_ algorithm: ChecksumAlgorithm) {
        self.algorithm = algorithm
        switch algorithm {
        case .xxh3: xxh3 = XXH3()
        case .xxh64: xxh64 = XXH64()
        case .sha256: sha256 = SHA256()
        }
    }

    /// Hashes `bytes` after everything given before.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        xxh3?.update(bytes)
        xxh64?.update(bytes)
        sha256?.update(bufferPointer: bytes)
    }

    /// The checksum of every byte given so far.
    public func finalize() -> Checksum {
        if let sha256 {
            return Checksum(algorithm: .sha256, lowercaseHex: Checksum.lowercaseHex(sha256.finalize()))
        }
        if let xxh3 {
            return Checksum(xxh3: xxh3.finalize())
        }
        return Checksum(xxh64: xxh64?.finalize() ?? 0)
    }
}
