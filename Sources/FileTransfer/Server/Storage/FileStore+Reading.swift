import Ice
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension FileStore {
    /// Size, standard checksum (XXH3) and modification time of a committed file.
    public func stat(path: String) throws(FileStoreError) -> FileInfo {
        let target = try validator.validate(path)
        let fd = try openForReading(target)
        defer { StorageIO.closeFile(fd) }
        return try describe(fd: fd, target: target)
    }

    /// The files directly in `dir` ("" or "." for the root), sorted by name
    /// (byte-wise). Directories, symbolic links, other special files and the
    /// staging area are not listed.
    public func list(dir: String) throws(FileStoreError) -> [FileInfo] {
        let directory = try validator.validateDirectory(dir)
        let names: [String]
        do {
            names = try StorageIO.directoryEntries(directory.absolute)
        } catch {
            switch error.code {
            case ENOENT:
                throw .path(reason: "no such directory; check the path (list its parent to see what exists)", path: dir)
            case ENOTDIR:
                throw .path(reason: "this is a file, not a directory; use stat or read on it", path: dir)
            default:
                throw .storage(error, while: "listing \"\(directory.relative)\"")
            }
        }
        var infos: [FileInfo] = []
        for name in names where !name.utf8.starts(with: PathValidator.stagingDirectoryName.utf8) {
            let absolute = PathValidator.join(directory.absolute, name)
            let relative = directory.relative.isEmpty ? name : directory.relative + "/" + name
            guard let status = try? StorageIO.linkStatus(absolute), StorageIO.isRegularFile(status) else { continue }
            let target = PathValidator.ValidatedPath(relative: relative, absolute: absolute,
                                                     components: directory.components + [name])
            let fd: Int32
            do {
                fd = try openForReading(target)
            } catch {
                continue  // removed or replaced meanwhile
            }
            defer { StorageIO.closeFile(fd) }
            do {
                infos.append(try describe(fd: fd, target: target))
            } catch .path {
                continue
            }
        }
        return infos.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }

    /// Up to `length` bytes of a committed file from `offset` (fewer at end of file).
    ///
    /// `.range` when `offset` is negative or beyond the size, or `length` is negative
    /// or above `maxReadLength`. Reading at exactly the size returns no bytes.
    public func read(path: String, offset: Int64, length: Int32) throws(FileStoreError) -> ByteBuffer {
        let target = try validator.validate(path)
        let fd = try openForReading(target)
        defer { StorageIO.closeFile(fd) }
        let size = Int64(try regularFileStatus(fd: fd, target: target).st_size)
        if length < 0 || length > Self.maxReadLength {
            throw .range(reason: "a read length must be between 0 and \(Self.maxReadLength) bytes; read large files in several calls", offset: offset, length: length, size: size)
        }
        if offset < 0 || offset > size {
            throw .range(reason: "offset \(offset) is outside the file, whose size is \(size) bytes; read from an offset between 0 and the size", offset: offset, length: length, size: size)
        }
        let count = Int(min(Int64(length), size - offset))
        guard count > 0 else { return ByteBuffer() }
        var buffer = readBuffers.takeAligned(capacity: count, allocator: ByteBufferAllocator())
        var failure: SystemCallError?
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw -> Int in
            do throws(SystemCallError) {
                // Fewer bytes than asked only if the file shrank meanwhile.
                return try StorageIO.preadFully(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[..<count]), at: offset, path: target.absolute)
            } catch {
                failure = error
                return 0
            }
        }
        if let failure {
            throw .storage(failure, while: "reading \"\(target.relative)\"")
        }
        readBuffers.recycle(buffer)
        return buffer
    }

    // MARK: - Helpers

    /// Opens a committed file read-only. Does not follow a symbolic link at the last
    /// component (the validator resolved existing ones already, so one appearing
    /// later is refused) and does not block on FIFOs.
    func openForReading(_ target: PathValidator.ValidatedPath) throws(FileStoreError) -> Int32 {
        do {
            return try StorageIO.openFile(target.absolute, flags: O_RDONLY | O_NONBLOCK | O_NOFOLLOW)
        } catch {
            switch error.code {
            case ENOENT, ENOTDIR:
                throw .path(reason: "no such file; check the path (list its directory to see what is stored)", path: target.relative)
            case ELOOP:
                throw .path(reason: "the path is a symbolic link that was created after it was checked; retry", path: target.relative)
            case EACCES:
                throw .path(reason: "the server is not allowed to read this file; ask the server's administrator", path: target.relative)
            default:
                throw .storage(error, while: "opening \"\(target.relative)\"")
            }
        }
    }

    /// fstat of an open file that must be a regular file (`.path` otherwise).
    func regularFileStatus(fd: Int32, target: PathValidator.ValidatedPath) throws(FileStoreError) -> stat {
        let status: stat
        do {
            status = try StorageIO.fileStatus(fd, path: target.absolute)
        } catch {
            throw .storage(error, while: "reading the status of \"\(target.relative)\"")
        }
        if StorageIO.isDirectory(status) {
            throw .path(reason: "this is a directory, not a file; use list on it", path: target.relative)
        }
        guard StorageIO.isRegularFile(status) else {
            throw .path(reason: "this is not a regular file; only regular files can be read", path: target.relative)
        }
        return status
    }

    /// FileInfo of an open file, with its standard checksum from the cache or computed.
    func describe(fd: Int32, target: PathValidator.ValidatedPath) throws(FileStoreError) -> FileInfo {
        let status = try regularFileStatus(fd: fd, target: target)
        let key = ChecksumCache.Key(status)
        let checksum: Checksum
        if let cached = checksums.lookup(key) {
            checksum = cached
        } else {
            do {
                checksum = try FileChecksum.checksum(.standard, fd: fd, path: target.absolute)
            } catch {
                throw .storage(error, while: "computing the checksum of \"\(target.relative)\"")
            }
            checksums.store(key, checksum)
        }
        return FileInfo(path: target.relative, size: Int64(status.st_size), checksum: checksum.description,
                        modified: StorageIO.modificationSeconds(status))
    }
}
