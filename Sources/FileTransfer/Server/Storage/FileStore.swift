import Ice
import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The server's file storage: resumable uploads into a hidden staging area, atomic
/// commit into place, and read access to committed files.
///
/// Layout under `root`:
/// - committed files at their client paths;
/// - `.floe-staging/<id>.part`: the data of an upload, created sparse at its
///   declared size and written in place with pwrite;
/// - `.floe-staging/<id>.meta`: JSON metadata (path, size, durable ranges, creation
///   time), replaced atomically. It is reloaded by `init`, so an upload can be
///   resumed after a server restart.
///
/// Every method is thread-safe; `write` is meant to be called concurrently for
/// different offsets of one upload. Errors are always `FileStoreError`. Methods
/// block on file I/O: call them from threads that may block, not from an event loop.
public final class FileStore: Sendable {
    /// Largest `length` that `read` accepts.
    public static let maxReadLength: Int32 = 64 << 20

    /// Canonical absolute path of the root.
    public let root: String
    /// Absolute path of the staging directory.
    public let stagingDirectory: String
    public let maxFileSize: Int64
    public let staleAfter: Duration
    /// Ranges become durable after this many bytes were written since the last sync…
    public let syncEveryBytes: Int64
    /// …or when this much time passed since it (checked on each write).
    public let syncInterval: Duration

    let validator: PathValidator
    let logger: Logger
    let checksums = ChecksumCache()
    /// The buffers `read` returns, lent again once their reply has gone (a fresh 1 MiB buffer
    /// per read costs its pages' faults and zeroing).
    let readBuffers = ByteBufferPool(maxBytes: 16 << 20)

    /// What `open` decides under one lock. Uploads are added and removed only through it (so
    /// `byPath` and the index agree), but are kept in `index`, which has a lock of its own.
    struct State {
        /// Resolved absolute path -> upload id.
        var byPath: [String: String] = [:]
        let index: StoreLocked<[String: PartialUpload]>

        /// The open uploads by id.
        var uploads: [String: PartialUpload] { index.withLock { $0 } }

        mutating func insert(_ upload: PartialUpload) {
            byPath[upload.absolutePath] = upload.id
            index.withLock { $0[upload.id] = upload }
        }

        mutating func remove(_ upload: PartialUpload) {
            index.withLock { uploads in
                if uploads[upload.id] === upload { uploads[upload.id] = nil }
            }
            if byPath[upload.absolutePath] == upload.id {
                byPath[upload.absolutePath] = nil
            }
        }
    }

    /// The open uploads by id, for the lookups of every chunk: its own lock, which is never held
    /// across file-system calls (`state`'s is, while `open` creates an upload's files), so the
    /// I/O thread that dispatches `send` never waits behind a disk.
    private let index = StoreLocked<[String: PartialUpload]>([:])
    let state: StoreLocked<State>

    /// Opens (creating if needed) the store at `root` and reloads the partial
    /// uploads found in its staging area.
    ///
    /// - Parameters:
    ///   - maxFileSize: largest declared size `open` accepts.
    ///   - staleAfter: an upload with no activity for this long may be replaced by a
    ///     new `open` of its path and is removed by `cleanAbandoned`.
    ///   - syncEveryBytes, syncInterval: how often `write` makes received ranges
    ///     durable (fdatasync + metadata); see `flush` for doing it on demand.
    public init(
        root: String,
        maxFileSize: Int64 = .max,
        staleAfter: Duration = .seconds(3600),
        syncEveryBytes: Int64 = 64 << 20,
        syncInterval: Duration = .seconds(1),
        logger: Logger = Logger(label: "floe.storage")
    ) throws(FileStoreError) {
        state = StoreLocked(State(index: index))
        do {
            try Self.makeDirectories(root)
        } catch {
            throw .storage(error, while: "creating the storage root")
        }
        validator = try PathValidator(root: root)
        self.root = validator.root
        stagingDirectory = validator.stagingDirectory
        self.maxFileSize = maxFileSize
        self.staleAfter = staleAfter
        self.syncEveryBytes = max(1, syncEveryBytes)
        self.syncInterval = syncInterval
        var logger = logger
        logger[metadataKey: "storage.root"] = "\(validator.root)"
        self.logger = logger
        do {
            try StorageIO.makeDirectory(stagingDirectory, mode: 0o700)
        } catch {
            throw .storage(error, while: "creating the staging area")
        }
        try reloadPartialUploads()
    }

    deinit {
        for upload in state.withLock({ Array($0.uploads.values) }) {
            upload.closeForShutdown()
        }
    }

    // MARK: - Uploads

    /// Starts (or resumes) an upload of `path` with the declared `size`.
    ///
    /// - `overwrite`: replace an existing file at `path` on commit; without it an
    ///   existing file is a `.conflict` (now, and again at commit if one appeared).
    /// - `resume`: continue the open partial upload of `path` (same id, same part
    ///   file, its ranges kept) if there is one and its size equals `size` (else
    ///   `.conflict`); without a partial upload a new one starts.
    ///   Without `resume`, an active upload of `path` is a `.conflict`, while one
    ///   idle for `staleAfter` is discarded and replaced.
    public func open(path: String, size: Int64, overwrite: Bool, resume: Bool) throws(FileStoreError) -> UploadHandle {
        let target = try validator.validate(path)
        if size < 0 {
            throw .range(reason: "the declared size \(size) is negative; declare the file's real size", offset: 0, length: 0, size: size)
        }
        if size > maxFileSize {
            throw .storage(reason: "the declared size \(size) bytes exceeds this server's maximum file size of \(maxFileSize) bytes; upload a smaller file or ask the administrator to raise the limit")
        }
        try checkDestination(target, overwrite: overwrite)

        return try state.withLock { (state) throws(FileStoreError) -> UploadHandle in
            let now = ContinuousClock.now
            if let existingID = state.byPath[target.absolute], let existing = state.uploads[existingID],
               existing.currentPhase != .closed {
                if resume {
                    if existing.currentPhase == .committing {
                        throw .conflict(reason: "the upload of this path is being committed; wait for the commit, then stat the file", path: target.relative)
                    }
                    guard existing.size == size else {
                        throw .conflict(reason: "a partial upload of this path exists with size \(existing.size), not \(size); resume with the same size, or wait \(Self.describe(staleAfter)) for it to expire", path: target.relative)
                    }
                    try checkSpace(needed: size - existing.receivedRanges.coveredBytes)
                    existing.overwrite = overwrite
                    logger.info("resuming upload", metadata: ["upload": "\(existing.id)", "path": "\(target.relative)"])
                    var handle = existing.handle
                    handle.resumed = true
                    return handle
                }
                if existing.isActive(now: now, staleAfter: staleAfter) {
                    throw .conflict(reason: "another upload of this path is in progress; open with resume to continue it, or try again after it ends (it expires after \(Self.describe(staleAfter)) without activity)", path: target.relative)
                }
                // Idle for staleAfter: discard it in favour of the new upload.
                if case .closed = try existing.close(idleBefore: now - staleAfter) {
                    state.remove(existing)
                    removeFiles(of: existing, reason: "replaced by a new upload of its path")
                } else {
                    throw .conflict(reason: "another upload of this path is in progress; open with resume to continue it, or try again later", path: target.relative)
                }
            }

            try checkSpace(needed: size)
            let upload = try createUpload(target: target, size: size, overwrite: overwrite)
            state.insert(upload)
            logger.info("upload opened", metadata: ["upload": "\(upload.id)", "path": "\(target.relative)", "size": "\(size)"])
            return upload.handle
        }
    }

    /// Writes `bytes` (all readable bytes; the reader index is not moved) at
    /// `offset` of the upload, and records the range as received.
    ///
    /// Safe to call concurrently for the same upload; overlapping writes are
    /// allowed (the last one wins). Every `syncEveryBytes` / `syncInterval` the
    /// received ranges are made durable.
    public func write(uploadID: String, offset: Int64, bytes: ByteBuffer) throws(FileStoreError) {
        let upload = try lookup(uploadID)
        let length = Int64(bytes.readableBytes)
        let (end, overflow) = offset.addingReportingOverflow(length)
        if offset < 0 || overflow || end > upload.size {
            throw .range(
                reason: "writing \(length) bytes at offset \(offset) does not fit in the declared size of \(upload.size) bytes; send data only within [0, \(upload.size))",
                offset: offset, length: Int32(clamping: length), size: upload.size)
        }
        try upload.beginOperation(touch: true)
        defer { upload.endOperation() }
        if length == 0 { return }

        let range = offset..<end
        let persistNow = try upload.writes.run { () throws(FileStoreError) in
            try writeAndRecord(upload, bytes, range: range)
        }
        if persistNow {
            try persist(upload, wait: false)
        }
    }

    /// Writes the chunk, records it as received and advances the prefix digest; whether the
    /// received ranges are due to be made durable. Run by the upload's `writes` serializer.
    private func writeAndRecord(_ upload: PartialUpload, _ bytes: ByteBuffer, range: Range<Int64>) throws(FileStoreError) -> Bool {
        if upload.receivedRanges.overlaps(range) { upload.digest.invalidate() }
        let failure = bytes.withUnsafeReadableBytes { raw -> SystemCallError? in
            do throws(SystemCallError) {
                try StorageIO.pwriteAll(upload.fd, raw, at: range.lowerBound, path: upload.partPath)
                return nil
            } catch {
                return error
            }
        }
        if let failure {
            logger.error("write failed", metadata: ["upload": "\(upload.id)", "offset": "\(range.lowerBound)", "error": "\(failure)"])
            throw .storage(failure, while: "writing \(range.count) bytes at offset \(range.lowerBound)")
        }
        let persistNow = upload.record(range, syncEveryBytes: syncEveryBytes, syncInterval: syncInterval)
        do {
            try upload.digest.wrote(range, bytes: bytes, contiguousEnd: upload.receivedRanges.contiguousEnd(from: 0), fd: upload.fd, path: upload.partPath)
        } catch {
            upload.digest.invalidate()  // commit hashes the file instead
        }
        return persistNow
    }

    /// Ranges received so far, flattened as `start, end, start, end, …`.
    ///
    /// These are the ranges in memory; after a restart only those that were made
    /// durable are reported (the others must be sent again).
    public func received(uploadID: String) throws(FileStoreError) -> [Int64] {
        try lookup(uploadID).receivedRanges.flattened
    }

    /// Makes every range received so far durable (fdatasync + metadata) now.
    public func flush(uploadID: String) throws(FileStoreError) {
        let upload = try lookup(uploadID)
        try upload.beginOperation(touch: false)
        defer { upload.endOperation() }
        try persist(upload, wait: true)
    }

    /// `flush` for every open upload (e.g. before shutdown); failures are logged.
    public func flushAll() {
        for upload in state.withLock({ Array($0.uploads.values) }) {
            do {
                try upload.beginOperation(touch: false)
                defer { upload.endOperation() }
                try persist(upload, wait: true)
            } catch {
                logger.warning("flush failed", metadata: ["upload": "\(upload.id)", "error": "\(error)"])
            }
        }
    }

    /// Checks the upload is complete and has the expected checksum, then moves it into place
    /// atomically and returns its `FileInfo`, whose checksum is in the algorithm of `expected`.
    ///
    /// `expected` is `"xxh3:<16 hex>"`, `"xxh64:<16 hex>"`, `"sha256:<64 hex>"` or 64 hex digits
    /// alone (SHA-256; see `Checksum(parsing:)`); anything else is an `.integrity` error before
    /// any check. The standard checksum (XXH3) is checked against the digest kept while the data
    /// arrived (or, if a resend invalidated it, by reading the file); the others by reading the
    /// file. Missing bytes are a `.range` error naming the first missing range; a checksum
    /// mismatch is an `.integrity` error with both checksums in the `"algorithm:hex"` form. After
    /// either, the upload stays open so the client can send data again and retry, or abort.
    public func commit(uploadID: String, checksum expected: String) throws(FileStoreError) -> FileInfo {
        let upload = try lookup(uploadID)
        guard let wanted = Checksum(parsing: expected) else {
            throw .integrity(reason: "the checksum \"\(expected.prefix(80))\" is not in an accepted format; send \(Checksum.acceptedFormats)", expected: expected, actual: "")
        }
        let ranges = try upload.beginCommit()
        var succeeded = false
        defer { if !succeeded { upload.endCommit(succeeded: false) } }

        if let gap = ranges.firstMissing(in: 0..<upload.size) {
            let missing = upload.size - ranges.coveredBytes
            throw .range(
                reason: "the upload is incomplete: bytes [\(gap.lowerBound), \(gap.upperBound)) have not been received (\(missing) of \(upload.size) bytes missing); send the missing ranges (see received) and commit again",
                offset: gap.lowerBound, length: Int32(clamping: gap.count), size: upload.size)
        }

        // The standard checksum is what stat reports later (cached below); with another
        // algorithm it comes from the same read of the file when the running digest cannot be used.
        let running = upload.digest.final(size: upload.size)
        let actual: Checksum
        let standard: Checksum
        do {
            switch (wanted.algorithm == .standard, running) {
            case (true, let running?):
                (actual, standard) = (running, running)
            case (true, nil):
                actual = try FileChecksum.checksum(.standard, fd: upload.fd, path: upload.partPath)
                standard = actual
            case (false, let running?):
                actual = try FileChecksum.checksum(wanted.algorithm, fd: upload.fd, path: upload.partPath)
                standard = running
            case (false, nil):
                let both = try FileChecksum.checksums([wanted.algorithm, .standard], fd: upload.fd, path: upload.partPath)
                (actual, standard) = (both[0], both[1])
            }
        } catch {
            throw .storage(error, while: "computing the checksum of the upload")
        }
        guard actual == wanted else {
            logger.warning("checksum mismatch", metadata: ["upload": "\(uploadID)", "expected": "\(wanted)", "actual": "\(actual)"])
            throw .integrity(
                reason: "the received content has \(actual.algorithm.displayName) \(actual.hex) but \(wanted.hex) was expected; the upload is kept: resend the data (or abort and start again), then commit again",
                expected: wanted.description, actual: actual.description)
        }

        do {
            try StorageIO.syncFile(upload.fd, path: upload.partPath)
        } catch {
            throw .storage(error, while: "making the upload durable before commit")
        }
        let destination = try prepareDestination(for: upload)
        try moveIntoPlace(upload, destination: destination)

        let status: stat
        do {
            status = try StorageIO.fileStatus(upload.fd, path: destination.absolute)
        } catch {
            throw .storage(error, while: "reading the committed file's status")
        }
        checksums.store(ChecksumCache.Key(status), standard)
        do {
            try StorageIO.removeFile(upload.metaPath)
        } catch {
            // The file is committed; a stale metadata file is discarded at next start.
            logger.warning("could not remove metadata", metadata: ["upload": "\(uploadID)", "error": "\(error)"])
        }
        succeeded = true
        upload.endCommit(succeeded: true)
        state.withLock { $0.remove(upload) }
        logger.info("upload committed", metadata: ["upload": "\(uploadID)", "path": "\(destination.relative)", "size": "\(upload.size)", "checksum": "\(actual)"])
        return FileInfo(path: destination.relative, size: Int64(status.st_size), checksum: actual.description,
                        modified: StorageIO.modificationSeconds(status))
    }

    /// Discards the upload and its staging files. Unknown, committed or already
    /// aborted ids are not an error.
    public func abort(uploadID: String) throws(FileStoreError) {
        guard let upload = state.withLock({ $0.uploads[uploadID] }) else { return }
        let outcome = try upload.close()
        state.withLock { $0.remove(upload) }
        if outcome == .closed {
            logger.info("upload aborted", metadata: ["upload": "\(uploadID)", "path": "\(upload.path)"])
            do {
                try StorageIO.removeFile(upload.metaPath)
                try StorageIO.removeFile(upload.partPath)
            } catch {
                logger.error("could not remove staging files", metadata: ["upload": "\(uploadID)", "error": "\(error)"])
                throw .storage(error, while: "removing the aborted upload's data")
            }
        }
    }

    /// Removes uploads with no activity for `staleAfter` before `now` (and no write
    /// running); returns their ids.
    @discardableResult
    public func cleanAbandoned(now: ContinuousClock.Instant = .now) -> [String] {
        let cutoff = now - staleAfter
        let removed: [PartialUpload] = state.withLock { state in
            var removed: [PartialUpload] = []
            for upload in state.uploads.values {
                if case .closed? = try? upload.close(idleBefore: cutoff) {
                    state.remove(upload)
                    removed.append(upload)
                }
            }
            return removed
        }
        for upload in removed {
            removeFiles(of: upload, reason: "abandoned")
        }
        return removed.map(\.id).sorted()
    }

    /// The open upload with this id (nil when unknown, committed, aborted or removed).
    public func upload(id: String) -> UploadHandle? {
        guard let upload = index.withLock({ $0[id] }), upload.currentPhase != .closed else { return nil }
        return upload.handle
    }

    /// The uploads currently open (including those reloaded at start).
    public func openUploads() -> [UploadHandle] {
        state.withLock { state in
            state.uploads.values.map(\.handle).sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        }
    }

    // MARK: - Helpers

    func lookup(_ uploadID: String) throws(FileStoreError) -> PartialUpload {
        guard let upload = index.withLock({ $0[uploadID] }) else {
            throw .conflict(reason: "there is no open upload with id \(uploadID) (it was committed, aborted or removed after inactivity); open the file again (with resume to keep what the server still has)", path: "")
        }
        return upload
    }

    func persist(_ upload: PartialUpload, wait: Bool) throws(FileStoreError) {
        do {
            try upload.persistDurableRanges(wait: wait)
        } catch {
            logger.error("persisting upload state failed", metadata: ["upload": "\(upload.id)", "error": "\(error)"])
            throw .storage(error, while: "making received data durable")
        }
    }

    /// An existing directory is always a conflict; an existing file is one unless
    /// `overwrite`.
    func checkDestination(_ target: PathValidator.ValidatedPath, overwrite: Bool) throws(FileStoreError) {
        let status: stat?
        do {
            status = try StorageIO.pathStatus(target.absolute)
        } catch {
            throw .storage(error, while: "checking whether \"\(target.relative)\" exists")
        }
        guard let status else { return }
        if StorageIO.isDirectory(status) {
            throw .conflict(reason: "a directory exists at this path, so a file cannot be stored there; choose another path", path: target.relative)
        }
        if !overwrite {
            throw .conflict(reason: "a file already exists at this path; open it with overwrite to replace it, or choose another path", path: target.relative)
        }
    }

    func checkSpace(needed: Int64) throws(FileStoreError) {
        guard needed > 0 else { return }
        let available: Int64
        do {
            available = try StorageIO.availableBytes(stagingDirectory)
        } catch {
            throw .storage(error, while: "checking free disk space")
        }
        if needed > available {
            throw .storage(reason: "the server has \(available) bytes of free disk space but the upload needs \(needed); free space on the server or upload a smaller file")
        }
    }

    func createUpload(target: PathValidator.ValidatedPath, size: Int64, overwrite: Bool) throws(FileStoreError) -> PartialUpload {
        let id = Self.makeID()
        let partPath = UploadMetadata.partPath(id: id, in: stagingDirectory)
        let fd: Int32
        do {
            fd = try StorageIO.openFile(partPath, flags: O_RDWR | O_CREAT | O_EXCL, mode: 0o644)
        } catch {
            throw .storage(error, while: "creating the upload's staging file")
        }
        let upload = PartialUpload(
            id: id, path: target.relative, absolutePath: target.absolute, size: size,
            created: Self.wallClockSeconds(), overwrite: overwrite, stagingDirectory: stagingDirectory,
            fd: fd, durableRanges: RangeSet(), lastActivity: .now)
        do {
            try StorageIO.truncate(fd, to: size, path: partPath)
            try upload.metadata(ranges: RangeSet()).write(inDirectory: stagingDirectory)
        } catch {
            _ = try? upload.close()
            try? StorageIO.removeFile(upload.metaPath)
            try? StorageIO.removeFile(partPath)
            throw .storage(error, while: "creating the upload's staging files")
        }
        return upload
    }

    /// Validates the destination again (symbolic links may have changed since open),
    /// creates its missing parent directories and checks the path is still usable.
    func prepareDestination(for upload: PartialUpload) throws(FileStoreError) -> PathValidator.ValidatedPath {
        let first = try validator.validate(upload.path)
        var directory = root
        var created: [String] = []
        do {
            for component in first.components.dropLast() {
                directory = PathValidator.join(directory, component)
                if try StorageIO.pathStatus(directory) == nil {
                    try StorageIO.makeDirectory(directory)
                    created.append(directory)
                }
            }
            // Make new directory entries durable: each created directory's parent.
            for path in created {
                try StorageIO.syncDirectory(Self.parentDirectory(of: path))
            }
        } catch {
            throw .storage(error, while: "creating the parent directories of \"\(upload.path)\"")
        }
        // Re-resolve now that the directories exist (and follow any new links).
        return try validator.validate(upload.path)
    }

    /// rename(2) (with overwrite) or link(2) + unlink (without: fails atomically if
    /// the destination appeared meanwhile), then fsync of the destination directory.
    func moveIntoPlace(_ upload: PartialUpload, destination: PathValidator.ValidatedPath) throws(FileStoreError) {
        let overwrite = upload.overwrite
        let appeared = FileStoreError.conflict(reason: "a file appeared at this path while the upload was in progress; open again with overwrite to replace it (resume keeps the data), or abort", path: destination.relative)
        let isDirectory = FileStoreError.conflict(reason: "a directory exists at this path, so the file cannot be stored there; abort, and upload to another path", path: destination.relative)

        let existing: stat?
        do {
            existing = try StorageIO.linkStatus(destination.absolute)
        } catch {
            throw .storage(error, while: "checking the destination of the upload")
        }
        if let existing {
            if StorageIO.isDirectory(existing) { throw isDirectory }
            if !overwrite { throw appeared }
        }

        var useRename = overwrite
        if !overwrite {
            do {
                try StorageIO.linkItem(from: upload.partPath, to: destination.absolute)
            } catch {
                switch error.code {
                case EEXIST:
                    throw appeared
                case EPERM, ENOTSUP, EOPNOTSUPP, EXDEV, EMLINK:
                    // No hard links here: fall back to rename after the check above.
                    useRename = true
                default:
                    throw .storage(error, while: "moving the completed upload into place")
                }
            }
        }
        do {
            if useRename {
                try StorageIO.renameItem(from: upload.partPath, to: destination.absolute)
            } else {
                try StorageIO.removeFile(upload.partPath)
            }
        } catch {
            switch error.code {
            case EISDIR, ENOTEMPTY, EEXIST:
                throw isDirectory
            default:
                throw .storage(error, while: "moving the completed upload into place")
            }
        }
        do {
            try StorageIO.syncDirectory(Self.parentDirectory(of: destination.absolute))
            try StorageIO.syncDirectory(stagingDirectory)
        } catch {
            throw .storage(error, while: "making the committed file durable")
        }
    }

    func removeFiles(of upload: PartialUpload, reason: String) {
        logger.info("removing upload", metadata: ["upload": "\(upload.id)", "path": "\(upload.path)", "reason": "\(reason)"])
        do {
            try StorageIO.removeFile(upload.metaPath)
            try StorageIO.removeFile(upload.partPath)
        } catch {
            logger.error("could not remove staging files", metadata: ["upload": "\(upload.id)", "error": "\(error)"])
        }
    }

    static func makeID() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Checksum.lowercaseHex(bytes)
    }

    static func isUploadID(_ text: String) -> Bool {
        text.utf8.count == 32 && text.utf8.allSatisfy { byte in
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
        }
    }

    static func wallClockSeconds() -> Int64 {
        Int64(time(nil))
    }

    static func parentDirectory(of path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        if slash == path.utf8.startIndex { return "/" }
        return String(path[..<slash])
    }

    static func describe(_ duration: Duration) -> String {
        let seconds = duration.components.seconds
        if seconds >= 3600 && seconds % 3600 == 0 { return "\(seconds / 3600) h" }
        if seconds >= 60 && seconds % 60 == 0 { return "\(seconds / 60) min" }
        return "\(seconds) s"
    }

    /// mkdir -p.
    static func makeDirectories(_ path: String) throws(SystemCallError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            try StorageIO.makeDirectory(current)
        }
    }
}
