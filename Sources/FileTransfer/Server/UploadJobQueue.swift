import Foundation
import NIOCore

/// The bounded queue of write jobs and the worker threads that run them.
///
/// `submit` blocks its caller while `capacity` jobs are waiting, so the queue never holds more
/// than `capacity` jobs (and their chunks). The object adapter's `MaxDispatches` normally stops
/// reading from connections before that happens; the blocking only catches the few requests
/// that were already read when reading paused.
///
/// Workers take jobs in order and run them one at a time each; `workerCount` jobs may run at
/// once. `shutdown` lets every waiting job run, then stops the workers.
public final class UploadJobQueue: @unchecked Sendable {
    public typealias Job = @Sendable () -> Void

    /// Most jobs that may wait (not yet taken by a worker).
    public let capacity: Int
    public let workerCount: Int

    private let condition = NSCondition()
    private var waiting = CircularBuffer<Job>()
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

    /// Queues `job`, waiting while the queue is full. After `shutdown` began, the job runs on
    /// the calling thread instead (nothing is lost).
    public func submit(_ job: @escaping Job) {
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
        waiting.append(job)
        submitted += 1
        peakWaiting = max(peakWaiting, waiting.count)
        if idleWorkers > 0 { wakeOneWorker() }
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
        for job in leftovers { job() }
    }

    private func workerLoop() {
        condition.lock()
        while true {
            while waiting.isEmpty && !stopping {
                idleWorkers += 1
                condition.wait()
                idleWorkers -= 1
            }
            if waiting.isEmpty {  // stopping and drained
                liveWorkers -= 1
                condition.broadcast()
                condition.unlock()
                return
            }
            let job = waiting.removeFirst()
            running += 1
            if fullWaiters > 0 { condition.broadcast() }  // room for a blocked submitter
            condition.unlock()
            job()
            condition.lock()
            running -= 1
            if idleWaiters > 0 && waiting.isEmpty && running == 0 { condition.broadcast() }
        }
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
