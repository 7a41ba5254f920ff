/// What a servant knows about the request it is dispatching.
public struct Current: Sendable {
    /// The object adapter that received the request (nil on a client-only connection).
    public let adapter: ObjectAdapter?
    /// The connection the request arrived on.
    public let connection: Connection?
    public let id: Identity
    public let facet: String
    public let operation: String
    public let mode: OperationMode
    /// The request context sent by the client.
    public let ctx: Context
    /// 0 for oneway and batched requests.
    public let requestId: Int32
    /// The encoding of the request's parameters; the reply uses the same one.
    public let encoding: EncodingVersion

    public init(
        adapter: ObjectAdapter? = nil, connection: Connection? = nil, id: Identity, facet: String = "",
        operation: String, mode: OperationMode = .normal, ctx: Context = [:], requestId: Int32 = 1,
        encoding: EncodingVersion = .v1_1
    ) {
        self.adapter = adapter
        self.connection = connection
        self.id = id
        self.facet = facet
        self.operation = operation
        self.mode = mode
        self.ctx = ctx
        self.requestId = requestId
        self.encoding = encoding
    }
}
