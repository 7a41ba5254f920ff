import Foundation
import NIOCore

/// The bounded queue of write jobs and the worker threads that run them.
///
/// `submit` blocks its caller while `capacity` jobs are waiting, so the queue never holds more
/// than `capacity` jobs (and their chunks). The object adapter's `MaxDispatches` normally stops
/// reading from connections before that happens; the blocking only catches the few requests
/// that were already read when reading paused.
///
/// Workers take the first job that may start, one at a time each; `workerCount` jobs may run
/// at once. Jobs submitted with the same key run one at a time, in the order they were
/// submitted: the worker that finishes one takes the next, so an upload's chunks stream through
/// one worker without another being woken only to wait for it, while other keys (other
/// uploads) run beside it. `shutdown` lets every waiting job run, then stops the workers.
public final class UploadJobQueue: @unchecked Sendable {
    public typealias Job = @Sendable () -> Void

    /// Most jobs that may wait (not yet taken by a worker).
    public let capacity: Int
    public let workerCount: Int

    private let condition = NSCondition()
    private var waiting = CircularBuffer<(key: String?, job: Job)>()
    /// Keys of the jobs running now: a job whose key is here, or behind a waiting job of the
    /// same key, waits.
    private var runningKeys = Set<String>()
    private var running = 0
    private var peakWaiting = 0
    private var submitted = 0
    private var blockedSubmitters = 0
    private var stopping = false
    private var liveWorkers = 0
    // Threads sleeping on `condition`, by what they wait for: a wakeup goes only to those who
    // can proceed (one worker per job), so no thread is woken for nothing on every job.
    private var idleWorkers = 0
    private var fullWaiters = 0
    private var idleWaiters = 0

    public init(capacity: Int, workers: Int, name: String = "floe.worker") {
        precondition(capacity >= 1 && workers >= 1)
        self.capacity = capacity
        self.workerCount = workers
        liveWorkers = workers
        for index in 0..<workers {
            let thread = Thread { [self] in workerLoop() }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    // MARK: Statistics

    /// Jobs waiting for a worker now.
    public var depth: Int { locked { waiting.count } }
    /// Jobs being run by a worker now.
    public var inProgress: Int { locked { running } }
    /// The largest `depth` seen since the start (never above `capacity`).
    public var maxDepth: Int { locked { peakWaiting } }
    /// Jobs accepted so far.
    public var submittedCount: Int { locked { submitted } }
    /// Callers blocked in `submit` because the queue is full.
    public var blockedSubmitCount: Int { locked { blockedSubmitters } }

    // MARK: Jobs

    /// Queues `job`, waiting while the queue is full. Jobs with the same non-nil `key` run one
    /// at a time, in submission order. After `shutdown` began, the job runs on the calling
    /// thread instead (nothing is lost).
    public func submit(key: String? = nil, _ job: @escaping Job) {
        condition.lock()
        blockedSubmitters += 1
        while !stopping && waiting.count >= capacity {
            fullWaiters += 1
            condition.wait()
            fullWaiters -= 1
        }
        blockedSubmitters -= 1
        if stopping && liveWorkers == 0 {
            condition.unlock()
            job()
            return
        }
        waiting.append((key, job))
        submitted += 1
        peakWaiting = max(peakWaiting, waiting.count)
        // A job that must wait for another of its key is taken by the worker running that one.
        if idleWorkers > 0 && isRunnable(waiting.count - 1) { wakeOneWorker() }
        condition.unlock()
    }

    /// Blocks until no job is waiting or running.
    public func waitUntilIdle() {
        condition.lock()
        while !waiting.isEmpty || running > 0 {
            idleWaiters += 1
            condition.wait()
            idleWaiters -= 1
        }
        condition.unlock()
    }

    /// Runs every queued job, then stops the workers and waits for them. Idempotent.
    public func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while liveWorkers > 0 {
            condition.wait()
        }
        // A submit that raced with the shutdown may have queued after the workers left.
        let leftovers = Array(waiting)
        waiting.removeAll()
        condition.unlock()
        for item in leftovers { item.job() }
    }

    private func workerLoop() {
        condition.lock()
        while true {
            var next = firstRunnableIndex()
            while next == nil && !stopping {
                idleWorkers += 1
                condition.wait()
                idleWorkers -= 1
                next = firstRunnableIndex()
            }
            guard let index = next else {
                // Stopping, and whatever still waits follows a job running on another worker,
                // which takes it once done.
                liveWorkers -= 1
                condition.broadcast()
                condition.unlock()
                return
            }
            let (key, job) = waiting.remove(at: waiting.index(waiting.startIndex, offsetBy: index))
            if let key { runningKeys.insert(key) }
            running += 1
            if fullWaiters > 0 { condition.broadcast() }  // room for a blocked submitter
            if idleWorkers > 0 && firstRunnableIndex() != nil { wakeOneWorker() }  // more for another worker
            condition.unlock()
            job()
            condition.lock()
            running -= 1
            if let key { runningKeys.remove(key) }
            if idleWaiters > 0 && waiting.isEmpty && running == 0 { condition.broadcast() }
        }
    }

    /// The position in `waiting` of the first job that may start now. Called with the lock held.
    private func firstRunnableIndex() -> Int? {
        (0..<waiting.count).first(where: isRunnable)
    }

    /// Whether the job at `position` in `waiting` may start now: it has no key, or none of its
    /// key runs or waits ahead of it. Called with the lock held.
    private func isRunnable(_ position: Int) -> Bool {
        let start = waiting.startIndex
        guard let key = waiting[waiting.index(start, offsetBy: position)].key else { return true }
        if runningKeys.contains(key) { return false }
        return !waiting[start..<waiting.index(start, offsetBy: position)].contains { $0.key == key }
    }

    /// Wakes one sleeping worker; if other kinds of waiters sleep too, everyone (a signal might
    /// reach one of them instead). Called with the lock held.
    private func wakeOneWorker() {
        if fullWaiters == 0 && idleWaiters == 0 && !stopping {
            condition.signal()
        } else {
            condition.broadcast()
        }
    }

    private func locked<T>(_ body: () -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body()
    }
}
