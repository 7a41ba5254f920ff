/// Base of every error the Ice runtime itself raises (as opposed to a servant's user
/// exceptions). Subclasses mirror the `::Ice::*` local exception hierarchy, so `catch let e as
/// SocketException` catches `ConnectionRefusedException` too.
open class LocalException: Error, CustomStringConvertible, @unchecked Sendable {
    /// What went wrong, in words meant for a person.
    public let message: String

    public required init(_ message: String = "") {
        self.message = message
    }

    /// The Slice type id of this exception, e.g. `::Ice::ConnectionLostException`.
    open class var typeId: String { "::Ice::LocalException" }

    public var ice_id: String { Self.typeId }

    open var description: String {
        message.isEmpty ? Self.typeId : "\(Self.typeId): \(message)"
    }
}

// MARK: - Protocol errors

open class ProtocolException: LocalException, @unchecked Sendable {
    open override class var typeId: String { "::Ice::ProtocolException" }
}
public final class BadMagicException: ProtocolException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::BadMagicException" }
}
public final class UnsupportedProtocolException: ProtocolException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::UnsupportedProtocolException" }
}
public final class UnsupportedEncodingException: ProtocolException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::UnsupportedEncodingException" }
}
public final class UnknownMessageException: ProtocolException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::UnknownMessageException" }
}
public final class IllegalMessageSizeException: ProtocolException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::IllegalMessageSizeException" }
}
public final class CompressionException: ProtocolException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::CompressionException" }
}
public final class UnknownReplyStatusException: ProtocolException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::UnknownReplyStatusException" }
}
public final class ConnectionNotValidatedException: ProtocolException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::ConnectionNotValidatedException" }
}
/// The peer closed the connection gracefully while requests were outstanding; always retried.
public final class CloseConnectionException: ProtocolException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::CloseConnectionException" }
}
open class MarshalException: ProtocolException, @unchecked Sendable {
    open override class var typeId: String { "::Ice::MarshalException" }
}
public final class UnmarshalOutOfBoundsException: MarshalException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::UnmarshalOutOfBoundsException" }
}
public final class EncapsulationException: MarshalException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::EncapsulationException" }
}
public final class ProxyUnmarshalException: MarshalException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::ProxyUnmarshalException" }
}
/// A message is larger than `Ice.MessageSizeMax` allows.
public final class MemoryLimitException: MarshalException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::MemoryLimitException" }
}

// MARK: - System and socket errors

open class SyscallException: LocalException, @unchecked Sendable {
    open override class var typeId: String { "::Ice::SyscallException" }
}
open class SocketException: SyscallException, @unchecked Sendable {
    open override class var typeId: String { "::Ice::SocketException" }
}
open class ConnectFailedException: SocketException, @unchecked Sendable {
    open override class var typeId: String { "::Ice::ConnectFailedException" }
}
public final class ConnectionRefusedException: ConnectFailedException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::ConnectionRefusedException" }
}
/// The connection broke (EOF or reset) while it was in use.
public final class ConnectionLostException: SocketException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::ConnectionLostException" }
}
public final class DNSException: LocalException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::DNSException" }
}

// MARK: - Timeouts

/// A wait or a transfer took longer than allowed; also raised by `Future.result(timeout:)`.
open class TimeoutException: LocalException, @unchecked Sendable {
    open override class var typeId: String { "::Ice::TimeoutException" }
}
public final class ConnectTimeoutException: TimeoutException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::ConnectTimeoutException" }
}
public final class ConnectionTimeoutException: TimeoutException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::ConnectionTimeoutException" }
}
public final class CloseTimeoutException: TimeoutException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::CloseTimeoutException" }
}
/// The proxy's invocation timeout expired before the reply arrived.
public final class InvocationTimeoutException: TimeoutException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::InvocationTimeoutException" }
}

// MARK: - Invocation and life-cycle errors

public final class InvocationCanceledException: LocalException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::InvocationCanceledException" }
}
public final class CommunicatorDestroyedException: LocalException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::CommunicatorDestroyedException" }
}
/// An operation that returns data was called through a oneway or batch proxy; nothing was sent.
public final class TwowayOnlyException: LocalException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::TwowayOnlyException" }
}
public final class ObjectAdapterDeactivatedException: LocalException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::ObjectAdapterDeactivatedException" }
}
public final class ConnectionManuallyClosedException: LocalException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::ConnectionManuallyClosedException" }
}
public final class FeatureNotSupportedException: LocalException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::FeatureNotSupportedException" }
}
public final class InitializationException: LocalException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::InitializationException" }
}
public final class AlreadyRegisteredException: LocalException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::AlreadyRegisteredException" }
}
public final class NotRegisteredException: LocalException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::NotRegisteredException" }
}
public final class NoEndpointException: LocalException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::NoEndpointException" }
}
public final class FixedProxyException: LocalException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::FixedProxyException" }
}

// MARK: - Parse errors

public final class ProxyParseException: LocalException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::ProxyParseException" }
}
public final class EndpointParseException: LocalException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::EndpointParseException" }
}
public final class IdentityParseException: LocalException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::IdentityParseException" }
}

// MARK: - Errors reported by the server in a reply

/// The server could not find the target object, facet or operation (reply status 2, 3, 4).
open class RequestFailedException: LocalException, @unchecked Sendable {
    public private(set) var id = Identity(name: "")
    public private(set) var facet = ""
    public private(set) var operation = ""

    public convenience init(id: Identity, facet: String, operation: String) {
        let target = facet.isEmpty ? "'\(id.category.isEmpty ? id.name : id.category + "/" + id.name)'"
            : "'\(id.name)' facet '\(facet)'"
        self.init("\(target), operation '\(operation)'")
        self.id = id
        self.facet = facet
        self.operation = operation
    }

    open override class var typeId: String { "::Ice::RequestFailedException" }
}
public final class ObjectNotExistException: RequestFailedException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::ObjectNotExistException" }
}
public final class FacetNotExistException: RequestFailedException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::FacetNotExistException" }
}
public final class OperationNotExistException: RequestFailedException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::OperationNotExistException" }
}

/// The server failed with an error it could not send as such (reply status 5, 6, 7); `unknown`
/// holds the server's description.
open class UnknownException: LocalException, @unchecked Sendable {
    public var unknown: String { message }
    open override class var typeId: String { "::Ice::UnknownException" }
}
public final class UnknownLocalException: UnknownException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::UnknownLocalException" }
}
/// A user exception the operation does not declare (or a server-side `UnknownUserException`).
public final class UnknownUserException: UnknownException, @unchecked Sendable {
    public override class var typeId: String { "::Ice::UnknownUserException" }
}
