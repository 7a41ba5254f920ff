#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns client paths (relative, "/"-separated) into safe server paths under a root.
///
/// Rejected, with `FileStoreError.path`:
/// - the empty path (except for directories, where "" and "." name the root),
/// - absolute paths, any ".." component, NUL characters,
/// - any component starting with the staging directory's name,
/// - components longer than 255 bytes or paths longer than 4095 bytes,
/// - a path whose existing part resolves (with `realpath`, so following symbolic
///   links) outside the root or into the staging area,
/// - a path whose existing parent component is not a directory.
///
/// Empty and "." components are dropped, so "a//b/./c" is "a/b/c".
///
/// The check is made when called: a symbolic link created afterwards by someone
/// with direct access to the root is not seen, which is why the store validates
/// again right before it renames a file into place.
public struct PathValidator: Sendable {
    /// Name of the hidden directory under the root that holds partial uploads.
    public static let stagingDirectoryName = ".floe-staging"

    static let maxComponentBytes = 255
    static let maxPathBytes = 4095

    /// A validated path.
    public struct ValidatedPath: Equatable, Sendable {
        /// Normalised client path ("a/b/c"; "" for the root).
        public var relative: String
        /// Absolute server path: the existing part with symbolic links resolved,
        /// then the components that do not exist yet.
        public var absolute: String
        /// Components of `relative`.
        public var components: [String]
    }

    /// Canonical absolute path of the root (symbolic links resolved).
    public let root: String

    /// Absolute path of the staging directory.
    public var stagingDirectory: String { Self.join(root, Self.stagingDirectoryName) }

    /// - Parameter root: an existing directory; it is canonicalised with realpath.
    public init(root: String) throws(FileStoreError) {
        do {
            self.root = try StorageIO.canonicalPath(root)
        } catch {
            throw .storage(error, while: "opening the storage root")
        }
    }

    /// Validates the path of a file (existing or to be created).
    public func validate(_ clientPath: String) throws(FileStoreError) -> ValidatedPath {
        let components = try lexicalComponents(clientPath, allowRoot: false)
        let absolute = try resolve(components, clientPath: clientPath)
        if absolute.utf8.elementsEqual(root.utf8) {
            throw .path(reason: "the path names the storage root itself, not a file; give a file name", path: clientPath)
        }
        return ValidatedPath(relative: components.joined(separator: "/"), absolute: absolute, components: components)
    }

    /// Validates the path of a directory; "" and "." name the root.
    public func validateDirectory(_ clientPath: String) throws(FileStoreError) -> ValidatedPath {
        let components = try lexicalComponents(clientPath, allowRoot: true)
        let absolute = try resolve(components, clientPath: clientPath)
        return ValidatedPath(relative: components.joined(separator: "/"), absolute: absolute, components: components)
    }

    /// The purely textual checks; returns the non-empty, non-"." components.
    func lexicalComponents(_ clientPath: String, allowRoot: Bool) throws(FileStoreError) -> [String] {
        let utf8 = clientPath.utf8
        if utf8.contains(0) {
            throw .path(reason: "the path contains a NUL character; remove it", path: clientPath)
        }
        if utf8.first == UInt8(ascii: "/") {
            throw .path(reason: "the path is absolute; give a path relative to the store root (without a leading \"/\")", path: clientPath)
        }
        if utf8.count > Self.maxPathBytes {
            throw .path(reason: "the path is longer than \(Self.maxPathBytes) bytes; use a shorter path", path: clientPath)
        }
        var components: [String] = []
        for part in clientPath.split(separator: "/", omittingEmptySubsequences: true) {
            let component = String(part)
            if component.utf8.elementsEqual(".".utf8) { continue }
            if component.utf8.elementsEqual("..".utf8) {
                throw .path(reason: "the path contains a \"..\" component, which could leave the store root; give a path without \"..\"", path: clientPath)
            }
            if component.utf8.starts(with: Self.stagingDirectoryName.utf8) {
                throw .path(reason: "names starting with \"\(Self.stagingDirectoryName)\" are reserved for the server's partial uploads; choose another name", path: clientPath)
            }
            if component.utf8.count > Self.maxComponentBytes {
                throw .path(reason: "the path component \"\(component.prefix(32))…\" is longer than \(Self.maxComponentBytes) bytes; use shorter names", path: clientPath)
            }
            components.append(component)
        }
        if components.isEmpty && !allowRoot {
            throw .path(reason: "the path is empty; give the path of a file relative to the store root", path: clientPath)
        }
        return components
    }

    /// Resolves the existing part of the path with realpath and checks it stays under
    /// the root and out of the staging area.
    func resolve(_ components: [String], clientPath: String) throws(FileStoreError) -> String {
        var existing = root
        var index = 0
        do {
            while index < components.count {
                let candidate = Self.join(existing, components[index])
                guard let status = try StorageIO.pathStatus(candidate) else { break }
                if index < components.count - 1 && !StorageIO.isDirectory(status) {
                    let prefix = components[...index].joined(separator: "/")
                    throw FileStoreError.path(reason: "\"\(prefix)\" is a file, not a directory, so nothing can be stored below it; choose another path", path: clientPath)
                }
                existing = candidate
                index += 1
            }
            let resolved = try StorageIO.canonicalPath(existing)
            if !Self.isSame(resolved, orBelow: root) {
                throw FileStoreError.path(reason: "the path leads outside the store root (through a symbolic link); choose a path inside the store", path: clientPath)
            }
            if Self.isSame(resolved, orBelow: stagingDirectory) {
                throw FileStoreError.path(reason: "the path leads into the server's staging area (through a symbolic link); choose another path", path: clientPath)
            }
            return components[index...].reduce(resolved) { Self.join($0, $1) }
        } catch let error as FileStoreError {
            throw error
        } catch let error as SystemCallError {
            if error.code == ELOOP || error.code == ENAMETOOLONG {
                throw .path(reason: "the path cannot be resolved (\(error.message)); choose another path", path: clientPath)
            }
            throw .storage(error, while: "resolving the path \"\(clientPath)\"")
        } catch {
            throw .storage(reason: "unexpected error resolving \"\(clientPath)\": \(error)")
        }
    }

    static func join(_ base: String, _ name: String) -> String {
        base.hasSuffix("/") ? base + name : base + "/" + name
    }

    /// Byte-wise comparison: String's `==`/`hasPrefix` use Unicode canonical
    /// equivalence, which the file system does not.
    static func isSame(_ path: String, orBelow base: String) -> Bool {
        if path.utf8.elementsEqual(base.utf8) { return true }
        let prefix = base.hasSuffix("/") ? base : base + "/"
        return path.utf8.starts(with: prefix.utf8)
    }
}
