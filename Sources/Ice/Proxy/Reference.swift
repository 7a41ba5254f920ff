/// Everything a proxy knows: its target, its invocation settings and its communicator.
/// Immutable; the `ice_*` factory methods make modified copies.
public final class Reference: Sendable {
    public let communicator: Communicator
    public let descriptor: ProxyDescriptor
    /// The proxy's context, sent with each request that has no explicit context.
    public let context: Context
    /// Invocation timeout in milliseconds; -1 means none.
    public let invocationTimeout: Int
    /// Overrides the endpoints' compression flag when set (`ice_compress`).
    public let compress: Bool?
    /// Proxies with different connection ids use different connections.
    public let connectionId: String
    /// Set for proxies bound to one connection (`Connection.createProxy`).
    let fixedConnection: Connection?

    init(
        communicator: Communicator, descriptor: ProxyDescriptor, context: Context = [:],
        invocationTimeout: Int = -1, compress: Bool? = nil, connectionId: String = "",
        fixedConnection: Connection? = nil
    ) {
        self.communicator = communicator
        self.descriptor = descriptor
        self.context = context
        self.invocationTimeout = invocationTimeout
        self.compress = compress
        self.connectionId = connectionId
        self.fixedConnection = fixedConnection
    }

    func with(
        descriptor: ProxyDescriptor? = nil, context: Context? = nil, invocationTimeout: Int? = nil,
        compress: Bool?? = nil, connectionId: String? = nil
    ) -> Reference {
        Reference(
            communicator: communicator, descriptor: descriptor ?? self.descriptor, context: context ?? self.context,
            invocationTimeout: invocationTimeout ?? self.invocationTimeout, compress: compress ?? self.compress,
            connectionId: connectionId ?? self.connectionId, fixedConnection: fixedConnection)
    }

    /// Whether requests through this reference ask for bzip2 compression.
    var compressRequests: Bool { compress ?? (descriptor.endpoints.first?.compress ?? false) }

    /// The connection requests go out on: the fixed one, or the shared connection to the first
    /// endpoint (created, and connected in the background, if there is none).
    func connection() throws -> Connection {
        if let fixedConnection { return fixedConnection }
        guard let endpoint = descriptor.endpoints.first else {
            throw NoEndpointException("proxy '\(descriptor.identity.name)' has no endpoints (indirect proxies need a locator, which this runtime does not support)")
        }
        return try communicator.connectionFactory.connection(to: endpoint, connectionId: connectionId)
    }
}
