import NIOCore
import Foundation

/// A FIFO shared by threads: `take` blocks until an element arrives, the producer closes it, or
/// someone fails it. Its size is bounded by whoever feeds it (see `TokenPool`).
final class BlockingQueue<T>: @unchecked Sendable {
    private let condition = NSCondition()
    // A taken element must not stay referenced: it may hold a chunk's buffer.
    private var items = CircularBuffer<T>()
    private var closed = false
    private var failure: (any Error)?

    func put(_ item: T) {
        condition.lock()
        defer { condition.unlock() }
        guard !closed, failure == nil else { return }
        items.append(item)
        condition.signal()
    }

    /// No more elements will come; `take` returns nil once the queue is drained.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Makes every `take` throw `error` (first failure wins) and drops the queued elements.
    func fail(_ error: any Error) {
        condition.lock()
        if failure == nil { failure = error }
        items.removeAll()
        condition.broadcast()
        condition.unlock()
    }

    /// The next element; nil once closed and drained. Throws the failure, if any.
    func take() throws -> T? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let failure { throw failure }
            if let item = items.popFirst() {
                return item
            }
            if closed { return nil }
            condition.wait()
        }
    }
}

/// A counting semaphore that can be cancelled and resized: bounds how many chunks are read
/// ahead. Shrinking it takes effect as tokens come back (none is taken away from a holder).
final class TokenPool: @unchecked Sendable {
    private let condition = NSCondition()
    private var capacity: Int
    private var taken = 0
    private var cancelled = false

    init(_ count: Int) { capacity = max(1, count) }

    /// Takes a token; returns false if the pool was cancelled.
    func acquire() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while taken >= capacity && !cancelled { condition.wait() }
        if cancelled { return false }
        taken += 1
        return true
    }

    func release() {
        condition.lock()
        taken -= 1
        condition.signal()
        condition.unlock()
    }

    /// Changes how many tokens may be taken at once (at least 1).
    func resize(to count: Int) {
        condition.lock()
        let grew = count > capacity
        capacity = max(1, count)
        if grew { condition.broadcast() }
        condition.unlock()
    }

    var size: Int {
        condition.lock()
        defer { condition.unlock() }
        return capacity
    }

    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }
}

/// The requests in flight: at most `limit` at a time. A slot is taken before a request is
/// invoked and given back when *its* reply arrives (in completion order), so a slow reply does
/// not hold up the others. A request waiting for a slot is started by the thread that frees one
/// (usually the event loop delivering a reply), so it goes out without the sending thread having
/// to be woken first.
///
/// The limit may change while requests are outstanding (`--window auto`): a larger one starts
/// the waiting request at once; a smaller one lets no request start until fewer than the new
/// limit are outstanding. Either way no request starts while `limit` or more are outstanding.
final class InFlightWindow: @unchecked Sendable {
    private let condition = NSCondition()
    private var currentLimit: Int
    private var largestLimit: Int
    private var count = 0
    private var failure: (any Error)?
    private var completed: Int64 = 0
    /// The request waiting for a slot, started by whoever frees one.
    private var parked: ParkedStart?

    init(limit: Int) {
        currentLimit = max(1, limit)
        largestLimit = currentLimit
    }

    /// The current limit.
    var limit: Int {
        condition.lock()
        defer { condition.unlock() }
        return currentLimit
    }

    /// The largest limit set so far.
    var maxLimit: Int {
        condition.lock()
        defer { condition.unlock() }
        return largestLimit
    }

    /// Sets the limit (at least 1); starts the waiting request when it grows enough.
    func setLimit(_ newLimit: Int) {
        condition.lock()
        let limit = max(1, newLimit)
        currentLimit = limit
        largestLimit = max(largestLimit, limit)
        let next = takeParkedLocked()
        condition.unlock()
        if let next { run(next) }
    }

    var inFlight: Int {
        condition.lock()
        defer { condition.unlock() }
        return count
    }

    /// The first error a request completed with since the last `reset`.
    var firstFailure: (any Error)? {
        condition.lock()
        defer { condition.unlock() }
        return failure
    }

    /// Runs `start` (which invokes a request) in a slot: at once on this thread if one is free,
    /// else on the thread that frees one (a reply's callback or `setLimit`). Returns once `start`
    /// has run. Throws the first failure of a request in flight instead, and then `start` does
    /// not run. `tick` runs on this thread at least every `interval` while it waits. One thread
    /// calls it at a time (the sender's).
    func start(_ start: @escaping @Sendable () -> Void, interval: Duration, tick: () -> Void) throws {
        condition.lock()
        if failure == nil, count < currentLimit {
            count += 1
            condition.unlock()
            start()
            return
        }
        defer { condition.unlock() }
        if let failure { throw failure }
        precondition(parked == nil, "two requests wait for a slot at once; one thread must send")
        let waiting = ParkedStart(start)
        parked = waiting
        while !waiting.done {
            if parked === waiting, let failure {
                parked = nil
                throw failure
            }
            waitOrTick(interval: interval, tick: tick)
        }
    }

    /// Takes a slot if one is free now (fewer than `limit` outstanding, no failure).
    func tryAcquire() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard failure == nil, count < currentLimit else { return false }
        count += 1
        return true
    }

    /// Gives the slot of a completed request back, recording its error (first one wins); starts
    /// the waiting request in it, if any and if no request failed.
    func complete(error: (any Error)?) {
        condition.lock()
        count -= 1
        completed += 1
        if let error, failure == nil { failure = error }
        let next = takeParkedLocked()
        condition.broadcast()
        condition.unlock()
        if let next { run(next) }
    }

    /// The waiting request, with the slot it now has, if one is free for it. Called with the lock held.
    private func takeParkedLocked() -> ParkedStart? {
        guard failure == nil, count < currentLimit, let next = parked else { return nil }
        parked = nil
        count += 1
        return next
    }

    /// Starts a request taken by `takeParkedLocked`, then lets its sender return.
    private func run(_ parked: ParkedStart) {
        parked.start()
        condition.lock()
        parked.done = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until nothing is in flight; returns the first failure, if any.
    func drain(interval: Duration, tick: () -> Void) -> (any Error)? {
        condition.lock()
        defer { condition.unlock() }
        while count > 0 { waitOrTick(interval: interval, tick: tick) }
        return failure
    }

    /// Forgets the recorded failure (after a reconnection). Call only when nothing is in flight.
    func reset() {
        condition.lock()
        failure = nil
        condition.unlock()
    }

    /// Called with the lock held; runs `tick` without it.
    private func waitOrTick(interval: Duration, tick: () -> Void) {
        let (s, atto) = interval.components
        let seconds = Double(s) + Double(atto) / 1e18
        if !condition.wait(until: Date(timeIntervalSinceNow: max(0.001, seconds))) {
            condition.unlock()
            tick()
            condition.lock()
        }
    }
}

/// A request waiting in `InFlightWindow.start` for a slot. Its fields are guarded by the window's lock.
private final class ParkedStart: @unchecked Sendable {
    let start: @Sendable () -> Void
    var done = false
    init(_ start: @escaping @Sendable () -> Void) { self.start = start }
}

/// Runs `body` on a new thread; `group` tracks it.
func startThread(name: String, group: DispatchGroup, _ body: @escaping @Sendable () -> Void) {
    group.enter()
    let thread = Thread {
        body()
        group.leave()
    }
    thread.name = name
    thread.stackSize = 1 << 20
    thread.start()
}

/// Sleeps the calling thread (used only for reconnection back-off, never to synchronise).
func sleepFor(_ duration: Duration) {
    let (s, atto) = duration.components
    let seconds = Double(s) + Double(atto) / 1e18
    if seconds > 0 { Thread.sleep(forTimeInterval: seconds) }
}
