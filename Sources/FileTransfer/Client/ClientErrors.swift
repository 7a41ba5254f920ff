import Foundation
import Ice

/// A problem with the local file: missing, unreadable, changed while being read, or (for
/// `get`) impossible to create.
public struct LocalFileError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        case notFound
        case unreadable
        case changed
        case cannotCreate
    }

    public let kind: Kind
    public let path: String
    public let reason: String

    public init(_ kind: Kind, path: String, reason: String) {
        self.kind = kind
        self.path = path
        self.reason = reason
    }

    public var description: String {
        switch kind {
        case .notFound: return "local file not found: \(path): \(reason)"
        case .unreadable: return "cannot read local file \(path): \(reason)"
        case .changed: return "local file changed while being sent: \(path): \(reason)"
        case .cannotCreate: return "cannot write local file \(path): \(reason)"
        }
    }
}

/// The server could not be reached, or the connection kept failing after every retry.
public struct ConnectionFailedError: Error, CustomStringConvertible, @unchecked Sendable {
    /// The proxy (or endpoint) the client was using.
    public let target: String
    /// How many times the client tried to reconnect.
    public let attempts: Int
    /// The last connection error.
    public let underlying: any Error
    /// What the user might do about it, if the client has a guess.
    public let hint: String?

    public init(target: String, attempts: Int, underlying: any Error, hint: String? = nil) {
        self.target = target
        self.attempts = attempts
        self.underlying = underlying
        self.hint = hint
    }

    public var description: String {
        let tries = attempts > 0 ? " (gave up after \(attempts) reconnection attempt\(attempts == 1 ? "" : "s"))" : ""
        return "cannot reach the server at \(target): \(ClientErrors.describeLocal(underlying))\(tries)"
            + (hint.map { "; \($0)" } ?? "")
    }
}

/// A downloaded file does not have the checksum the server reported.
public struct ChecksumMismatchError: Error, CustomStringConvertible, Sendable {
    public let path: String
    /// The server's checksum.
    public let expected: Checksum
    /// The downloaded data's, in the same algorithm.
    public let actual: Checksum

    public var description: String {
        "checksum mismatch for \(path): expected \(expected.displayText), got \(actual.displayText); the file was not kept"
    }
}

/// Invalid options or configuration.
public struct UsageError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// ftclient's exit statuses (sysexits.h values).
public enum ClientExitCode: Int32, Sendable, CaseIterable {
    /// Success.
    case ok = 0
    /// Invalid command line, option value, proxy or configuration file (EX_USAGE).
    case usage = 64
    /// The server refused the request: a `TransferError` other than `IntegrityError` (EX_DATAERR).
    case refused = 65
    /// The local file does not exist or cannot be read (EX_NOINPUT).
    case noInput = 66
    /// The server cannot be reached, or the connection failed after every retry (EX_UNAVAILABLE).
    case unavailable = 69
    /// An unexpected internal or server-side error (EX_SOFTWARE).
    case software = 70
    /// `get` cannot create or write the local file (EX_CANTCREAT).
    case cannotCreate = 73
    /// Checksum mismatch: the server's `IntegrityError` on commit, or a download that does not
    /// match the server's checksum (EX_IOERR).
    case integrity = 74
}

/// How ftclient classifies and explains errors.
public enum ClientErrors {
    /// The exit status for `error`.
    public static func exitCode(for error: any Error) -> ClientExitCode {
        switch error {
        case is IntegrityError, is ChecksumMismatchError:
            return .integrity
        case is TransferError:
            return .refused
        case let e as LocalFileError:
            return e.kind == .cannotCreate ? .cannotCreate : .noInput
        case is ConnectionFailedError:
            return .unavailable
        case is UsageError, is ProxyParseException, is EndpointParseException, is IdentityParseException,
            is InitializationException:
            return .usage
        case is ObjectNotExistException, is NoEndpointException, is DNSException:
            return .unavailable
        default:
            return isConnectionFailure(error) ? .unavailable : .software
        }
    }

    /// A one-line explanation of `error` for a person (without the program name).
    public static func message(for error: any Error) -> String {
        switch error {
        case let e as IntegrityError:
            return "integrity check failed: \(typeName(e)): \(e.reason) (expected: \(e.expected), actual: \(e.actual))"
        case let e as TransferError:
            return "refused by server: \(typeName(e)): \(e.reason)\(details(e))"
        case let e as ObjectNotExistException:
            return "no such object on the server (\(e.message)); check the proxy's identity (the store is usually `store`)"
        case let e as MemoryLimitException:
            return "\(e.message)"
        case let e as UnknownException:
            return "the server failed: \(e.unknown)"
        case let e as LocalException:
            return describeLocal(e)
        default:
            return "\(error)"
        }
    }

    /// The exception's Slice name without its module, e.g. `PathError`.
    static func typeName(_ e: TransferError) -> String {
        let id = e.ice_id
        if let r = id.range(of: "::", options: .backwards) { return String(id[r.upperBound...]) }
        return id
    }

    private static func details(_ e: TransferError) -> String {
        switch e {
        case let p as PathError: return " (path: \(p.path))"
        case let c as ConflictError: return " (path: \(c.path))"
        case let r as RangeError: return " (offset: \(r.offset), length: \(r.length), size: \(r.size))"
        default: return ""
        }
    }

    static func describeLocal(_ error: any Error) -> String {
        if let e = error as? LocalException {
            let name = type(of: e).typeId.replacingOccurrences(of: "::Ice::", with: "")
            return e.message.isEmpty ? name : "\(name): \(e.message)"
        }
        return "\(error)"
    }

    /// Whether `error` means the connection failed or could not be made: worth reconnecting
    /// and resuming.
    public static func isConnectionFailure(_ error: any Error) -> Bool {
        switch error {
        case is ConnectionFailedError:
            return true
        case is SocketException, is CloseConnectionException, is ConnectionManuallyClosedException,
            is TimeoutException, is ConnectionNotValidatedException:
            return true
        default:
            return false
        }
    }
}

/// Runs `body`, retrying after connection failures: at most `retries` more times, waiting
/// `initialDelay` and then twice as long each time (up to 5 s). The last failure becomes a
/// `ConnectionFailedError` naming `target`. For single idempotent requests (`stat`, `list`).
public func withConnectionRetries<T>(
    target: String, retries: Int, initialDelay: Duration = .milliseconds(200),
    onRetry: ((_ attempt: Int, _ error: any Error) -> Void)? = nil, _ body: () throws -> T
) throws -> T {
    var attempt = 0
    var delay = initialDelay
    while true {
        do {
            return try body()
        } catch where ClientErrors.isConnectionFailure(error) {
            attempt += 1
            if attempt > retries {
                throw ConnectionFailedError(target: target, attempts: attempt - 1, underlying: error)
            }
            onRetry?(attempt, error)
            sleepFor(delay)
            delay = min(delay * 2, .seconds(5))
        }
    }
}
