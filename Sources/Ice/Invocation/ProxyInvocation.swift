import NIOConcurrencyHelpers
import NIOCore

/// One twoway or oneway invocation in flight: sends the encoded request on the proxy's
/// connection, decodes the reply into the future, and retries as Ice does (requests not yet
/// sent, idempotent ones, and ones refused by a graceful close).
final class ProxyInvocation<T: Sendable>: ReplyHandler, @unchecked Sendable {
    let future: InvocationFuture<T>
    let reference: Reference
    let mode: OperationMode
    let twoway: Bool
    let segments: [ByteBuffer]
    let size: Int
    let read: @Sendable (inout InputStream) throws -> T
    let userExceptions: [UserException.Type]

    private let lock = NIOLock()
    private var connection: Connection?
    private var attempts = 0

    init(
        future: InvocationFuture<T>, reference: Reference, mode: OperationMode, twoway: Bool,
        segments: [ByteBuffer], size: Int, read: @escaping @Sendable (inout InputStream) throws -> T,
        userExceptions: [UserException.Type]
    ) {
        self.future = future
        self.reference = reference
        self.mode = mode
        self.twoway = twoway
        self.segments = segments
        self.size = size
        self.read = read
        self.userExceptions = userExceptions
    }

    func start() {
        future.setCancelHandler { [self] _ in abandon() }
        if reference.invocationTimeout > 0 {
            let timeout = reference.invocationTimeout
            let task = reference.communicator.eventLoopGroup.next().scheduleTask(in: .milliseconds(Int64(timeout))) { [self] in
                abandon()
                future.setException(InvocationTimeoutException("no reply within the invocation timeout of \(timeout) ms"))
            }
            future.addDoneCallback { _ in task.cancel() }
        }
        attempt()
    }

    private func attempt() {
        guard !future.isDone else { return }
        let connection: Connection
        do {
            connection = try reference.connection()
        } catch {
            future.setException(error)
            return
        }
        lock.withLock { self.connection = connection }
        future.setConnection(connection)
        let message = OutgoingMessage(
            segments: segments, size: size, replyHandler: twoway ? self : nil,
            onSentLater: { [self] in sent(synchronously: false) },
            onFailedUnsent: { [self] error in handleConnectionFailure(error, sent: false) },
            compress: reference.compressRequests, owner: self)
        switch connection.send(message) {
        case .sentSynchronously: sent(synchronously: true)
        case .queued: break
        case .failed(let error): handleConnectionFailure(error, sent: false)
        }
    }

    private func sent(synchronously: Bool) {
        future.setSent(synchronously)
        if !twoway {
            future.complete(with: Result { var empty = InputStream(ByteBuffer()); return try read(&empty) })
        }
    }

    /// Cancel or timeout: a queued request is never sent, a sent one's reply is ignored.
    private func abandon() {
        lock.withLock { connection }?.abandon(self)
    }

    // MARK: ReplyHandler

    func handleReply(status: UInt8, body: InputStream, connection: Connection) {
        if !future.isSent { future.setSent(true) }
        var istr = body
        do {
            switch ReplyStatus(rawValue: status) {
            case .ok:
                try istr.startEncapsulation()
                let value = try read(&istr)
                try istr.endEncapsulation()
                future.setResult(value)
            case .userException:
                try istr.startEncapsulation()
                let ex = try istr.readUserException(knownTypes: userExceptions)
                future.setException(ex)
            case .objectNotExist, .facetNotExist, .operationNotExist:
                let id = try Identity(from: &istr)
                let facet = try readFacet(from: &istr)
                let op = try istr.read(String.self)
                let error: RequestFailedException =
                    status == 2 ? ObjectNotExistException(id: id, facet: facet, operation: op)
                    : status == 3 ? FacetNotExistException(id: id, facet: facet, operation: op)
                    : OperationNotExistException(id: id, facet: facet, operation: op)
                future.setException(error)
            case .unknownLocalException, .unknownUserException, .unknownException:
                let text = try istr.read(String.self)
                let error: UnknownException =
                    status == 5 ? UnknownLocalException(text) : status == 6 ? UnknownUserException(text) : UnknownException(text)
                if mode != .normal, retry(after: error) { return }
                future.setException(error)
            case nil:
                future.setException(UnknownReplyStatusException("unknown reply status \(status)"))
            }
        } catch let error as UnknownUserException {
            future.setException(error)
        } catch {
            future.setException(error is MarshalException ? error : MarshalException("cannot decode the reply to '\(future.operation)': \(error)"))
        }
    }

    func handleConnectionFailure(_ error: any Error, sent: Bool) {
        guard !future.isDone else { return }
        if isRetryable(error, sent: sent), retry(after: error) { return }
        future.setException(error)
    }

    private func isRetryable(_ error: any Error, sent: Bool) -> Bool {
        if reference.fixedConnection != nil { return false }
        switch error {
        case is CloseConnectionException: return true
        case is InvocationCanceledException, is InvocationTimeoutException, is CommunicatorDestroyedException,
            is ConnectionManuallyClosedException, is MarshalException, is ObjectAdapterDeactivatedException:
            return false
        default:
            return !sent || mode != .normal
        }
    }

    /// Schedules another attempt if `Ice.RetryIntervals` allows one; returns whether it did.
    private func retry(after error: any Error) -> Bool {
        guard reference.fixedConnection == nil else { return false }
        let intervals = reference.communicator.settings.retryIntervals
        let delay: Int? = lock.withLock {
            // A graceful close by the peer is always retried at least once.
            let limit = max(intervals.count, error is CloseConnectionException ? 1 : 0)
            guard attempts < limit else { return nil }
            attempts += 1
            return attempts - 1 < intervals.count ? intervals[attempts - 1] : 0
        }
        guard let delay, !reference.communicator.isDestroyed else { return false }
        if delay <= 0 {
            reference.communicator.eventLoopGroup.next().execute { [self] in attempt() }
        } else {
            reference.communicator.eventLoopGroup.next().scheduleTask(in: .milliseconds(Int64(delay))) { [self] in attempt() }
        }
        return true
    }
}
