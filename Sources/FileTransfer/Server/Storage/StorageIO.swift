#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call, with the errno it set.
struct SystemCallError: Error, Equatable, Sendable {
    /// Name of the call, e.g. "pwrite".
    var call: String
    /// The server-side path involved (for logs only; never sent to clients).
    var path: String
    var code: Int32

    var message: String { StorageIO.describe(code) }
}

/// Thin wrappers over the POSIX calls the store uses: they retry on EINTR, loop on
/// short reads/writes and throw `SystemCallError`.
enum StorageIO {
    static func describe(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }

    static func openFile(_ path: String, flags: Int32, mode: mode_t = 0o644) throws(SystemCallError) -> Int32 {
        while true {
            let fd = open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            let code = errno
            if code == EINTR { continue }
            throw SystemCallError(call: "open", path: path, code: code)
        }
    }

    static func closeFile(_ fd: Int32) {
        // On Linux close() must not be retried after EINTR: the descriptor is gone.
        _ = close(fd)
    }

    /// Writes all of `bytes` at `offset`, looping on short writes and EINTR.
    static func pwriteAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64, path: String) throws(SystemCallError) {
        guard var base = bytes.baseAddress else { return }
        var remaining = bytes.count
        var position = offset
        while remaining > 0 {
            let written = pwrite(fd, base, remaining, off_t(position))
            if written < 0 {
                let code = errno
                if code == EINTR { continue }
                throw SystemCallError(call: "pwrite", path: path, code: code)
            }
            if written == 0 {
                // pwrite returning 0 for a non-zero count should not happen on a regular file.
                throw SystemCallError(call: "pwrite", path: path, code: EIO)
            }
            base += written
            remaining -= written
            position += Int64(written)
        }
    }

    /// Reads into `buffer` from `offset` until it is full or end of file is reached;
    /// returns the number of bytes read.
    static func preadFully(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64, path: String) throws(SystemCallError) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var total = 0
        while total < buffer.count {
            let count = pread(fd, base + total, buffer.count - total, off_t(offset + Int64(total)))
            if count < 0 {
                let code = errno
                if code == EINTR { continue }
                throw SystemCallError(call: "pread", path: path, code: code)
            }
            if count == 0 { break }
            total += count
        }
        return total
    }

    static func truncate(_ fd: Int32, to size: Int64, path: String) throws(SystemCallError) {
        while ftruncate(fd, off_t(size)) != 0 {
            let code = errno
            if code == EINTR { continue }
            throw SystemCallError(call: "ftruncate", path: path, code: code)
        }
    }

    /// Makes the file's data (not necessarily its timestamps) durable.
    static func syncData(_ fd: Int32, path: String) throws(SystemCallError) {
        #if os(Linux)
        let result = fdatasync(fd)
        #else
        let result = fsync(fd)
        #endif
        if result != 0 {
            throw SystemCallError(call: "fdatasync", path: path, code: errno)
        }
    }

    /// Makes the file's data and metadata durable.
    static func syncFile(_ fd: Int32, path: String) throws(SystemCallError) {
        if fsync(fd) != 0 {
            throw SystemCallError(call: "fsync", path: path, code: errno)
        }
    }

    /// Makes the entries of a directory (creations, renames, removals) durable.
    static func syncDirectory(_ path: String) throws(SystemCallError) {
        let fd = try openFile(path, flags: O_RDONLY | O_DIRECTORY)
        defer { closeFile(fd) }
        if fsync(fd) != 0 {
            let code = errno
            // Some file systems cannot fsync directories; that is not an error there.
            if code == EINVAL || code == ENOTSUP { return }
            throw SystemCallError(call: "fsync", path: path, code: code)
        }
    }

    static func fileStatus(_ fd: Int32, path: String) throws(SystemCallError) -> stat {
        var status = stat()
        if fstat(fd, &status) != 0 {
            throw SystemCallError(call: "fstat", path: path, code: errno)
        }
        return status
    }

    /// `stat(2)` (follows symbolic links); nil when the path does not exist.
    static func pathStatus(_ path: String) throws(SystemCallError) -> stat? {
        var status = stat()
        if stat(path, &status) != 0 {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return nil }
            throw SystemCallError(call: "stat", path: path, code: code)
        }
        return status
    }

    /// `lstat(2)` (does not follow a final symbolic link); nil when it does not exist.
    static func linkStatus(_ path: String) throws(SystemCallError) -> stat? {
        var status = stat()
        if lstat(path, &status) != 0 {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return nil }
            throw SystemCallError(call: "lstat", path: path, code: code)
        }
        return status
    }

    static func isRegularFile(_ status: stat) -> Bool {
        (status.st_mode & mode_t(S_IFMT)) == mode_t(S_IFREG)
    }

    static func isDirectory(_ status: stat) -> Bool {
        (status.st_mode & mode_t(S_IFMT)) == mode_t(S_IFDIR)
    }

    static func modificationSeconds(_ status: stat) -> Int64 {
        #if os(Linux)
        return Int64(status.st_mtim.tv_sec)
        #else
        return Int64(status.st_mtimespec.tv_sec)
        #endif
    }

    static func modificationNanoseconds(_ status: stat) -> Int64 {
        #if os(Linux)
        return Int64(status.st_mtim.tv_nsec)
        #else
        return Int64(status.st_mtimespec.tv_nsec)
        #endif
    }

    /// Canonical absolute path with every symbolic link resolved.
    static func canonicalPath(_ path: String) throws(SystemCallError) -> String {
        guard let resolved = realpath(path, nil) else {
            throw SystemCallError(call: "realpath", path: path, code: errno)
        }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func renameItem(from source: String, to destination: String) throws(SystemCallError) {
        if rename(source, destination) != 0 {
            throw SystemCallError(call: "rename", path: destination, code: errno)
        }
    }

    /// Creates a hard link; fails with EEXIST when `destination` exists (atomically).
    static func linkItem(from source: String, to destination: String) throws(SystemCallError) {
        if link(source, destination) != 0 {
            throw SystemCallError(call: "link", path: destination, code: errno)
        }
    }

    /// Removes a file; a missing file is not an error.
    static func removeFile(_ path: String) throws(SystemCallError) {
        if unlink(path) != 0 {
            let code = errno
            if code == ENOENT { return }
            throw SystemCallError(call: "unlink", path: path, code: code)
        }
    }

    /// Creates one directory; an existing directory is not an error.
    static func makeDirectory(_ path: String, mode: mode_t = 0o755) throws(SystemCallError) {
        if mkdir(path, mode) != 0 {
            let code = errno
            if code == EEXIST, let status = try pathStatus(path), isDirectory(status) { return }
            throw SystemCallError(call: "mkdir", path: path, code: code)
        }
    }

    /// Bytes available to unprivileged users on the file system holding `path`.
    static func availableBytes(_ path: String) throws(SystemCallError) -> Int64 {
        var info = statvfs()
        if statvfs(path, &info) != 0 {
            throw SystemCallError(call: "statvfs", path: path, code: errno)
        }
        let (product, overflow) = UInt64(info.f_bavail).multipliedReportingOverflow(by: UInt64(info.f_frsize))
        if overflow || product > UInt64(Int64.max) { return .max }
        return Int64(product)
    }

    /// Names in a directory, without "." and "..".
    static func directoryEntries(_ path: String) throws(SystemCallError) -> [String] {
        guard let dir = opendir(path) else {
            throw SystemCallError(call: "opendir", path: path, code: errno)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                let code = errno
                if code != 0 { throw SystemCallError(call: "readdir", path: path, code: code) }
                break
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> String in
                let bytes = raw.bindMemory(to: CChar.self)
                return String(cString: bytes.baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}

extension FileStoreError {
    /// Turns a failed system call into a `.storage` error whose reason says what the
    /// server was doing, what went wrong and what the client can do (no server paths).
    static func storage(_ error: SystemCallError, while activity: String) -> FileStoreError {
        switch error.code {
        case ENOSPC:
            return .storage(reason: "the server ran out of disk space while \(activity); free space on the server (or ask its administrator to), then resume or retry the upload")
        case EDQUOT:
            return .storage(reason: "the server's disk quota is exhausted while \(activity); free space within the quota or raise it, then resume or retry the upload")
        case EIO:
            return .storage(reason: "the server's disk reported an I/O error while \(activity); its storage may be failing: retry later and tell the server's administrator")
        case EROFS:
            return .storage(reason: "the server's storage is read-only while \(activity); ask the server's administrator to make it writable, then retry")
        case EMFILE, ENFILE:
            return .storage(reason: "the server has too many open files while \(activity); retry later, or finish or abort some uploads")
        case EFBIG:
            return .storage(reason: "the server's file system does not allow a file this large while \(activity); upload a smaller file")
        default:
            return .storage(reason: "\(error.call) failed with \"\(error.message)\" (errno \(error.code)) while \(activity); retry later and tell the server's administrator if it persists")
        }
    }
}
