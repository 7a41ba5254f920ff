import NIOCore

/// The part of a request (or batched request) that precedes its parameter encapsulation.
public struct RequestHeader: Sendable, Equatable {
    public var identity: Identity
    public var facet: String
    public var operation: String
    public var mode: OperationMode
    public var context: Context

    public init(identity: Identity, facet: String = "", operation: String, mode: OperationMode = .normal, context: Context = [:]) {
        self.identity = identity
        self.facet = facet
        self.operation = operation
        self.mode = mode
        self.context = context
    }

    public func write(to ostr: inout OutputStream) {
        identity.write(to: &ostr)
        writeFacet(facet, to: &ostr)
        ostr.write(operation)
        ostr.write(mode.rawValue)
        ostr.write(context: context)
    }

    public init(from istr: inout InputStream) throws {
        identity = try Identity(from: &istr)
        facet = try readFacet(from: &istr)
        operation = try istr.read(String.self)
        let m = try istr.read(UInt8.self)
        guard let mode = OperationMode(rawValue: m) else {
            throw MarshalException("invalid operation mode \(m)")
        }
        self.mode = mode
        context = try [String: String](from: &istr)
    }
}

/// Writes a facet as a sequence of zero or one string.
func writeFacet(_ facet: String, to ostr: inout OutputStream) {
    if facet.isEmpty {
        ostr.writeSize(0)
    } else {
        ostr.writeSize(1)
        ostr.write(facet)
    }
}

/// Reads a facet: a sequence that must hold zero or one string.
func readFacet(from istr: inout InputStream) throws -> String {
    switch try istr.readSize() {
    case 0: return ""
    case 1: return try istr.read(String.self)
    case let n: throw ProxyUnmarshalException("a facet sequence holds \(n) elements (at most 1 allowed)")
    }
}
