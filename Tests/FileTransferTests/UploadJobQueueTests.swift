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
