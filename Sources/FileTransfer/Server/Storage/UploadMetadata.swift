import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The persisted description of a partial upload: `<staging>/<id>.meta`, JSON.
///
/// `ranges` only ever lists bytes that were made durable (fdatasync of the part
/// file) before the metadata was written, so after a crash the part file holds at
/// least what the metadata claims.
struct UploadMetadata: Codable, Equatable, Sendable {
    static let currentVersion = 1

    var version: Int = UploadMetadata.currentVersion
    var id: String
    /// Normalised client path.
    var path: String
    var size: Int64
    /// Durable ranges, flattened (start, end, start, end, …).
    var ranges: [Int64]
    /// Creation time, unix seconds.
    var created: Int64
    var overwrite: Bool

    func encoded() throws(FileStoreError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            return Array(try encoder.encode(self))
        } catch {
            throw .storage(reason: "the server could not encode the metadata of upload \(id) (\(error)); abort the upload and start again")
        }
    }

    static func decode(_ bytes: [UInt8]) -> UploadMetadata? {
        try? JSONDecoder().decode(UploadMetadata.self, from: Data(bytes))
    }

    /// Atomically replaces `<directory>/<id>.meta`: writes `<id>.meta.tmp`, fsyncs
    /// it, renames it over the old file and fsyncs the directory.
    func write(inDirectory directory: String) throws(SystemCallError) {
        let bytes: [UInt8]
        do {
            bytes = try encoded()
        } catch {
            throw SystemCallError(call: "encode", path: directory, code: EINVAL)
        }
        let finalPath = Self.metaPath(id: id, in: directory)
        let temporaryPath = finalPath + ".tmp"
        let fd = try StorageIO.openFile(temporaryPath, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o600)
        do throws(SystemCallError) {
            let failure = bytes.withUnsafeBytes { raw -> SystemCallError? in
                do throws(SystemCallError) {
                    try StorageIO.pwriteAll(fd, raw, at: 0, path: temporaryPath)
                    return nil
                } catch {
                    return error
                }
            }
            if let failure { throw failure }
            try StorageIO.syncFile(fd, path: temporaryPath)
            StorageIO.closeFile(fd)
        } catch {
            StorageIO.closeFile(fd)
            try? StorageIO.removeFile(temporaryPath)
            throw error
        }
        try StorageIO.renameItem(from: temporaryPath, to: finalPath)
        try StorageIO.syncDirectory(directory)
    }

    /// Reads and decodes a metadata file; nil when it is missing or unreadable.
    static func read(from path: String) -> UploadMetadata? {
        guard let fd = try? StorageIO.openFile(path, flags: O_RDONLY) else { return nil }
        defer { StorageIO.closeFile(fd) }
        guard let status = try? StorageIO.fileStatus(fd, path: path),
              status.st_size >= 0, status.st_size <= 16 << 20
        else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(status.st_size))
        let count = bytes.withUnsafeMutableBytes { raw -> Int? in
            try? StorageIO.preadFully(fd, into: raw, at: 0, path: path)
        }
        guard count == bytes.count else { return nil }
        return decode(bytes)
    }

    static func metaPath(id: String, in directory: String) -> String {
        directory + "/" + id + ".meta"
    }

    static func partPath(id: String, in directory: String) -> String {
        directory + "/" + id + ".part"
    }
}
