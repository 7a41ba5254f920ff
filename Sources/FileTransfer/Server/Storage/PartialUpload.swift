import Foundation

/// One upload in progress: its open part file, the ranges received so far and the
/// bookkeeping that decides when they are made durable.
///
/// Thread safety: `condition` guards every mutable field except `persistedRanges`,
/// which `persistLock` guards. Writers hold no lock while they `pwrite`; they count
/// themselves in `inflight` so that commit and abort can wait for them to finish
/// before hashing, renaming or closing the descriptor (which is never closed while
/// a write may still use it, so a reused descriptor number is never written to).
/// Lock order: the store's state lock, then `persistLock`, then `condition` (`writes` holds
/// no lock while it runs an operation).
final class PartialUpload: @unchecked Sendable {
    enum Phase: Equatable {
        case open
        case committing
        case closed
    }

    enum CloseOutcome: Equatable {
        /// This call closed it: the caller removes its files.
        case closed
        /// It was closed before.
        case alreadyClosed
        /// It is still in use (not stale, or a write is running).
        case busy
    }

    let id: String
    /// Normalised client path.
    let path: String
    /// Resolved server path when opened: the key that detects two uploads of one file.
    let absolutePath: String
    let size: Int64
    /// Unix seconds.
    let created: Int64
    let stagingDirectory: String
    let partPath: String
    let metaPath: String
    let fd: Int32
    /// Standard checksum (XXH3) of the received prefix, kept up to date by writes (see `PrefixDigest`).
    let digest = PrefixDigest()
    /// Runs each chunk's write, record and hash, one at a time in arrival order. The kernel
    /// serialises buffered writes to one file anyway (the inode lock, on which a second writer
    /// spins, burning a core); and in order, the prefix digest hashes each chunk from the bytes
    /// in hand instead of holding it. Producing the bytes (inflating) stays parallel.
    let writes = CombiningSerializer()

    private let condition = NSCondition()
    private var phase: Phase = .open
    private var ranges: RangeSet
    private var inflight = 0
    private var lastActivity: ContinuousClock.Instant
    private var unsyncedBytes: Int64 = 0
    private var lastSync: ContinuousClock.Instant
    private var overwriteFlag: Bool
    private var descriptorClosed = false

    private let persistLock = NSLock()
    private var persistedRanges: RangeSet

    init(id: String, path: String, absolutePath: String, size: Int64, created: Int64, overwrite: Bool,
         stagingDirectory: String, fd: Int32, durableRanges: RangeSet, lastActivity: ContinuousClock.Instant) {
        self.id = id
        self.path = path
        self.absolutePath = absolutePath
        self.size = size
        self.created = created
        self.overwriteFlag = overwrite
        self.stagingDirectory = stagingDirectory
        self.partPath = UploadMetadata.partPath(id: id, in: stagingDirectory)
        self.metaPath = UploadMetadata.metaPath(id: id, in: stagingDirectory)
        self.fd = fd
        self.ranges = durableRanges
        self.persistedRanges = durableRanges
        self.lastActivity = lastActivity
        self.lastSync = .now
    }

    deinit {
        if !descriptorClosed {
            StorageIO.closeFile(fd)
        }
    }

    private func locked<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        condition.lock()
        defer { condition.unlock() }
        return try body()
    }

    var handle: UploadHandle {
        UploadHandle(id: id, path: path, size: size)
    }

    var overwrite: Bool {
        get { locked { overwriteFlag } }
        set { locked { overwriteFlag = newValue } }
    }

    var currentPhase: Phase { locked { phase } }

    /// Ranges received so far (in memory; not all of them need be durable yet).
    var receivedRanges: RangeSet { locked { ranges } }

    /// Ranges the metadata file claims (all durable).
    var durableRanges: RangeSet {
        persistLock.lock()
        defer { persistLock.unlock() }
        return persistedRanges
    }

    func metadata(ranges: RangeSet) -> UploadMetadata {
        UploadMetadata(id: id, path: path, size: size, ranges: ranges.flattened, created: created, overwrite: overwrite)
    }

    /// Whether there was activity (or a write is running) within `staleAfter` of `now`.
    func isActive(now: ContinuousClock.Instant, staleAfter: Duration) -> Bool {
        locked { inflight > 0 || now - lastActivity < staleAfter }
    }

    /// Registers an operation that uses the descriptor; fails unless the upload is open.
    func beginOperation(touch: Bool) throws(FileStoreError) {
        try locked { () throws(FileStoreError) in
            switch phase {
            case .open:
                inflight += 1
                if touch { lastActivity = .now }
            case .committing:
                throw .conflict(reason: "upload \(id) is being committed; wait for the commit to finish (or fail) before sending more data", path: path)
            case .closed:
                throw Self.notOpen(id: id, path: path)
            }
        }
    }

    func endOperation() {
        locked {
            inflight -= 1
            if inflight == 0 { condition.broadcast() }
        }
    }

    /// Records bytes written; returns true when it is time to make ranges durable.
    func record(_ range: Range<Int64>, syncEveryBytes: Int64, syncInterval: Duration) -> Bool {
        locked {
            ranges.insert(range)
            let now = ContinuousClock.now
            lastActivity = now
            unsyncedBytes += Int64(range.count)
            return unsyncedBytes >= syncEveryBytes || now - lastSync >= syncInterval
        }
    }

    /// fdatasyncs the part file, then persists the ranges that were recorded before
    /// the sync (so the metadata never claims bytes that are not durable).
    ///
    /// Call only inside `beginOperation`/`endOperation` or while committing.
    /// - Parameter wait: when false and another thread is already persisting, return
    ///   at once (that thread will do it).
    func persistDurableRanges(wait: Bool) throws(SystemCallError) {
        if wait {
            persistLock.lock()
        } else if !persistLock.try() {
            return
        }
        defer { persistLock.unlock() }
        let snapshot: RangeSet = locked {
            unsyncedBytes = 0
            lastSync = .now
            return ranges
        }
        if snapshot == persistedRanges { return }
        try StorageIO.syncData(fd, path: partPath)
        try metadata(ranges: snapshot).write(inDirectory: stagingDirectory)
        persistedRanges = snapshot
    }

    /// Moves to `.committing` (no new writes start) and waits for running writes;
    /// returns the complete set of received ranges.
    func beginCommit() throws(FileStoreError) -> RangeSet {
        try locked { () throws(FileStoreError) -> RangeSet in
            switch phase {
            case .open:
                phase = .committing
                lastActivity = .now
                while inflight > 0 { condition.wait() }
                return ranges
            case .committing:
                throw .conflict(reason: "upload \(id) is already being committed by another call; wait for that commit's result", path: path)
            case .closed:
                throw Self.notOpen(id: id, path: path)
            }
        }
    }

    /// Ends a commit: on success the upload is closed (descriptor too), otherwise it
    /// is open again so the client can send more data or abort.
    func endCommit(succeeded: Bool) {
        locked {
            guard phase == .committing else { return }
            lastActivity = .now
            phase = succeeded ? .closed : .open
            if succeeded { closeDescriptorLocked() }
        }
    }

    /// Closes the upload (no more operations) and its descriptor.
    /// - Parameter idleBefore: when given, close only if there was no activity since
    ///   then and no write is running (else `.busy`).
    func close(idleBefore cutoff: ContinuousClock.Instant? = nil) throws(FileStoreError) -> CloseOutcome {
        try locked { () throws(FileStoreError) -> CloseOutcome in
            switch phase {
            case .closed:
                return .alreadyClosed
            case .committing:
                if cutoff != nil { return .busy }
                throw .conflict(reason: "upload \(id) is being committed and can no longer be aborted; wait for the commit's result", path: path)
            case .open:
                if let cutoff, inflight > 0 || lastActivity > cutoff { return .busy }
                phase = .closed
                while inflight > 0 { condition.wait() }
                closeDescriptorLocked()
                return .closed
            }
        }
    }

    /// Closes the descriptor at store shutdown (no waiting: the store is gone).
    func closeForShutdown() {
        locked {
            phase = .closed
            if inflight == 0 { closeDescriptorLocked() }
        }
    }

    private func closeDescriptorLocked() {
        if !descriptorClosed {
            descriptorClosed = true
            StorageIO.closeFile(fd)
        }
    }

    static func notOpen(id: String, path: String) -> FileStoreError {
        .conflict(reason: "upload \(id) is no longer open (it was committed, aborted or removed after inactivity); open the file again (with resume to keep what the server still has)", path: path)
    }
}
