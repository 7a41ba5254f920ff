import Dispatch
import NIOConcurrencyHelpers

/// The future of a remote invocation, which also tracks when the request was *sent*: handed
/// to the connection while its outbound buffer was below the high-water mark.
///
/// `isSentSynchronously` is true when that happened on the calling path; otherwise the request
/// waited in the runtime's queue and its sent callbacks run later on a runtime thread.
public final class InvocationFuture<T: Sendable>: Future<T>, @unchecked Sendable {
    private enum SentState {
        case notSent
        case sent(synchronously: Bool)
    }

    private var sentState: SentState = .notSent
    private var sentCallbacks: [@Sendable (InvocationFuture<T>, Bool) -> Void] = []
    private var sentWaiters: [DispatchSemaphore] = []
    private var connectionRef: Connection?

    /// The communicator that made the invocation.
    public let communicator: Communicator?
    /// The proxy the operation was invoked on.
    public let proxy: ObjectProxy?
    /// The operation name.
    public let operation: String

    public init(communicator: Communicator? = nil, proxy: ObjectProxy? = nil, operation: String = "") {
        self.communicator = communicator
        self.proxy = proxy
        self.operation = operation
    }

    /// The connection the request was sent on, once known.
    public var connection: Connection? { lock.withLock { connectionRef } }

    func setConnection(_ c: Connection) { lock.withLock { connectionRef = c } }

    // MARK: Sent tracking

    public var isSent: Bool {
        lock.withLock { if case .sent = sentState { return true } else { return false } }
    }

    public var isSentSynchronously: Bool {
        lock.withLock { if case .sent(true) = sentState { return true } else { return false } }
    }

    /// Marks the request as sent and runs the sent callbacks on this thread; no effect if it was
    /// already marked.
    public func setSent(_ sentSynchronously: Bool) {
        let taken: (callbacks: [@Sendable (InvocationFuture<T>, Bool) -> Void], waiters: [DispatchSemaphore])? =
            lock.withLock {
                guard case .notSent = sentState else { return nil }
                sentState = .sent(synchronously: sentSynchronously)
                defer {
                    sentCallbacks = []
                    sentWaiters = []
                }
                return (sentCallbacks, sentWaiters)
            }
        guard let taken else { return }
        for w in taken.waiters { w.signal() }
        for cb in taken.callbacks { cb(self, sentSynchronously) }
    }

    /// Calls `callback(future, sentSynchronously)` once the request is sent: inline (with the
    /// flag it was sent with) if it already was, otherwise on the runtime thread that sends it.
    /// Not called if the invocation fails before being sent.
    public func addSentCallback(_ callback: @escaping @Sendable (InvocationFuture<T>, Bool) -> Void) {
        let now: Bool? = lock.withLock {
            switch sentState {
            case .sent(let sync): return sync
            case .notSent:
                sentCallbacks.append(callback)
                return nil
            }
        }
        if let now { callback(self, now) }
    }

    /// Like `addSentCallback`, but always on a runtime thread, never inline.
    public func addSentCallbackAsync(_ callback: @escaping @Sendable (InvocationFuture<T>, Bool) -> Void) {
        addSentCallback { f, sync in DispatchQueue.global().async { callback(f, sync) } }
    }

    /// Waits until the request is sent. Returns true once sent, false if `timeout` passes first;
    /// throws the invocation's error if it failed before being sent.
    public func sent(timeout: Duration? = nil) throws -> Bool {
        let semaphore: DispatchSemaphore? = lock.withLock {
            if case .sent = sentState { return nil }
            if case .failure = state { return nil }
            let s = DispatchSemaphore(value: 0)
            sentWaiters.append(s)
            return s
        }
        if let semaphore {
            if let timeout {
                let (s, atto) = timeout.components
                let nanos = max(0, s) * 1_000_000_000 + max(0, atto) / 1_000_000_000
                if semaphore.wait(timeout: .now() + .nanoseconds(Int(clamping: nanos))) == .timedOut {
                    lock.withLock { sentWaiters.removeAll { $0 === semaphore } }
                }
            } else {
                semaphore.wait()
            }
        }
        return try lock.withLock {
            if case .sent = sentState { return true }
            if case .failure(let e) = state { throw e }
            return false
        }
    }

    /// Suspends until the request is sent; throws the invocation's error if it failed first.
    public func sent() async throws {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            let once = ResumeOnce(c)
            addSentCallback { _, _ in once.resume(.success(())) }
            addDoneCallback { f in
                if case .failure(let e) = f.lock.withLock({ f.state }), !self.isSent {
                    once.resume(.failure(e))
                } else {
                    once.resume(.success(()))
                }
            }
        }
    }

    override func didComplete() {
        // Wake `sent()` waiters of an invocation that failed before being sent.
        let waiters: [DispatchSemaphore] = lock.withLock {
            defer { sentWaiters = [] }
            return sentWaiters
        }
        for w in waiters { w.signal() }
    }
}

/// Resumes a continuation at most once, whichever callback comes first.
final class ResumeOnce<T: Sendable>: @unchecked Sendable {
    private var continuation: CheckedContinuation<T, any Error>?
    private let lock = NIOLock()

    init(_ c: CheckedContinuation<T, any Error>) { continuation = c }

    func resume(_ result: Result<T, any Error>) {
        let c: CheckedContinuation<T, any Error>? = lock.withLock {
            defer { continuation = nil }
            return continuation
        }
        c?.resume(with: result)
    }
}
