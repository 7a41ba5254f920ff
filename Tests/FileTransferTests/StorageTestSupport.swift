import Foundation
import NIOCore
import XCTest

@testable import FileTransfer

/// Shared helpers for the storage tests: temporary roots, deterministic data and
/// typed error assertions.
class StorageTestCase: XCTestCase {
    private(set) var root = ""
    private var scratch = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("floe-storage-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        root = scratch + "/root"
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: scratch)
        try super.tearDownWithError()
    }

    /// A directory next to (outside of) the root.
    var outside: String { scratch + "/outside" }

    func makeStore(
        maxFileSize: Int64 = .max,
        staleAfter: Duration = .seconds(3600),
        syncEveryBytes: Int64 = 64 << 20,
        syncInterval: Duration = .seconds(3600)
    ) throws -> FileStore {
        try FileStore(root: root, maxFileSize: maxFileSize, staleAfter: staleAfter,
                      syncEveryBytes: syncEveryBytes, syncInterval: syncInterval)
    }

    /// The SHA-256 of `bytes` as 64 hex digits alone (the format of older clients).
    func bareSHA256(_ bytes: [UInt8]) -> String {
        Checksum(of: bytes, algorithm: .sha256).hex
    }

    func buffer(_ bytes: some Sequence<UInt8>) -> ByteBuffer {
        ByteBuffer(bytes: Array(bytes))
    }

    /// Writes a file directly under the root (bypassing the store).
    func writeFile(_ relative: String, _ bytes: [UInt8]) throws {
        let url = URL(fileURLWithPath: root + "/" + relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
    }

    func fileContents(_ relative: String) -> [UInt8]? {
        FileManager.default.contents(atPath: root + "/" + relative).map { Array($0) }
    }

    func exists(_ absolute: String) -> Bool {
        FileManager.default.fileExists(atPath: absolute)
    }

    /// Uploads `bytes` in one write and commits.
    @discardableResult
    func upload(_ store: FileStore, _ path: String, _ bytes: [UInt8], overwrite: Bool = false) throws -> FileInfo {
        let handle = try store.open(path: path, size: Int64(bytes.count), overwrite: overwrite, resume: false)
        if !bytes.isEmpty {
            try store.write(uploadID: handle.id, offset: 0, bytes: buffer(bytes))
        }
        return try store.commit(uploadID: handle.id, checksum: standardChecksum(bytes))
    }

    /// Runs `body`, which must throw a `FileStoreError`, and returns it.
    func storeError<T>(_ body: @autoclosure () throws -> T, file: StaticString = #filePath, line: UInt = #line) -> FileStoreError? {
        do {
            let value = try body()
            XCTFail("expected a FileStoreError, got \(value)", file: file, line: line)
            return nil
        } catch let error as FileStoreError {
            XCTAssertFalse(error.reason.isEmpty, "error without a reason", file: file, line: line)
            return error
        } catch {
            XCTFail("expected a FileStoreError, got \(error)", file: file, line: line)
            return nil
        }
    }

    func assertPathError<T>(_ body: @autoclosure () throws -> T, file: StaticString = #filePath, line: UInt = #line) {
        guard let error = storeError(try body(), file: file, line: line) else { return }
        guard case .path = error else {
            return XCTFail("expected .path, got \(error)", file: file, line: line)
        }
    }

    func assertConflict<T>(_ body: @autoclosure () throws -> T, file: StaticString = #filePath, line: UInt = #line) {
        guard let error = storeError(try body(), file: file, line: line) else { return }
        guard case .conflict = error else {
            return XCTFail("expected .conflict, got \(error)", file: file, line: line)
        }
    }

    func assertStorageError<T>(_ body: @autoclosure () throws -> T, file: StaticString = #filePath, line: UInt = #line) {
        guard let error = storeError(try body(), file: file, line: line) else { return }
        guard case .storage = error else {
            return XCTFail("expected .storage, got \(error)", file: file, line: line)
        }
    }

    /// Asserts a `.range` error and returns its fields.
    @discardableResult
    func assertRangeError<T>(_ body: @autoclosure () throws -> T, file: StaticString = #filePath, line: UInt = #line) -> (offset: Int64, length: Int32, size: Int64)? {
        guard let error = storeError(try body(), file: file, line: line) else { return nil }
        guard case .range(_, let offset, let length, let size) = error else {
            XCTFail("expected .range, got \(error)", file: file, line: line)
            return nil
        }
        return (offset, length, size)
    }

    /// Bytes free on the file system holding the temporary directory.
    func freeBytes() throws -> Int64 {
        let attributes = try FileManager.default.attributesOfFileSystem(forPath: scratch)
        return (attributes[.systemFreeSize] as? NSNumber)?.int64Value ?? 0
    }
}

/// A thread-safe collector for results produced on worker threads.
final class StorageTestResults<Element>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Element] = []

    func append(_ item: Element) {
        lock.lock()
        items.append(item)
        lock.unlock()
    }

    var all: [Element] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }
}
