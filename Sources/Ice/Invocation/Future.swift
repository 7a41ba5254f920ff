import Dispatch
import NIOConcurrencyHelpers

/// The eventual result of an operation: completed once, with a value or an error.
///
/// Callbacks added before completion run on the thread that completes the future (a runtime
/// thread for invocations); `addDoneCallback` on a completed future runs the callback inline.
/// Blocking waits (`result(timeout:)`) and `await future.value` are both supported.
public class Future<T: Sendable>: @unchecked Sendable {
    enum State {
        case pending
        case success(T)
        case failure(any Error)
    }

    let lock = NIOLock()
    var state: State = .pending
    private var doneCallbacks: [@Sendable (Future<T>) -> Void] = []
    private var waiters: [DispatchSemaphore] = []
    private var cancelHandler: (@Sendable (any Error) -> Void)?
    private var canceled = false

    public init() {}

    /// A future that is already completed with `value`.
    public static func completed(_ value: T) -> Future<T> {
        let f = Future<T>()
        f.state = .success(value)
        return f
    }

    /// A future that already failed with `error`.
    public static func failed(_ error: any Error) -> Future<T> {
        let f = Future<T>()
        f.state = .failure(error)
        return f
    }

    // MARK: State

    public var isDone: Bool {
        lock.withLock { if case .pending = state { return false } else { return true } }
    }

    /// Whether the operation is still running (not yet completed).
    public var isRunning: Bool { !isDone }

    public var isCancelled: Bool { lock.withLock { canceled } }

    // MARK: Completion

    /// Completes the future with a value; returns false if it was already completed.
    @discardableResult
    public func setResult(_ value: T) -> Bool { complete(.success(value)) }

    /// Completes the future with an error; returns false if it was already completed.
    @discardableResult
    public func setException(_ error: any Error) -> Bool { complete(.failure(error)) }

    /// Completes the future with the outcome of `result`.
    @discardableResult
    public func complete(with result: Result<T, any Error>) -> Bool {
        switch result {
        case .success(let v): return complete(.success(v))
        case .failure(let e): return complete(.failure(e))
        }
    }

    func complete(_ newState: State) -> Bool {
        typealias Taken = (callbacks: [@Sendable (Future<T>) -> Void], waiters: [DispatchSemaphore])
        let taken: Taken? = lock.withLock {
            guard case .pending = state else { return nil }
            state = newState
            defer {
                doneCallbacks = []
                waiters = []
                cancelHandler = nil
            }
            return (doneCallbacks, waiters)
        }
        guard let taken else { return false }
        for w in taken.waiters { w.signal() }
        for cb in taken.callbacks { cb(self) }
        didComplete()
        return true
    }

    /// Hook for subclasses, called once after completion and callbacks.
    func didComplete() {}

    /// Installs what `cancel()` does for a running operation (runtime use).
    func setCancelHandler(_ handler: @escaping @Sendable (any Error) -> Void) {
        let runNow: Bool = lock.withLock {
            if canceled, case .pending = state { return true }
            cancelHandler = handler
            return false
        }
        if runNow { handler(InvocationCanceledException("the invocation was canceled")) }
    }

    /// Cancels the operation: a request not yet sent is never sent, the reply of a sent one is
    /// ignored, and the future fails with `InvocationCanceledException`. No effect once done.
    public func cancel() {
        let handler: (@Sendable (any Error) -> Void)?? = lock.withLock {
            guard case .pending = state, !canceled else { return nil }
            canceled = true
            let h = cancelHandler
            cancelHandler = nil
            return .some(h)
        }
        guard let handler else { return }
        let error = InvocationCanceledException("the invocation was canceled")
        handler?(error)
        setException(error)
    }

    // MARK: Callbacks

    /// Calls `callback` once the future completes: inline if it already has, otherwise on the
    /// thread that completes it.
    public func addDoneCallback(_ callback: @escaping @Sendable (Future<T>) -> Void) {
        let runNow: Bool = lock.withLock {
            if case .pending = state {
                doneCallbacks.append(callback)
                return false
            }
            return true
        }
        if runNow { callback(self) }
    }

    /// Calls `callback` once the future completes, always on a runtime thread, never inline.
    public func addDoneCallbackAsync(_ callback: @escaping @Sendable (Future<T>) -> Void) {
        addDoneCallback { f in DispatchQueue.global().async { callback(f) } }
    }

    // MARK: Waiting

    /// Waits for the result; throws the operation's error, or `TimeoutException` if `timeout`
    /// passes first (the operation keeps running).
    public func result(timeout: Duration? = nil) throws -> T {
        switch try wait(timeout: timeout) {
        case .success(let v): return v
        case .failure(let e): throw e
        case .pending: throw TimeoutException("no result within \(timeout.map { "\($0)" } ?? "the wait")")
        }
    }

    /// Waits for completion and returns the operation's error, or nil if it succeeded; throws
    /// `TimeoutException` if `timeout` passes first.
    public func exception(timeout: Duration? = nil) throws -> (any Error)? {
        switch try wait(timeout: timeout) {
        case .success: return nil
        case .failure(let e): return e
        case .pending: throw TimeoutException("not completed within \(timeout.map { "\($0)" } ?? "the wait")")
        }
    }

    /// The completed state, or `.pending` if the timeout passed.
    func wait(timeout: Duration?) throws -> State {
        let semaphore: DispatchSemaphore? = lock.withLock {
            if case .pending = state {
                let s = DispatchSemaphore(value: 0)
                waiters.append(s)
                return s
            }
            return nil
        }
        if let semaphore {
            let signaled: Bool
            if let timeout {
                let (s, atto) = timeout.components
                let nanos = max(0, s) * 1_000_000_000 + max(0, atto) / 1_000_000_000
                signaled = semaphore.wait(timeout: .now() + .nanoseconds(Int(clamping: nanos))) == .success
            } else {
                semaphore.wait()
                signaled = true
            }
            if !signaled {
                lock.withLock { waiters.removeAll { $0 === semaphore } }
            }
        }
        return lock.withLock { state }
    }

    // MARK: Swift concurrency

    /// The result, awaited without blocking a thread. Cancelling the task cancels the operation.
    public var value: T {
        get async throws {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
                    addDoneCallback { f in
                        switch f.lock.withLock({ f.state }) {
                        case .success(let v): c.resume(returning: v)
                        case .failure(let e): c.resume(throwing: e)
                        case .pending: c.resume(throwing: LocalException("future completed without a result"))
                        }
                    }
                }
            } onCancel: {
                self.cancel()
            }
        }
    }

    /// Returns a future completed with `transform` applied to this future's value.
    public func map<U: Sendable>(_ transform: @escaping @Sendable (T) throws -> U) -> Future<U> {
        let next = Future<U>()
        addDoneCallback { f in
            switch f.lock.withLock({ f.state }) {
            case .success(let v): next.complete(with: Result { try transform(v) })
            case .failure(let e): next.setException(e)
            case .pending: break
            }
        }
        next.setCancelHandler { [weak self] _ in self?.cancel() }
        return next
    }
}
