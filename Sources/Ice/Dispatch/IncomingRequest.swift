import NIOCore

/// A request received by an object adapter: its `Current` and its parameter encapsulation.
public struct IncomingRequest: Sendable {
    public let current: Current
    /// The parameter encapsulation, header included (a slice of the received message).
    public let params: ByteBuffer
    /// The request's compression status; a reply is compressed only if it was 1 or 2.
    let compression: UInt8

    public init(current: Current, params: ByteBuffer, compression: UInt8 = 0) {
        self.current = current
        self.params = params
        self.compression = compression
    }

    /// Reads the in-parameters with `body`, inside the parameter encapsulation; checks that
    /// nothing is left over.
    public func readParams<T>(_ body: (inout InputStream) throws -> T) throws -> T {
        var istr = InputStream(params)
        try istr.startEncapsulation()
        let value = try body(&istr)
        try istr.endEncapsulation()
        return value
    }

    /// Checks that the request carries no in-parameters.
    public func readEmptyParams() throws {
        try readParams { _ in () }
    }

    /// Checks the operation mode the client sent against the operation's Slice mode, as Ice
    /// servers do (an idempotent operation also accepts the deprecated nonmutating mode).
    public func checkMode(_ expected: OperationMode) throws {
        let received = current.mode
        let ok = expected == received || (expected == .idempotent && received == .nonmutating)
        guard ok else {
            throw MarshalException(
                "unexpected operation mode. expected = ::Ice::\(expected.sliceName) received = ::Ice::\(received.sliceName)")
        }
    }
}

extension OperationMode {
    var sliceName: String {
        switch self {
        case .normal: return "Normal"
        case .nonmutating: return "Nonmutating"
        case .idempotent: return "Idempotent"
        }
    }
}
