import Dispatch
import Foundation
import Ice
import NIOConcurrencyHelpers
import NIOCore
import XCTest

/// The payload pattern of `interop_expectations.md`: `byte[k] = ((k mod 251) * 31 + seed) mod 251`.
func interopPayload(_ count: Int, seed: Int = 0) -> ByteBuffer {
    // The pattern repeats every 251 bytes: write whole periods.
    let period = (0..<251).map { UInt8(($0 * 31 + seed) % 251) }
    var b = ByteBufferAllocator().buffer(capacity: count)
    while b.readableBytes + period.count <= count { b.writeBytes(period) }
    b.writeBytes(period[0..<(count - b.readableBytes)])
    return b
}

/// Highly compressible bytes (repeated text), for bzip2 tests.
func compressiblePayload(_ count: Int) -> ByteBuffer {
    let text = Array("Floe speaks Ice 3.7 on the wire; ".utf8)
    var b = ByteBufferAllocator().buffer(capacity: count)
    while b.readableBytes + text.count <= count { b.writeBytes(text) }
    b.writeBytes(text[0..<(count - b.readableBytes)])
    return b
}

/// The client properties of the interop client (`Ice.RetryIntervals=-1`), the raised message
/// size limit of the default Python server, and `extra`.
func makeInteropCommunicator(_ extra: [String] = [], messageSizeMaxKB: Int = 8192) throws -> Communicator {
    try Communicator(["--Ice.MessageSizeMax=\(messageSizeMaxKB)", "--Ice.RetryIntervals=-1"] + extra)
}

/// The calling thread, to tell where a callback ran.
func currentThreadID() -> UInt { UInt(pthread_self()) }

/// Asserts that `body` throws exactly `E` (not a subclass) and returns the error.
@discardableResult
func assertThrowsExactly<E: Error, R>(
    _ type: E.Type, _ message: String = "", file: StaticString = #filePath, line: UInt = #line,
    _ body: () throws -> R
) -> E? {
    do {
        _ = try body()
        XCTFail("expected \(E.self), nothing was thrown. \(message)", file: file, line: line)
        return nil
    } catch {
        guard let e = error as? E, Swift.type(of: error) == E.self else {
            XCTFail("expected exactly \(E.self), got \(Swift.type(of: error)): \(error). \(message)", file: file, line: line)
            return nil
        }
        return e
    }
}

/// Same, for an error returned (not thrown) by `Future.exception(timeout:)`.
@discardableResult
func assertExactly<E: Error>(
    _ type: E.Type, _ error: (any Error)?, file: StaticString = #filePath, line: UInt = #line
) -> E? {
    guard let error else {
        XCTFail("expected \(E.self), got no error", file: file, line: line)
        return nil
    }
    guard let e = error as? E, Swift.type(of: error) == E.self else {
        XCTFail("expected exactly \(E.self), got \(Swift.type(of: error)): \(error)", file: file, line: line)
        return nil
    }
    return e
}

/// A value shared with callbacks that run on other threads.
final class Locked<T>: @unchecked Sendable {
    private let lock = NIOLock()
    private var value: T
    init(_ value: T) { self.value = value }
    func with<R>(_ body: (inout T) throws -> R) rethrows -> R { try lock.withLock { try body(&value) } }
    var get: T { lock.withLock { value } }
}

/// Sends `bytes` with `byteCountAsync` until a request has to wait in the runtime's queue (the
/// peer no longer reads and the socket buffers are full), at most `limit` calls.
func fillUntilQueued(_ echo: EchoPrx, _ bytes: ByteBuffer, limit: Int = 64) throws -> [InvocationFuture<Int32>] {
    var futures: [InvocationFuture<Int32>] = []
    while futures.count < limit {
        let f = try echo.byteCountAsync(bytes)
        futures.append(f)
        if !f.isSent { break }
    }
    return futures
}

/// The size of a `byteCount` request to identity `echo` with `n` bytes (n ≥ 255): header 14,
/// request id 4, request header 19 (identity 6, facet 1, "byteCount" 10, mode 1, context 1),
/// encapsulation header 6, sequence size 5.
func byteCountRequestSize(_ n: Int) -> Int { 14 + 4 + 19 + 6 + 5 + n }
