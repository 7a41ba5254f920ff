import Foundation

/// A value protected by a lock (NSLock: portable to every platform the package
/// supports, unlike `Synchronization.Mutex`, which needs macOS 15).
final class StoreLocked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
