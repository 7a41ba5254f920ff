/// The status byte of a reply message.
public enum ReplyStatus: UInt8, Sendable {
    case ok = 0
    case userException = 1
    case objectNotExist = 2
    case facetNotExist = 3
    case operationNotExist = 4
    case unknownLocalException = 5
    case unknownUserException = 6
    case unknownException = 7
}

/// The operation mode sent with each request.
public enum OperationMode: UInt8, Sendable {
    case normal = 0
    /// Deprecated; still sent by the built-in `ice_*` operations.
    case nonmutating = 1
    case idempotent = 2
}
