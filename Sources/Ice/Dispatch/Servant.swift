/// An object implementation that an object adapter dispatches requests to.
///
/// Mapped servant protocols (hand-written or generated from Slice) implement `dispatch` with a
/// `switch` on the operation name that calls one of `IncomingRequest`'s dispatch helpers. The
/// built-in operations (`ice_ping`, `ice_isA`, `ice_id`, `ice_ids`) are answered by the runtime
/// from `ice_ids` and `ice_id`.
public protocol Servant: AnyObject, Sendable {
    /// Every Slice type id this servant implements, including `::Ice::Object`.
    var ice_ids: [String] { get }
    /// The most-derived Slice type id.
    var ice_id: String { get }
    /// Dispatches `request`, or returns nil if the servant has no such operation.
    func dispatch(_ request: IncomingRequest) -> DispatchResult?
    /// Whether `operation` never blocks, so it may run on the connection's I/O thread instead
    /// of the server thread pool (AMD operations that only validate and queue work). The
    /// default: only the built-in operations.
    func dispatchesInline(_ operation: String) -> Bool
}

extension Servant {
    public func dispatchesInline(_ operation: String) -> Bool {
        Self.isBuiltinOperation(operation)
    }

    /// Whether `operation` is one the runtime answers itself (`ice_ping`, `ice_isA`, `ice_id`,
    /// `ice_ids`); these never block.
    public static func isBuiltinOperation(_ operation: String) -> Bool {
        operation.hasPrefix("ice_") && builtinOperations.contains(operation)
    }

    static var builtinOperations: Set<String> { ["ice_ping", "ice_isA", "ice_id", "ice_ids"] }
}

/// What a dispatch produced: a reply now, or a future that completes with it later (AMD).
public enum DispatchResult: Sendable {
    case response(OutgoingResponse)
    case future(Future<OutgoingResponse>)
}

extension Servant {
    /// Answers a built-in operation, or returns nil for any other operation.
    func dispatchBuiltin(_ request: IncomingRequest) -> DispatchResult? {
        let current = request.current
        switch current.operation {
        case "ice_ping":
            return request.dispatch(mode: nil, read: { _ in () }, write: { _, _ in }) { _ in () }
        case "ice_isA":
            return request.dispatch(mode: nil, read: { try $0.read(String.self) }, write: { $0.write($1) }) {
                self.ice_ids.contains($0)
            }
        case "ice_id":
            return request.dispatch(mode: nil, read: { _ in () }, write: { $0.write($1) }) { self.ice_id }
        case "ice_ids":
            return request.dispatch(mode: nil, read: { _ in () }, write: { $0.write($1) }) { self.ice_ids.sorted() }
        default:
            return nil
        }
    }
}
