import Foundation
import XCTest

@testable import FileTransfer

final class PathValidatorTests: StorageTestCase {
    private func validator() throws -> PathValidator {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        return try PathValidator(root: root)
    }

    func testRelativePathsAreNormalisedUnderTheRoot() throws {
        let validator = try validator()
        let plain = try validator.validate("a/b/c.txt")
        XCTAssertEqual(plain.relative, "a/b/c.txt")
        XCTAssertEqual(plain.components, ["a", "b", "c.txt"])
        XCTAssertEqual(plain.absolute, validator.root + "/a/b/c.txt")
        XCTAssertEqual(try validator.validate("a//b/./c.txt/").relative, "a/b/c.txt")
        XCTAssertEqual(try validator.validate("./x").relative, "x")
        XCTAssertEqual(try validator.validate("...").relative, "...")
        XCTAssertEqual(try validator.validate("..x/y..").relative, "..x/y..")
        XCTAssertEqual(try validator.validate("sp ace/ünï").relative, "sp ace/ünï")
    }

    func testRootIsCanonical() throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let link = outside + "-link-to-root"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: root)
        let validator = try PathValidator(root: link)
        XCTAssertEqual(validator.root, try PathValidator(root: root).root)
        XCTAssertFalse(validator.root.contains("-link-to-root"))
        XCTAssertEqual(validator.stagingDirectory, validator.root + "/.floe-staging")
    }

    func testRejectsEmptyAbsoluteDotDotAndNUL() throws {
        let validator = try validator()
        for path in ["", ".", "./", "//"] {
            assertPathError(try validator.validate(path))
        }
        for path in ["/etc/passwd", "/", "/a/b"] {
            assertPathError(try validator.validate(path))
        }
        for path in ["..", "../x", "a/../b", "a/..", "a/b/../../..", "./.."] {
            assertPathError(try validator.validate(path))
            assertPathError(try validator.validateDirectory(path))
        }
        for path in ["a\u{0}b", "\u{0}", "dir/\u{0}/x"] {
            assertPathError(try validator.validate(path))
        }
        if case .path(let reason, let path)? = storeError(try validator.validate("a/../b")) {
            XCTAssertTrue(reason.contains(".."), reason)
            XCTAssertEqual(path, "a/../b")
        } else {
            XCTFail("expected a path error")
        }
    }

    func testRejectsTheStagingDirectoryName() throws {
        let validator = try validator()
        for path in [".floe-staging", ".floe-staging/x.part", "./.floe-staging/x", "a/.floe-staging", ".floe-staging-2/x", ".floe-stagingX"] {
            assertPathError(try validator.validate(path))
        }
        assertPathError(try validator.validateDirectory(".floe-staging"))
        XCTAssertNoThrow(try validator.validate(".floe-stag/x"))
        XCTAssertNoThrow(try validator.validate("floe-staging/x"))
    }

    func testRejectsOverlongNames() throws {
        let validator = try validator()
        assertPathError(try validator.validate(String(repeating: "n", count: 256)))
        XCTAssertNoThrow(try validator.validate(String(repeating: "n", count: 255)))
        let deep = Array(repeating: String(repeating: "d", count: 200), count: 21).joined(separator: "/")
        assertPathError(try validator.validate(deep))
    }

    func testDirectoriesAllowTheRoot() throws {
        let validator = try validator()
        for path in ["", ".", "./", "./."] {
            let directory = try validator.validateDirectory(path)
            XCTAssertEqual(directory.relative, "")
            XCTAssertEqual(directory.absolute, validator.root)
        }
        assertPathError(try validator.validateDirectory("/"))
    }

    func testSymlinkOutsideTheRootIsRejected() throws {
        let validator = try validator()
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try Data("secret".utf8).write(to: URL(fileURLWithPath: outside + "/secret.txt"))
        try FileManager.default.createSymbolicLink(atPath: root + "/escape", withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: root + "/secret-link", withDestinationPath: outside + "/secret.txt")
        try FileManager.default.createSymbolicLink(atPath: root + "/relative-escape", withDestinationPath: "../outside")

        assertPathError(try validator.validate("escape/secret.txt"))
        assertPathError(try validator.validate("escape/new/file"))
        assertPathError(try validator.validate("secret-link"))
        assertPathError(try validator.validate("relative-escape/secret.txt"))
        assertPathError(try validator.validateDirectory("escape"))
    }

    func testSymlinkInsideTheRootIsResolved() throws {
        let validator = try validator()
        try FileManager.default.createDirectory(atPath: root + "/real/sub", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root + "/alias", withDestinationPath: "real")
        let resolved = try validator.validate("alias/sub/file.bin")
        XCTAssertEqual(resolved.relative, "alias/sub/file.bin")
        XCTAssertEqual(resolved.absolute, validator.root + "/real/sub/file.bin")
    }

    func testSymlinkIntoTheStagingAreaIsRejected() throws {
        let validator = try validator()
        try FileManager.default.createDirectory(atPath: validator.stagingDirectory, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root + "/sneaky", withDestinationPath: ".floe-staging")
        assertPathError(try validator.validate("sneaky/abc.part"))
        assertPathError(try validator.validateDirectory("sneaky"))
    }

    func testSymlinkToTheRootItselfIsNotAFile() throws {
        let validator = try validator()
        try FileManager.default.createSymbolicLink(atPath: root + "/self", withDestinationPath: ".")
        assertPathError(try validator.validate("self"))
        XCTAssertEqual(try validator.validateDirectory("self").absolute, validator.root)
    }

    func testAFileCannotBeAParent() throws {
        let validator = try validator()
        try writeFile("plain", [1, 2, 3])
        assertPathError(try validator.validate("plain/child"))
        XCTAssertNoThrow(try validator.validate("plain"))
    }
}
