/// How a proxy invokes operations.
public enum ProxyMode: UInt8, Sendable, Hashable {
    case twoway = 0
    case oneway = 1
    case batchOneway = 2
    case datagram = 3
    case batchDatagram = 4

    /// Whether invocations through this mode can carry a reply.
    public var isTwoway: Bool { self == .twoway }
    /// Whether invocations through this mode are queued until a flush.
    public var isBatch: Bool { self == .batchOneway || self == .batchDatagram }
}

/// The parsed, transport-independent description of a proxy: everything its stringified and
/// marshaled forms carry.
public struct ProxyDescriptor: Hashable, Sendable {
    public var identity: Identity
    public var facet: String
    public var mode: ProxyMode
    public var secure: Bool
    public var protocolVersion: ProtocolVersion
    public var encoding: EncodingVersion
    public var endpoints: [Endpoint]
    /// Set for indirect proxies (`ident @ adapter`), which have no endpoints.
    public var adapterId: String

    public init(
        identity: Identity, facet: String = "", mode: ProxyMode = .twoway, secure: Bool = false,
        protocolVersion: ProtocolVersion = .v1_0, encoding: EncodingVersion = .v1_1,
        endpoints: [Endpoint] = [], adapterId: String = ""
    ) {
        self.identity = identity
        self.facet = facet
        self.mode = mode
        self.secure = secure
        self.protocolVersion = protocolVersion
        self.encoding = encoding
        self.endpoints = endpoints
        self.adapterId = adapterId
    }
}
