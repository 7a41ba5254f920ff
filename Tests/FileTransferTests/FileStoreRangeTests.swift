import Foundation
import NIOCore
import XCTest

@testable import FileTransfer

final class FileStoreRangeTests: StorageTestCase {
    func testWritesOutsideTheDeclaredSizeAreRangeErrors() throws {
        let store = try makeStore()
        let handle = try store.open(path: "f", size: 100, overwrite: false, resume: false)

        var fields = assertRangeError(try store.write(uploadID: handle.id, offset: -1, bytes: buffer([1])))
        XCTAssertEqual(fields?.offset, -1)
        XCTAssertEqual(fields?.length, 1)
        XCTAssertEqual(fields?.size, 100)

        fields = assertRangeError(try store.write(uploadID: handle.id, offset: 95, bytes: buffer(makeData(10))))
        XCTAssertEqual(fields?.offset, 95)
        XCTAssertEqual(fields?.length, 10)
        XCTAssertEqual(fields?.size, 100)

        fields = assertRangeError(try store.write(uploadID: handle.id, offset: 101, bytes: buffer([])))
        XCTAssertEqual(fields?.offset, 101)
        XCTAssertEqual(fields?.length, 0)

        XCTAssertNoThrow(try store.write(uploadID: handle.id, offset: 90, bytes: buffer(makeData(10))))
        XCTAssertEqual(try store.received(uploadID: handle.id), [90, 100])
    }

    func testOffsetPlusLengthOverflowIsARangeError() throws {
        let store = try makeStore()
        let handle = try store.open(path: "f", size: 100, overwrite: false, resume: false)
        let fields = assertRangeError(try store.write(uploadID: handle.id, offset: Int64.max - 4, bytes: buffer(makeData(10))))
        XCTAssertEqual(fields?.offset, Int64.max - 4)
        XCTAssertEqual(fields?.length, 10)
        XCTAssertEqual(fields?.size, 100)
        assertRangeError(try store.write(uploadID: handle.id, offset: Int64.min, bytes: buffer([1])))
        XCTAssertEqual(try store.received(uploadID: handle.id), [])
    }

    func testNegativeDeclaredSize() throws {
        let store = try makeStore()
        let fields = assertRangeError(try store.open(path: "f", size: -5, overwrite: false, resume: false))
        XCTAssertEqual(fields?.size, -5)
        XCTAssertEqual(store.openUploads(), [])
    }

    func testMaxFileSizeIsAStorageError() throws {
        let store = try makeStore(maxFileSize: 1000)
        guard case .storage(let reason)? = storeError(try store.open(path: "big", size: 1001, overwrite: false, resume: false)) else {
            return XCTFail("expected .storage")
        }
        XCTAssertTrue(reason.contains("1000"), reason)
        XCTAssertNoThrow(try store.open(path: "ok", size: 1000, overwrite: false, resume: false))
    }

    func testSizeBeyondFreeDiskSpaceIsAStorageError() throws {
        let store = try makeStore()
        guard case .storage(let reason)? = storeError(try store.open(path: "huge", size: Int64.max / 2, overwrite: false, resume: false)) else {
            return XCTFail("expected .storage")
        }
        XCTAssertTrue(reason.contains("free"), reason)
        XCTAssertEqual(store.openUploads(), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.stagingDirectory), [])
    }

    func testPathErrorsFromEveryEntryPoint() throws {
        let store = try makeStore()
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try Data("secret".utf8).write(to: URL(fileURLWithPath: outside + "/secret"))
        try FileManager.default.createSymbolicLink(atPath: store.root + "/out", withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: store.root + "/secret-link", withDestinationPath: outside + "/secret")

        for path in ["", "/abs", "../up", "a/../../b", "nul\u{0}byte", ".floe-staging/x", "out/secret", "out/new", "secret-link"] {
            assertPathError(try store.open(path: path, size: 1, overwrite: true, resume: false))
            assertPathError(try store.stat(path: path))
            assertPathError(try store.read(path: path, offset: 0, length: 1))
        }
        for path in ["/", "..", "out", ".floe-staging"] {
            assertPathError(try store.list(dir: path))
        }
        XCTAssertEqual(store.openUploads(), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside), ["secret"])
    }

    func testSymlinkSwappedInBeforeCommitIsRefused() throws {
        let store = try makeStore()
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        let handle = try store.open(path: "later/file", size: 3, overwrite: false, resume: false)
        try store.write(uploadID: handle.id, offset: 0, bytes: buffer([1, 2, 3]))
        // The parent did not exist at open; now it is a link leaving the root.
        try FileManager.default.createSymbolicLink(atPath: store.root + "/later", withDestinationPath: outside)
        assertPathError(try store.commit(uploadID: handle.id, checksum: standardChecksum([1, 2, 3])))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside), [])
        // Still open: the client can abort.
        XCTAssertEqual(try store.received(uploadID: handle.id), [0, 3])
        try store.abort(uploadID: handle.id)
    }
}
