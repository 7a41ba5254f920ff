/// An Ice encoding version (`major.minor`), e.g. 1.1 for data encapsulations.
public struct EncodingVersion: Hashable, Sendable, CustomStringConvertible {
    public var major: UInt8
    public var minor: UInt8

    public init(major: UInt8, minor: UInt8) {
        self.major = major
        self.minor = minor
    }

    /// Encoding 1.0: the header encoding of every protocol 1.0 message.
    public static let v1_0 = EncodingVersion(major: 1, minor: 0)
    /// Encoding 1.1: the data encoding this runtime writes.
    public static let v1_1 = EncodingVersion(major: 1, minor: 1)

    /// Whether this runtime can read data in this encoding.
    public var isSupported: Bool { major == 1 && minor <= 1 }

    public var description: String { "\(major).\(minor)" }
}

/// An Ice protocol version; this runtime speaks protocol 1.0.
public struct ProtocolVersion: Hashable, Sendable, CustomStringConvertible {
    public var major: UInt8
    public var minor: UInt8

    public init(major: UInt8, minor: UInt8) {
        self.major = major
        self.minor = minor
    }

    public static let v1_0 = ProtocolVersion(major: 1, minor: 0)

    public var description: String { "\(major).\(minor)" }
}
