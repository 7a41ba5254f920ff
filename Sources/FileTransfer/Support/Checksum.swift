/// The checksums of the file-transfer contract.
public enum ChecksumAlgorithm: String, Sendable, CaseIterable, Codable {
    /// XXH3-64, seed 0 (`XXH3`): the default. The fastest (about 29 GB/s here), detects transfer
    /// errors, not cryptographic.
    case xxh3
    /// XXH64, seed 0 (`XXH64`): the default of earlier versions; about half as fast as XXH3.
    case xxh64
    /// SHA-256: cryptographic, comparable with `sha256sum`, about 8 times slower than XXH64.
    case sha256

    /// The checksum the server keeps up to date while an upload arrives (a commit with it does
    /// not read the file again) and that `stat` and `list` report: what clients commit with
    /// unless told otherwise.
    public static let standard = ChecksumAlgorithm.xxh3

    /// Hexadecimal digits of a digest: 16 for XXH3 and XXH64, 64 for SHA-256.
    public var hexLength: Int {
        switch self {
        case .xxh3, .xxh64: return 16
        case .sha256: return 64
        }
    }

    /// How people write its name: `XXH3`, `XXH64`, `SHA-256`.
    public var displayName: String {
        switch self {
        case .xxh3: return "XXH3"
        case .xxh64: return "XXH64"
        case .sha256: return "SHA-256"
        }
    }

    /// The algorithm named `text` (`xxh3`, `xxh64` or `sha256`, any case, surrounding blanks ignored).
    public init?(parsing text: String) {
        self.init(rawValue: text.trimmingASCIIWhitespace().lowercased())
    }
}

/// A checksum as it travels in the contract: its algorithm and its digest in lowercase hex,
/// written `"xxh3:<16 hex digits>"`, `"xxh64:<16 hex digits>"` or `"sha256:<64 hex digits>"`.
///
/// For compatibility with clients written before XXH64 existed, a bare 64-digit hex string
/// also parses, as SHA-256. Hex digits may be in either case; the value keeps them in
/// lowercase, so equal digests compare equal.
public struct Checksum: Hashable, Sendable, CustomStringConvertible {
    public let algorithm: ChecksumAlgorithm
    /// The digest: `algorithm.hexLength` lowercase hexadecimal digits.
    public let hex: String

    /// The formats `init(parsing:)` accepts, for error messages.
    public static let acceptedFormats =
        "\"xxh3:\" or \"xxh64:\" followed by 16 hexadecimal digits, \"sha256:\" followed by 64, or 64 hexadecimal digits alone (SHA-256)"

    /// A checksum of `algorithm` with digest `hex`; nil unless `hex` has exactly
    /// `algorithm.hexLength` hexadecimal digits.
    public init?(algorithm: ChecksumAlgorithm, hex: String) {
        guard hex.utf8.count == algorithm.hexLength, hex.utf8.allSatisfy(Self.isHexDigit) else { return nil }
        self.algorithm = algorithm
        self.hex = hex.lowercased()
    }

    /// A digest this module computed: already `algorithm.hexLength` lowercase digits.
    init(algorithm: ChecksumAlgorithm, lowercaseHex: String) {
        self.algorithm = algorithm
        self.hex = lowercaseHex
    }

    /// An XXH3 value.
    public init(xxh3 value: UInt64) {
        algorithm = .xxh3
        hex = XXH64.canonicalHex(value)
    }

    /// An XXH64 value.
    public init(xxh64 value: UInt64) {
        algorithm = .xxh64
        hex = XXH64.canonicalHex(value)
    }

    /// Parses `"xxh3:<hex>"`, `"xxh64:<hex>"`, `"sha256:<hex>"` (algorithm names in any case) or a bare
    /// 64-digit hex string (SHA-256); nil for anything else.
    public init?(parsing text: String) {
        if let colon = text.firstIndex(of: ":") {
            guard let algorithm = ChecksumAlgorithm(rawValue: text[..<colon].lowercased()) else { return nil }
            self.init(algorithm: algorithm, hex: String(text[text.index(after: colon)...]))
        } else {
            self.init(algorithm: .sha256, hex: text)
        }
    }

    /// The checksum of `bytes` with `algorithm`.
    public init(of bytes: UnsafeRawBufferPointer, algorithm: ChecksumAlgorithm) {
        var hasher = ChecksumHasher(algorithm)
        hasher.update(bytes)
        self = hasher.finalize()
    }

    /// The checksum of `bytes` with `algorithm`.
    public init<Bytes: Sequence>(of bytes: Bytes, algorithm: ChecksumAlgorithm) where Bytes.Element == UInt8 {
        let array = Array(bytes)
        self = array.withUnsafeBytes { Checksum(of: $0, algorithm: algorithm) }
    }

    /// The self-describing form, `"<algorithm>:<hex>"`, as sent in `commit` and `FileInfo`.
    public var description: String { "\(algorithm.rawValue):\(hex)" }

    /// `"<algorithm> <hex>"`, for text meant for people.
    public var displayText: String { "\(algorithm.rawValue) \(hex)" }

    /// `bytes` as lowercase hexadecimal digits, two per byte.
    static func lowercaseHex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }
}

extension Sequence where Element == Checksum {
    /// The first checksum of `algorithm`, if any.
    public func first(_ algorithm: ChecksumAlgorithm) -> Checksum? {
        first { $0.algorithm == algorithm }
    }
}
