import NIOCore

/// A typed or untyped proxy: a value that names an Ice object and invokes operations on it.
///
/// Mapped proxies (hand-written or generated) are structs that conform by storing a
/// `Reference`; every `ice_*` method returns the same proxy type.
public protocol ObjectPrx: Sendable, CustomStringConvertible {
    var _reference: Reference { get }
    init(_reference: Reference)
    /// The Slice type id of the interface, used by `checkedCast`.
    static var ice_staticId: String { get }
}

/// The untyped proxy (`Ice::Object*`).
public struct ObjectProxy: ObjectPrx {
    public let _reference: Reference
    public init(_reference: Reference) { self._reference = _reference }
    public static var ice_staticId: String { "::Ice::Object" }
}

extension ObjectPrx {
    public var description: String { _reference.descriptor.description }

    public var ice_communicator: Communicator { _reference.communicator }
    public func ice_getIdentity() -> Identity { _reference.descriptor.identity }
    public func ice_getFacet() -> String { _reference.descriptor.facet }
    public func ice_getEndpoints() -> [Endpoint] { _reference.descriptor.endpoints }
    public func ice_getContext() -> Context { _reference.context }
    public var ice_isTwoway: Bool { _reference.descriptor.mode == .twoway }
    public var ice_isOneway: Bool { _reference.descriptor.mode == .oneway }
    public var ice_isBatchOneway: Bool { _reference.descriptor.mode == .batchOneway }

    private func with(_ change: (inout ProxyDescriptor) -> Void) -> Self {
        var d = _reference.descriptor
        change(&d)
        return Self(_reference: _reference.with(descriptor: d))
    }

    public func ice_twoway() -> Self { with { $0.mode = .twoway } }
    public func ice_oneway() -> Self { with { $0.mode = .oneway } }
    public func ice_batchOneway() -> Self { with { $0.mode = .batchOneway } }
    public func ice_identity(_ id: Identity) -> Self { with { $0.identity = id } }
    public func ice_facet(_ facet: String) -> Self { with { $0.facet = facet } }
    public func ice_endpoints(_ endpoints: [Endpoint]) -> Self { with { $0.endpoints = endpoints } }
    public func ice_context(_ context: Context) -> Self { Self(_reference: _reference.with(context: context)) }
    public func ice_compress(_ compress: Bool) -> Self { Self(_reference: _reference.with(compress: .some(compress))) }
    public func ice_connectionId(_ id: String) -> Self { Self(_reference: _reference.with(connectionId: id)) }

    /// Sets the invocation timeout in milliseconds (-1: none): an invocation without a reply by
    /// then fails with `InvocationTimeoutException`, and its late reply is ignored.
    public func ice_invocationTimeout(_ milliseconds: Int) -> Self {
        Self(_reference: _reference.with(invocationTimeout: milliseconds))
    }

    /// The connection this proxy uses, establishing it if needed.
    public func ice_getConnectionAsync() -> Future<Connection> {
        do {
            let c = try _reference.connection()
            return c.validatedFuture.map { c }
        } catch {
            return Future.failed(error)
        }
    }

    public func ice_getConnection() throws -> Connection {
        try ice_getConnectionAsync().result()
    }

    /// Sends the batch requests queued on this proxy's connection.
    public func ice_flushBatchRequestsAsync() -> InvocationFuture<Void> {
        do {
            return try _reference.connection().flushBatchRequestsAsync()
        } catch {
            let f = InvocationFuture<Void>(operation: "ice_flushBatchRequests")
            f.setException(error)
            return f
        }
    }

    public func ice_flushBatchRequests() throws {
        try ice_flushBatchRequestsAsync().result()
    }

    // MARK: Built-in operations

    public func ice_pingAsync(context: Context? = nil) throws -> InvocationFuture<Void> {
        try _invoke("ice_ping", mode: .nonmutating, returnsData: false, context: context)
    }

    public func ice_ping(context: Context? = nil) throws {
        try ice_pingAsync(context: context).result()
    }

    public func ice_isAAsync(_ typeId: String, context: Context? = nil) throws -> InvocationFuture<Bool> {
        try _invoke("ice_isA", mode: .nonmutating, context: context, write: { $0.write(typeId) }, read: { try $0.read(Bool.self) })
    }

    public func ice_isA(_ typeId: String, context: Context? = nil) throws -> Bool {
        try ice_isAAsync(typeId, context: context).result()
    }

    public func ice_idAsync(context: Context? = nil) throws -> InvocationFuture<String> {
        try _invoke("ice_id", mode: .nonmutating, context: context, read: { try $0.read(String.self) })
    }

    public func ice_id(context: Context? = nil) throws -> String {
        try ice_idAsync(context: context).result()
    }

    public func ice_idsAsync(context: Context? = nil) throws -> InvocationFuture<[String]> {
        try _invoke("ice_ids", mode: .nonmutating, context: context, read: { try $0.read([String].self) })
    }

    public func ice_ids(context: Context? = nil) throws -> [String] {
        try ice_idsAsync(context: context).result()
    }
}

/// Returns `proxy` as a `P` if the target object implements `P` (asks it with `ice_isA`), nil
/// otherwise.
public func checkedCast<P: ObjectPrx>(_ proxy: (any ObjectPrx)?, to type: P.Type, context: Context? = nil) throws -> P? {
    guard let proxy else { return nil }
    let candidate = P(_reference: proxy._reference)
    return try candidate.ice_isA(P.ice_staticId, context: context) ? candidate : nil
}

/// Returns `proxy` as a `P` without asking the server.
public func uncheckedCast<P: ObjectPrx>(_ proxy: (any ObjectPrx)?, to type: P.Type) -> P? {
    proxy.map { P(_reference: $0._reference) }
}

// MARK: - Marshaling proxies

extension OutputStream {
    /// Writes a proxy (or null) in encoding 1.1.
    public mutating func write(proxy: (any ObjectPrx)?) {
        guard let proxy else {
            Identity(name: "").write(to: &self)
            return
        }
        let d = proxy._reference.descriptor
        d.identity.write(to: &self)
        writeFacet(d.facet, to: &self)
        write(d.mode.rawValue)
        write(d.secure)
        write(d.protocolVersion.major)
        write(d.protocolVersion.minor)
        write(d.encoding.major)
        write(d.encoding.minor)
        writeSize(d.endpoints.count)
        if d.endpoints.isEmpty {
            write(d.adapterId)
        }
        for e in d.endpoints {
            write(e.type)
            switch e.transport {
            case .opaque(_, let encoding, let bytes):
                write(Int32(6 + bytes.count))
                write(encoding.major)
                write(encoding.minor)
                writeRaw(bytes)
            default:
                startEncapsulation(encoding: .v1_1)
                write(e.host)
                write(Int32(e.port))
                if e.type != 3 { write(e.timeout) }
                write(e.compress)
                switch e.transport {
                case .ws(let r), .wss(let r): write(r)
                default: break
                }
                endEncapsulation()
            }
        }
    }
}

extension InputStream {
    /// Reads a proxy (nil for the null proxy) bound to `communicator`.
    public mutating func readProxy<P: ObjectPrx>(_ type: P.Type = ObjectProxy.self, communicator: Communicator) throws -> P? {
        let identity = try Identity(from: &self)
        if identity.name.isEmpty && identity.category.isEmpty { return nil }
        let facet = try readFacet(from: &self)
        let rawMode = try read(UInt8.self)
        guard let mode = ProxyMode(rawValue: rawMode) else {
            throw ProxyUnmarshalException("invalid proxy mode \(rawMode)")
        }
        let secure = try read(Bool.self)
        var d = ProxyDescriptor(identity: identity, facet: facet, mode: mode, secure: secure)
        if encoding != .v1_0 {
            d.protocolVersion = ProtocolVersion(major: try read(UInt8.self), minor: try read(UInt8.self))
            d.encoding = EncodingVersion(major: try read(UInt8.self), minor: try read(UInt8.self))
        }
        let count = try readAndCheckSeqSize(minSize: 8)
        if count == 0 {
            d.adapterId = try read(String.self)
        }
        for _ in 0..<count {
            let type = try read(Int16.self)
            let encaps = try readEncapsulation()
            var inner = InputStream(encaps)
            let e = try inner.startEncapsulation()
            switch type {
            case 1, 2, 4, 5:
                let host = try inner.read(String.self)
                let port = Int(try inner.read(Int32.self))
                let timeout = try inner.read(Int32.self)
                let compress = try inner.read(Bool.self)
                var transport: Endpoint.Transport = type == 1 ? .tcp : .ssl
                if type == 4 { transport = .ws(resource: try inner.read(String.self)) }
                if type == 5 { transport = .wss(resource: try inner.read(String.self)) }
                try inner.endEncapsulation()
                d.endpoints.append(Endpoint(transport: transport, host: host, port: port, timeout: timeout, compress: compress))
            default:
                let bytes = try inner.readSlice(count: inner.remaining)
                d.endpoints.append(Endpoint(
                    transport: .opaque(type: type, encoding: e, bytes: Array(buffer: bytes)), host: "", port: 0))
            }
        }
        return P(_reference: Reference(communicator: communicator, descriptor: d))
    }
}
