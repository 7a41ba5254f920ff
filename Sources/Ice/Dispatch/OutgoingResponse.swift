import NIOCore

/// A reply ready to be sent: the whole message (header, request id and size are filled in by
/// the connection), encoded once and handed to the transport without copies.
public struct OutgoingResponse: Sendable {
    public private(set) var status: ReplyStatus
    var stream: OutputStream

    /// The header, the request id placeholder and the status byte.
    static func start(_ status: ReplyStatus, encoding: EncodingVersion, sliced: Bool = false) -> OutputStream {
        var ostr = OutputStream(encoding: encoding, capacity: 256, slicedFormat: sliced)
        MessageHeader(type: .reply).write(to: &ostr)
        ostr.write(Int32(0))
        ostr.write(status.rawValue)
        return ostr
    }

    /// A successful reply whose out-parameters and return value `write` encodes (in the
    /// request's encoding).
    public init(ok current: Current, write: (inout OutputStream) -> Void) {
        var ostr = Self.start(.ok, encoding: current.encoding)
        ostr.startEncapsulation(encoding: current.encoding)
        write(&ostr)
        ostr.endEncapsulation()
        status = .ok
        stream = ostr
    }

    /// A successful reply with no out-parameters and no return value.
    public init(empty current: Current) {
        var ostr = Self.start(.ok, encoding: current.encoding)
        ostr.writeEmptyEncapsulation(encoding: current.encoding)
        status = .ok
        stream = ostr
    }

    /// The reply an error deserves: a user exception (status 1, in the sliced format when
    /// `sliced`), a request failure (2–4), or an unknown local / user / other error (5–7).
    public init(error: any Error, current: Current, sliced: Bool = false) {
        switch error {
        case let ex as UserException:
            let sliced = sliced || (current.adapter?.settings.slicedFormat ?? false)
            var ostr = Self.start(.userException, encoding: current.encoding, sliced: sliced)
            ostr.startEncapsulation(encoding: current.encoding)
            ostr.write(userException: ex)
            ostr.endEncapsulation()
            self.init(status: .userException, stream: ostr)
        case let ex as RequestFailedException:
            let s: ReplyStatus =
                ex is ObjectNotExistException ? .objectNotExist : ex is FacetNotExistException ? .facetNotExist : .operationNotExist
            var ostr = Self.start(s, encoding: current.encoding)
            let useCurrent = ex.operation.isEmpty
            (useCurrent ? current.id : ex.id).write(to: &ostr)
            writeFacet(useCurrent ? current.facet : ex.facet, to: &ostr)
            ostr.write(useCurrent ? current.operation : ex.operation)
            self.init(status: s, stream: ostr)
        case let ex as UnknownLocalException:
            self.init(unknown: .unknownLocalException, ex.unknown, current)
        case let ex as UnknownUserException:
            self.init(unknown: .unknownUserException, ex.unknown, current)
        case let ex as UnknownException:
            self.init(unknown: .unknownException, ex.unknown, current)
        case let ex as LocalException:
            self.init(unknown: .unknownLocalException, ex.description, current)
        default:
            self.init(unknown: .unknownException, "\(type(of: error)): \(error)", current)
        }
    }

    private init(unknown status: ReplyStatus, _ text: String, _ current: Current) {
        var ostr = Self.start(status, encoding: current.encoding)
        ostr.write(text)
        self.init(status: status, stream: ostr)
    }

    private init(status: ReplyStatus, stream: OutputStream) {
        self.status = status
        self.stream = stream
    }
}
