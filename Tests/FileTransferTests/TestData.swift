import NIOCore
import XCTest

@testable import FileTransfer

/// Deterministic pseudo-random (incompressible) bytes.
func randomBytes(_ count: Int, seed: UInt64 = 7) -> [UInt8] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    var out = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        out[i] = UInt8(truncatingIfNeeded: state >> 33)
    }
    return out
}

/// Where `buffer`'s readable bytes start: equal for two buffers that share their storage at the
/// same place (a pooled buffer lent again).
func bytesAddress(_ buffer: ByteBuffer) -> UInt {
    buffer.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
}

/// Data and checksums the storage, server and client tests share.
extension XCTestCase {
    /// Deterministic pseudo-random bytes (the storage and server tests' default seed).
    func makeData(_ count: Int, seed: UInt64 = 1) -> [UInt8] { randomBytes(count, seed: seed) }

    /// `"xxh3:<hex>"` of `bytes`: the standard checksum, what stat reports.
    func standardChecksum(_ bytes: [UInt8]) -> String { Checksum(of: bytes, algorithm: .standard).description }

    /// `"sha256:<hex>"` of `bytes`.
    func sha256(_ bytes: [UInt8]) -> String { Checksum(of: bytes, algorithm: .sha256).description }
}
