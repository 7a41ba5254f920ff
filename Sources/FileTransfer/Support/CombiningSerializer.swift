import Foundation
import NIOCore

/// Runs operations one at a time, in the order callers arrive, each returning to its own caller.
///
/// A caller that arrives while an operation runs does not sleep on a lock: it hands its
/// operation to the caller running one, which runs it next (flat combining), and sleeps until
/// the result is ready. So arrival order is kept — a mutex lets the thread that just released
/// it take it again ahead of a sleeping waiter, many times in a row — and a busy stretch of
/// operations runs without a wake-up between them. A caller runs at most the operations handed
/// over before its own finished, then passes the turn on, so none is kept from returning.
final class CombiningSerializer: @unchecked Sendable {
    private final class HandedOver {
        enum State { case waiting, runByCaller, done }
        let run: () -> Void
        var state = State.waiting
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    private let condition = NSCondition()
    private var running = false
    private var handedOver = CircularBuffer<HandedOver>()

    /// Runs `operation` after every operation that arrived before it — on this thread, or on the
    /// thread whose operation is running — and returns its result to this caller.
    func run<Success, Failure: Error>(_ operation: () throws(Failure) -> Success) throws(Failure) -> Success {
        condition.lock()
        if !running {
            running = true
            condition.unlock()
            let result = Result(catching: operation)
            runHandedOver()
            return try result.get()
        }
        var result: Result<Success, Failure>?
        let runByCaller = withoutActuallyEscaping(operation) { operation in
            let item = HandedOver { result = Result(catching: operation) }
            handedOver.append(item)
            condition.broadcast()  // for `waitUntilHandedOver`
            while item.state == .waiting { condition.wait() }
            let runByCaller = item.state == .runByCaller
            condition.unlock()
            if runByCaller { item.run() }
            return runByCaller
        }
        if runByCaller { runHandedOver() }
        guard let result else { preconditionFailure("a handed-over operation finished without a result") }
        return try result.get()
    }

    /// Blocks until `count` callers wait for the running operation to run theirs (tests use it
    /// to make callers arrive in a known order).
    func waitUntilHandedOver(_ count: Int) {
        condition.lock()
        while handedOver.count < count { condition.wait() }
        condition.unlock()
    }

    /// Runs the operations handed over so far, then gives the turn to the next caller waiting,
    /// if any, who runs its own operation.
    private func runHandedOver() {
        condition.lock()
        for _ in 0..<handedOver.count {
            guard let item = handedOver.popFirst() else { break }
            condition.unlock()
            item.run()
            condition.lock()
            item.state = .done
            condition.broadcast()
        }
        if let next = handedOver.popFirst() {
            next.state = .runByCaller
            condition.broadcast()
        } else {
            running = false
        }
        condition.unlock()
    }
}
