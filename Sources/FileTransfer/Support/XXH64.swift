/// Streaming XXH64 (seed 0), the non-cryptographic 64-bit hash of xxHash
/// (https://github.com/Cyan4973/xxHash, `doc/xxhash_spec.md`).
///
/// Feeding the same bytes gives the same value whatever the sizes of the `update` calls: bytes
/// that do not fill a 32-byte stripe wait in an internal buffer. The value equals what
/// `xxhsum -H64` and Python's `xxhash.xxh64(data).intdigest()` compute; `canonicalHex` formats
/// it the way they print it. XXH64 detects accidental corruption (transfer errors, truncation,
/// reordering); it is no defence against someone who forges data on purpose (use SHA-256 for that).
public struct XXH64: Sendable {
    static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    /// Bytes per stripe: one 8-byte lane per accumulator.
    static let stripeSize = 32

    private var v1: UInt64
    private var v2: UInt64
    private var v3: UInt64
    private var v4: UInt64
    /// Bytes hashed so far (buffered ones included).
    private var totalLength: UInt64 = 0
    /// The start of an incomplete stripe; `bufferedCount` (< 32) of its bytes are valid.
    private var buffer: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private var bufferedCount = 0

    /// A hasher with seed 0 that has seen no bytes.
    public init() {
        v1 = Self.prime1 &+ Self.prime2
        v2 = Self.prime2
        v3 = 0
        v4 = 0 &- Self.prime1
    }

    /// Hashes `bytes` after everything given before.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var input = bytes.baseAddress, bytes.count > 0 else { return }
        var remaining = bytes.count
        totalLength &+= UInt64(remaining)

        if bufferedCount > 0 {
            let take = min(Self.stripeSize - bufferedCount, remaining)
            let offset = bufferedCount
            withUnsafeMutableBytes(of: &buffer) { stripe in
                UnsafeMutableRawBufferPointer(rebasing: stripe[offset..<(offset + take)])
                    .copyMemory(from: UnsafeRawBufferPointer(start: input, count: take))
            }
            bufferedCount += take
            input += take
            remaining -= take
            if bufferedCount < Self.stripeSize { return }
            let stripe = buffer
            withUnsafeBytes(of: stripe) { consumeStripes($0, count: 1) }
            bufferedCount = 0
        }

        let stripes = remaining / Self.stripeSize
        if stripes > 0 {
            consumeStripes(UnsafeRawBufferPointer(start: input, count: stripes * Self.stripeSize), count: stripes)
            input += stripes * Self.stripeSize
            remaining -= stripes * Self.stripeSize
        }

        if remaining > 0 {
            withUnsafeMutableBytes(of: &buffer) { stripe in
                UnsafeMutableRawBufferPointer(rebasing: stripe[0..<remaining])
                    .copyMemory(from: UnsafeRawBufferPointer(start: input, count: remaining))
            }
            bufferedCount = remaining
        }
    }

    /// The hash of every byte given so far. The hasher is not changed: more bytes may follow.
    public func finalize() -> UInt64 {
        var hash: UInt64
        if totalLength >= UInt64(Self.stripeSize) {
            hash = rotateLeft(v1, 1) &+ rotateLeft(v2, 7) &+ rotateLeft(v3, 12) &+ rotateLeft(v4, 18)
            hash = Self.mergeRound(hash, v1)
            hash = Self.mergeRound(hash, v2)
            hash = Self.mergeRound(hash, v3)
            hash = Self.mergeRound(hash, v4)
        } else {
            hash = Self.prime5  // seed 0 + prime 5
        }
        hash &+= totalLength

        let count = bufferedCount
        let tail = buffer
        return withUnsafeBytes(of: tail) { raw in
            var offset = 0
            while offset + 8 <= count {
                let lane = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                hash ^= Self.round(0, lane)
                hash = rotateLeft(hash, 27) &* Self.prime1 &+ Self.prime4
                offset += 8
            }
            if offset + 4 <= count {
                let word = UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                hash ^= word &* Self.prime1
                hash = rotateLeft(hash, 23) &* Self.prime2 &+ Self.prime3
                offset += 4
            }
            while offset < count {
                hash ^= UInt64(raw[offset]) &* Self.prime5
                hash = rotateLeft(hash, 11) &* Self.prime1
                offset += 1
            }
            return Self.avalanche(hash)
        }
    }

    /// XXH64 (seed 0) of `bytes` in one call.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hasher = XXH64()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// `value` as 16 lowercase hexadecimal digits, most significant first: the canonical
    /// (big-endian) form that `xxhsum` and `xxhash.xxh64(…).hexdigest()` print.
    public static func canonicalHex(_ value: UInt64) -> String {
        withUnsafeBytes(of: value.bigEndian) { Checksum.lowercaseHex($0) }
    }

    // MARK: Algorithm

    /// Folds `count` whole stripes at `input` into the accumulators. The hot loop: the
    /// accumulators live in locals, lanes are loaded unaligned, arithmetic wraps.
    @inline(__always)
    private mutating func consumeStripes(_ input: UnsafeRawBufferPointer, count: Int) {
        guard let base = input.baseAddress else { return }
        var a = v1, b = v2, c = v3, d = v4
        var p = base
        for _ in 0..<count {
            a = Self.round(a, UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)))
            b = Self.round(b, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            c = Self.round(c, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 16, as: UInt64.self)))
            d = Self.round(d, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
            p += Self.stripeSize
        }
        v1 = a
        v2 = b
        v3 = c
        v4 = d
    }

    @inline(__always)
    static func round(_ accumulator: UInt64, _ lane: UInt64) -> UInt64 {
        rotateLeft(accumulator &+ lane &* prime2, 31) &* prime1
    }

    @inline(__always)
    static func mergeRound(_ hash: UInt64, _ accumulator: UInt64) -> UInt64 {
        (hash ^ round(0, accumulator)) &* prime1 &+ prime4
    }

    @inline(__always)
    static func avalanche(_ value: UInt64) -> UInt64 {
        var h = value
        h ^= h >> 33
        h &*= prime2
        h ^= h >> 29
        h &*= prime3
        h ^= h >> 32
        return h
    }
}

/// `value` rotated left by `count` bits (XXH64 and XXH3).
@inline(__always)
func rotateLeft(_ value: UInt64, _ count: UInt64) -> UInt64 {
    (value &<< count) | (value &>> (64 &- count))
}
