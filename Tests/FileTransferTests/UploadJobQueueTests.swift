import Foundation
import XCTest

@testable import FileTransfer

/// The job queue on its own: every job runs once, the capacity bounds the waiting jobs, and the
/// waits (full queue, idle, shutdown) all end.
final class UploadJobQueueTests: XCTestCase {
    /// A counter shared by jobs.
    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [Int] = []
        func add(_ v: Int) { lock.withLock { values.append(v) } }
        var sorted: [Int] { lock.withLock { values.sorted() } }
    }

    func testEveryJobRunsOnceFromManySubmitters() {
        let queue = UploadJobQueue(capacity: 3, workers: 2)
        let counter = Counter()
        DispatchQueue.concurrentPerform(iterations: 4) { submitter in
            for i in 0..<500 {
                let value = submitter * 500 + i
                queue.submit { counter.add(value) }
            }
        }
        queue.waitUntilIdle()
        XCTAssertEqual(counter.sorted, Array(0..<2000))
        XCTAssertLessThanOrEqual(queue.maxDepth, 3)
        XCTAssertEqual(queue.depth + queue.inProgress, 0)
        queue.shutdown()
    }

    /// What jobs of several keys did: the order each key's jobs ran in, the threads they ran
    /// on, and whether two jobs of one key ever ran at once.
    final class KeyLog: @unchecked Sendable {
        private let lock = NSLock()
        private var order: [String: [Int]] = [:]
        private var threads: [String: [Thread]] = [:]
        private var running: [String: Int] = [:]
        private(set) var overlaps = 0

        func begin(_ key: String, _ value: Int) {
            lock.withLock {
                running[key, default: 0] += 1
                if running[key, default: 0] > 1 { overlaps += 1 }
                order[key, default: []].append(value)
                threads[key, default: []].append(Thread.current)
            }
        }
        func end(_ key: String) { lock.withLock { running[key, default: 0] -= 1 } }
        func order(_ key: String) -> [Int] { lock.withLock { order[key] ?? [] } }
        func threads(_ key: String) -> [Thread] { lock.withLock { threads[key] ?? [] } }
        var overlapCount: Int { lock.withLock { overlaps } }
    }

    func testJobsOfOneKeyRunOneAtATimeInSubmissionOrder() {
        let queue = UploadJobQueue(capacity: 3, workers: 2)
        let log = KeyLog()
        DispatchQueue.concurrentPerform(iterations: 4) { submitter in
            let key = "upload-\(submitter)"
            for i in 0..<300 {
                queue.submit(key: key) {
                    log.begin(key, i)
                    log.end(key)
                }
            }
        }
        queue.waitUntilIdle()
        XCTAssertEqual(log.overlapCount, 0)
        for submitter in 0..<4 { XCTAssertEqual(log.order("upload-\(submitter)"), Array(0..<300)) }
        XCTAssertLessThanOrEqual(queue.maxDepth, 3)
        queue.shutdown()
    }

    /// A queue of two workers, one running the first job of key "a" until `release` is
    /// signalled, with two more jobs of "a" submitted behind it; `log` records all three.
    private func queueHoldingKeyAWithTwoMoreWaiting() -> (UploadJobQueue, KeyLog, DispatchSemaphore) {
        let queue = UploadJobQueue(capacity: 8, workers: 2)
        let log = KeyLog()
        let release = DispatchSemaphore(value: 0)
        let firstStarted = DispatchSemaphore(value: 0)
        queue.submit(key: "a") {
            log.begin("a", 0)
            firstStarted.signal()
            release.wait()
            log.end("a")
        }
        firstStarted.wait()
        for i in 1...2 {
            queue.submit(key: "a") {
                log.begin("a", i)
                log.end("a")
            }
        }
        return (queue, log, release)
    }

    func testAJobWaitingForItsKeyIsRunByTheWorkerThatRanTheOneBeforeWhileOtherKeysRun() {
        let (queue, log, release) = queueHoldingKeyAWithTwoMoreWaiting()
        let otherKeyRan = DispatchSemaphore(value: 0)
        // Another key does not wait for "a": the idle worker runs it while "a" is held.
        queue.submit(key: "b") {
            log.begin("b", 0)
            log.end("b")
            otherKeyRan.signal()
        }
        XCTAssertEqual(otherKeyRan.wait(timeout: .now() + 10), .success, "key b ran while key a was held")
        XCTAssertEqual(queue.depth, 2, "the two later jobs of key a wait")
        release.signal()
        queue.waitUntilIdle()
        XCTAssertEqual(log.order("a"), [0, 1, 2])
        let a = log.threads("a"), b = log.threads("b")
        XCTAssertEqual(a.count, 3)
        XCTAssertTrue(a.allSatisfy { $0 === a[0] }, "key a stayed on the worker that ran its first job")
        XCTAssertEqual(b.count, 1)
        XCTAssertFalse(b[0] === a[0])
        queue.shutdown()
    }

    func testShutdownRunsTheJobsWaitingForTheirKey() {
        let (queue, log, release) = queueHoldingKeyAWithTwoMoreWaiting()
        let stopped = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            queue.shutdown()  // the idle worker finds nothing it may run and leaves
            stopped.signal()
        }
        XCTAssertEqual(stopped.wait(timeout: .now() + 0.2), .timedOut, "shutdown waits for the held job")
        release.signal()
        XCTAssertEqual(stopped.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(log.order("a"), [0, 1, 2])
    }

    func testAFullQueueBlocksTheSubmitterUntilAWorkerTakesAJob() {
        let queue = UploadJobQueue(capacity: 1, workers: 1)
        let release = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        queue.submit {
            started.signal()
            release.wait()
        }
        started.wait()  // the worker holds the first job
        queue.submit {}  // waits in the queue (capacity 1)
        let submitted = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            queue.submit {}  // the queue is full: blocks
            submitted.signal()
        }
        let deadline = Date() + 10
        while queue.blockedSubmitCount < 1 && Date() < deadline { usleep(1000) }  // polls a condition
        XCTAssertEqual(queue.blockedSubmitCount, 1, "the third submit waits for room")
        XCTAssertEqual(submitted.wait(timeout: .now()), .timedOut)
        release.signal()
        XCTAssertEqual(submitted.wait(timeout: .now() + 10), .success, "room made, the submit returns")
        queue.waitUntilIdle()
        XCTAssertEqual(queue.submittedCount, 3)
        queue.shutdown()
    }

    func testShutdownRunsWhatIsQueued() {
        let queue = UploadJobQueue(capacity: 8, workers: 1)
        let counter = Counter()
        for i in 0..<8 { queue.submit { counter.add(i) } }
        queue.shutdown()
        XCTAssertEqual(counter.sorted, Array(0..<8))
        queue.submit { counter.add(8) }  // after shutdown: runs on the caller
        XCTAssertEqual(counter.sorted, Array(0..<9))
    }
}
