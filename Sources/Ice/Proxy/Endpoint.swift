/// A transport address of an Ice object or adapter.
public struct Endpoint: Hashable, Sendable {
    public enum Transport: Hashable, Sendable {
        case tcp
        case ssl
        case ws(resource: String)
        case wss(resource: String)
        case udp
        /// An endpoint of a type this runtime cannot use, kept as raw bytes so it can be re-marshaled.
        case opaque(type: Int16, encoding: EncodingVersion, bytes: [UInt8])
    }

    public var transport: Transport
    /// Host name or IP address; empty means the default host.
    public var host: String
    public var port: Int
    /// Timeout in milliseconds for connecting and for stalled transfers; -1 means infinite.
    public var timeout: Int32
    /// Whether the endpoint asks for bzip2-compressed messages (`-z`).
    public var compress: Bool
    /// Local address to bind before connecting (`--sourceAddress`), not marshaled.
    public var sourceAddress: String?

    public init(
        transport: Transport = .tcp, host: String, port: Int, timeout: Int32 = 60_000,
        compress: Bool = false, sourceAddress: String? = nil
    ) {
        self.transport = transport
        self.host = host
        self.port = port
        self.timeout = timeout
        self.compress = compress
        self.sourceAddress = sourceAddress
    }

    /// The marshaled endpoint type (1 tcp, 2 ssl, 3 udp, 4 ws, 5 wss, or the opaque type).
    public var type: Int16 {
        switch transport {
        case .tcp: return 1
        case .ssl: return 2
        case .udp: return 3
        case .ws: return 4
        case .wss: return 5
        case .opaque(let type, _, _): return type
        }
    }
}
