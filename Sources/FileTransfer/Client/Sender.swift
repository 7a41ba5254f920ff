import Foundation
import Ice
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How `Sender` uploads a file.
public struct SendOptions: Sendable {
    /// Bytes per `send` request (the last chunk may be shorter).
    public var chunkSize: Int = 256 * 1024
    /// Most requests outstanding (sent, reply not yet received) at any time; 1 is stop-and-wait.
    /// Unused when `autoWindow` is set.
    public var window: Int = 8
    /// `--window auto`: the window starts at 8 (within the cap) and follows twice the
    /// bandwidth-delay product measured from sent callbacks and replies, plus one (see
    /// `AutoWindow`, `ChunkRequests`), never beyond `maxBytesInFlight`. It may grow or shrink
    /// between requests. `window` is then unused.
    public var autoWindow: Bool = false
    /// The memory cap of `autoWindow`: at most this many bytes of chunks outstanding (and read
    /// ahead); the window is at least 1 whatever the cap.
    public var maxBytesInFlight: Int = 64 << 20
    public var compression: CompressionMode = .off
    /// zlib level, 1 (fastest) to 9 (smallest).
    public var level: Int = 1
    /// In `auto` mode, a chunk is sent compressed only if that saves at least this fraction.
    public var autoMinSavings: Double = 0.10
    /// Threads that deflate chunks (at most 2).
    public var compressionThreads: Int = 2
    /// Replace an existing file at the remote path.
    public var overwrite: Bool = false
    /// Continue a previous, interrupted upload of the same path and size (skip what it stored).
    public var resume: Bool = false
    /// The checksum the file is committed with: XXH3 (the standard one, the fastest), XXH64, or
    /// SHA-256 (cryptographic, comparable with `sha256sum`).
    public var checksum: ChecksumAlgorithm = .standard
    /// Reconnections in a row, without any progress in between, before giving up.
    public var maxRetries: Int = 5
    /// Wait before the first reconnection; doubled after each failed one, up to `maxBackoff`.
    public var initialBackoff: Duration = .milliseconds(200)
    public var maxBackoff: Duration = .seconds(5)
    /// Per-request timeout (nil: none); an expired request counts as a connection failure.
    public var invocationTimeout: Duration?
    /// At most one progress report per interval.
    public var progressInterval: Duration = .milliseconds(100)

    public init() {}

    /// The fixed window, or the memory cap in chunks with `autoWindow`.
    var windowCap: Int { autoWindow ? max(1, maxBytesInFlight / max(1, chunkSize)) : max(1, window) }

    /// Buffers read (and deflated) ahead of the network, each `chunkSize`, for a window of
    /// `window` when compressing: with `window` requests in flight this keeps memory near
    /// 2 × window × chunk. With `autoWindow` it follows the current window, up to the cap.
    /// Without compression nothing is read ahead: the sending thread reads each chunk.
    func readAhead(forWindow window: Int) -> Int { max(2, min(window, windowCap)) }
}

extension SendOptions: WindowedTransferOptions {}

/// A snapshot of a transfer in progress.
public struct TransferProgress: Sendable {
    /// Bytes the server has (or, for a download, that were written locally), resumed ones included.
    public var bytesDone: Int64
    public var totalBytes: Int64
    public var elapsed: Duration
    /// Requests outstanding.
    public var inFlight: Int
    public var reconnects: Int
    /// Transfer rate of this run (resumed bytes excluded).
    public var bytesPerSecond: Double
    /// Estimated time left, once a rate is known.
    public var eta: Duration?
    /// Whether this is the last report (the transfer finished or failed).
    public var isFinal: Bool
}

/// What an upload did.
public struct SendResult: Sendable {
    /// The stored file, as `commit` returned it.
    public var info: FileInfo
    public var localPath: String
    public var remotePath: String
    /// Size of the file.
    public var bytes: Int64
    /// File bytes sent in this run (resent ones counted again).
    public var sentBytes: Int64
    /// Payload bytes of the requests (compressed sizes for compressed chunks).
    public var wireBytes: Int64
    /// Bytes the server already had when this run started (`resume`).
    public var resumedBytes: Int64
    /// `send` and `sendCompressed` requests made.
    public var chunks: Int
    /// Of which `sendCompressed`.
    public var compressedChunks: Int
    public var reconnects: Int
    public var seconds: Double
    /// Checksum of the local file in `SendOptions.checksum`'s algorithm: what was committed.
    public var checksum: Checksum
    public var chunkSize: Int
    /// The window at the end (for a fixed window, the window).
    public var window: Int
    public var compression: CompressionMode
    /// Whether the window was `auto`; then `roundTrip` (the minimum one measured), `maxWindow`
    /// (the largest window used) and `maxBytesInFlight` (the cap) describe it.
    public var autoWindow: Bool = false
    public var roundTrip: Duration?
    public var maxWindow: Int?
    public var maxBytesInFlight: Int?
    /// Of `seconds`, the time from the first chunk to the last acknowledgement: the data phase,
    /// without opening the upload and the commit (in which the server checks the checksum).
    public var dataSeconds: Double?

    /// File bytes per wire byte (1 without compression; 3 means a third of the bytes were sent).
    public var compressionRatio: Double { wireBytes > 0 ? Double(sentBytes) / Double(wireBytes) : 1 }
    /// MB/s (10^6 bytes) of this run's file bytes.
    public var megabytesPerSecond: Double { seconds > 0 ? Double(bytes - resumedBytes) / seconds / 1e6 : 0 }
}

/// Uploads one file through `Store`/`Upload`, pipelined: the calling thread reads (and hashes)
/// each chunk (with compression a reader thread reads ahead and workers deflate), and keeps up to
/// `window` `send` requests outstanding, waiting for each to be *sent* before the next. A lost
/// connection is survived by reconnecting, asking the upload what it `received()` and sending
/// the rest; the file is committed with its checksum (`SendOptions.checksum`).
///
/// `send(file:to:)` blocks the calling thread (not a runtime thread) until committed.
public final class Sender: @unchecked Sendable {
    public let store: StorePrx
    public let options: SendOptions
    /// Called on the sending thread at most once per `progressInterval`, and once at the end.
    public var onProgress: (@Sendable (TransferProgress) -> Void)?
    /// Called before each reconnection: attempt number (1…maxRetries) and the error.
    public var onReconnect: (@Sendable (_ attempt: Int, _ error: any Error) -> Void)?

    public init(store: StorePrx, options: SendOptions = SendOptions()) {
        self.store = store.ice_invocationTimeout(options.invocationTimeout.map(\.milliseconds) ?? -1)
        self.options = options
    }

    /// Uploads `localPath` to `remotePath` and commits it.
    ///
    /// - Throws: `LocalFileError` (the file is missing, unreadable or changed), `TransferError`
    ///   subclasses from the server, `ConnectionFailedError` when reconnecting failed
    ///   `maxRetries` times in a row, or another Ice error.
    public func send(file localPath: String, to remotePath: String) throws -> SendResult {
        let fd = try openLocalFile(localPath)
        defer { close(fd.fd) }
        let run = SendRun(sender: self, fd: fd.fd, localPath: localPath, remotePath: remotePath, size: fd.size)
        return try run.run()
    }

    /// The upload named by `upload`, reached through the store's endpoints (so that a port
    /// forward or relay in front of the store also works for the upload).
    public func uploadProxy(for upload: UploadPrx) -> UploadPrx {
        UploadPrx(_reference: store.ice_identity(upload.ice_getIdentity()).ice_facet(upload.ice_getFacet())._reference)
    }
}

/// Opens a regular file for reading; returns its descriptor and size.
func openLocalFile(_ path: String) throws -> (fd: Int32, size: Int64) {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 {
        let e = errno
        throw LocalFileError(e == ENOENT || e == ENOTDIR ? .notFound : .unreadable, path: path, reason: String(cString: strerror(e)))
    }
    var st = stat()
    if fstat(fd, &st) != 0 {
        let e = errno
        close(fd)
        throw LocalFileError(.unreadable, path: path, reason: String(cString: strerror(e)))
    }
    if (st.st_mode & S_IFMT) != S_IFREG {
        close(fd)
        let what = (st.st_mode & S_IFMT) == S_IFDIR ? "it is a directory" : "it is not a regular file"
        throw LocalFileError(.unreadable, path: path, reason: what)
    }
    return (fd, Int64(st.st_size))
}

/// Counters updated from reply callbacks.
final class TransferCounters: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var ackedBytes: Int64 = 0
    private(set) var acksSinceReconnect = 0

    func ack(_ bytes: Int) {
        lock.lock()
        ackedBytes += Int64(bytes)
        acksSinceReconnect += 1
        lock.unlock()
    }

    func snapshot() -> (acked: Int64, acksSinceReconnect: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (ackedBytes, acksSinceReconnect)
    }

    /// After a reconnection: the server has `acked` bytes (beyond the resumed ones).
    func reset(acked: Int64) {
        lock.lock()
        ackedBytes = acked
        acksSinceReconnect = 0
        lock.unlock()
    }
}

/// The state of one `Sender.send` call.
private final class SendRun {
    let sender: Sender
    let options: SendOptions
    let store: StorePrx
    let fd: Int32
    let localPath: String
    let remotePath: String
    let size: Int64
    let requests: ChunkRequests
    var window: InFlightWindow { requests.slots }
    var counters: TransferCounters { requests.counters }
    let start = ContinuousClock.now
    var pipeline: SendPipeline?

    var upload: UploadPrx?
    /// Ranges handed to `send` requests in this run (sent or not, acknowledged or not).
    var taken = RangeSet()
    /// Ranges to send again after a reconnection, before the pipeline's next item.
    var resends: [Range<Int64>] = []
    var resendCompressor: ChunkCompressor?
    var resumedBytes: Int64 = 0
    var sentBytes: Int64 = 0
    var wireBytes: Int64 = 0
    var chunks = 0
    var compressedChunks = 0
    var reconnects = 0
    var failuresInARow = 0
    var commitSent = false
    /// The file's checksums once read: `options.checksum` first, then the standard one if that is another
    /// algorithm (what the server's `stat` reports, to recognise a commit whose reply was lost).
    var checksums: [Checksum] = []
    var lastReport = ContinuousClock.now

    init(sender: Sender, fd: Int32, localPath: String, remotePath: String, size: Int64) {
        self.sender = sender
        self.options = sender.options
        self.store = sender.store
        self.fd = fd
        self.localPath = localPath
        self.remotePath = remotePath
        self.size = size
        let options = sender.options
        let auto = options.autoWindow
            ? AutoWindowController(chunkSize: max(1, options.chunkSize), maxBytesInFlight: options.maxBytesInFlight)
            : nil
        self.requests = ChunkRequests(window: max(1, options.window), auto: auto)
    }

    func run() throws -> SendResult {
        let chunkSize = max(1, options.chunkSize)
        // Open (with reconnection on connection failures, like any later step).
        var stored = RangeSet()
        try withReconnection {
            try openUpload(resume: options.resume)
            if options.resume {
                stored = try receivedRanges()
            }
        }
        resumedBytes = stored.coveredBytes
        counters.reset(acked: 0)

        let compression: (CompressionMode, Int, Double, Int)? =
            options.compression == .off ? nil
            : (options.compression, options.level, options.autoMinSavings, min(2, max(1, options.compressionThreads)))
        let pipeline = try SendPipeline(
            fd: fd, path: localPath, size: size, chunkSize: chunkSize, readAhead: options.readAhead(forWindow: window.limit),
            maxChunksAlive: 2 * options.windowCap + 1, skip: stored, algorithms: Self.algorithms(for: options.checksum),
            compression: compression.map { (mode: $0.0, level: $0.1, minSavings: $0.2, workers: $0.3) })
        self.pipeline = pipeline
        defer { pipeline.cancel() }

        var current: PreparedItem?
        let dataStart = ContinuousClock.now
        var dataEnd = dataStart
        var nextPiece = 0
        var info: FileInfo?
        var resynced = false
        while info == nil {
            do {
                while !resends.isEmpty {
                    let r = resends.removeFirst()
                    try resend(r, chunkSize: chunkSize)
                }
                while true {
                    if current == nil {
                        current = try pipeline.next()
                        nextPiece = 0
                        guard current != nil else { break }
                    }
                    while nextPiece < current!.pieces.count {
                        try sendPiece(current!.pieces[nextPiece])
                        nextPiece += 1
                    }
                    pipeline.finish(current!)
                    current = nil
                }
                if let failure = window.drain(interval: options.progressInterval, tick: { report() }) { throw failure }
                dataEnd = .now
                checksums = pipeline.checksums ?? []
                guard let checksum = checksums.first else {
                    throw LocalFileError(.unreadable, path: localPath, reason: "its checksum was not computed")
                }
                commitSent = true
                // The server may read the whole file again to check it: allow for that.
                let commitTimeout = options.invocationTimeout.map { $0.milliseconds + Int(size / 20_000) } ?? -1
                info = try upload!.ice_invocationTimeout(commitTimeout).commit(checksum: checksum.description)
            } catch {
                _ = window.drain(interval: options.progressInterval, tick: { report() })
                if error is RangeError, commitSent, !resynced {
                    // The server misses bytes it acknowledged (e.g. it restarted before making
                    // them durable): send what it lacks once more, then commit again.
                    resynced = true
                    commitSent = false
                    resends = try receivedRanges().missing(in: 0..<size)
                    continue
                }
                guard isReconnectable(error) else {
                    report(final: true)
                    throw error
                }
                if let committed = try reconnect(after: error) {
                    info = committed
                }
            }
        }
        pipeline.join()
        report(final: true)
        guard let info, let checksum = checksums.first else {
            throw UnknownException("the upload of \(remotePath) ended without a commit")
        }
        let elapsed = ContinuousClock.now - start
        var result = SendResult(
            info: info, localPath: localPath, remotePath: remotePath, bytes: size, sentBytes: sentBytes,
            wireBytes: wireBytes, resumedBytes: resumedBytes, chunks: chunks, compressedChunks: compressedChunks,
            reconnects: reconnects, seconds: elapsed.seconds, checksum: checksum, chunkSize: chunkSize,
            window: window.limit, compression: options.compression)
        result.dataSeconds = (dataEnd - dataStart).seconds
        if let auto = requests.auto {
            result.autoWindow = true
            result.roundTrip = auto.roundTrip
            result.maxWindow = auto.maxWindow
            result.maxBytesInFlight = options.maxBytesInFlight
        }
        return result
    }

    /// The checksums the reader computes: `chosen`, plus the standard one (what `stat` reports)
    /// if `chosen` is another algorithm.
    static func algorithms(for chosen: ChecksumAlgorithm) -> [ChecksumAlgorithm] {
        chosen == .standard ? [.standard] : [chosen, .standard]
    }

    /// Whether `info` (from the server) describes this file: same size, and a checksum equal to
    /// the local one of the same algorithm (one of another algorithm proves nothing).
    private func isThisFile(_ info: FileInfo) -> Bool {
        guard info.size == size, let remote = Checksum(parsing: info.checksum) else { return false }
        return checksums.first(remote.algorithm) == remote
    }

    // MARK: Requests

    private func openUpload(resume: Bool) throws {
        guard let prx = try store.open(path: remotePath, size: size, overwrite: options.overwrite, resume: resume) else {
            throw UnknownException("the server returned no upload for \(remotePath)")
        }
        upload = sender.uploadProxy(for: prx)
    }

    private func receivedRanges() throws -> RangeSet {
        let flat = try upload!.received()
        guard var set = RangeSet(flattened: flat) else {
            throw MarshalException("received() returned an odd number of offsets")
        }
        // Clamp to the file, whatever the server says.
        set = RangeSet(set.ranges.compactMap { r in
            let c = max(0, r.lowerBound)..<min(size, r.upperBound)
            return c.isEmpty ? nil : c
        })
        return set
    }

    /// Sends one chunk once a window slot is free, and waits until it is sent.
    private func sendPiece(_ piece: PreparedChunk) throws {
        if requests.auto != nil, let pipeline {
            // Read ahead as far as the window reaches (within the cap), so the pipe stays full.
            pipeline.setReadAhead(options.readAhead(forWindow: window.limit))
        }
        let range = piece.offset..<(piece.offset + Int64(piece.length))
        try requests.send(piece, on: upload!, interval: options.progressInterval, tick: { report() }) {
            taken.insert(range)
        }
        chunks += 1
        if piece.compressed { compressedChunks += 1 }
        sentBytes += Int64(piece.length)
        wireBytes += Int64(piece.payload.readableBytes)
        report()
    }

    /// Reads `range` again from the file and sends it (after a reconnection).
    private func resend(_ range: Range<Int64>, chunkSize: Int) throws {
        if options.compression != .off, resendCompressor == nil {
            resendCompressor = try ChunkCompressor(
                mode: options.compression, level: options.level, minSavings: options.autoMinSavings, policy: nil)
        }
        var offset = range.lowerBound
        while offset < range.upperBound {
            let count = Int(min(Int64(chunkSize), range.upperBound - offset))
            var buffer = ByteBufferAllocator().buffer(capacity: count)
            try LocalFileRead.append(count: count, at: offset, of: fd, path: localPath, to: &buffer)
            let piece = try resendCompressor?.prepare(offset: offset, bytes: buffer)
                ?? PreparedChunk(offset: offset, length: count, payload: buffer, compressed: false)
            try sendPiece(piece)
            offset += Int64(count)
        }
    }

    // MARK: Reconnection

    private func isReconnectable(_ error: any Error) -> Bool {
        if ClientErrors.isConnectionFailure(error) { return true }
        // The upload object is gone (e.g. the server restarted): open it again with resume.
        if error is ObjectNotExistException, upload != nil { return true }
        return false
    }

    /// Runs `body`, reconnecting (with back-off) and running it again after connection failures.
    private func withReconnection(_ body: () throws -> Void) throws {
        while true {
            do {
                try body()
                return
            } catch where ClientErrors.isConnectionFailure(error) {
                try backOff(after: error)
            }
        }
    }

    /// Counts a failure and waits before the next attempt; throws `ConnectionFailedError` once
    /// `maxRetries` failures happened in a row without progress.
    private func backOff(after error: any Error) throws {
        if counters.snapshot().acksSinceReconnect > 0 { failuresInARow = 0 }
        failuresInARow += 1
        if failuresInARow > options.maxRetries {
            var hint: String?
            if upload != nil, counters.snapshot().acked == 0, options.chunkSize > 1 << 20, error is ConnectionLostException {
                hint = "the server accepted the upload but dropped the connection at the first chunks: "
                    + "it may refuse requests of \(ByteSize.format(Int64(options.chunkSize))); "
                    + "try a smaller --chunk-size or raise the server's Ice.MessageSizeMax"
            }
            throw ConnectionFailedError(target: store.description, attempts: failuresInARow - 1, underlying: error, hint: hint)
        }
        reconnects += 1
        sender.onReconnect?(failuresInARow, error)
        report()
        var delay = options.initialBackoff
        for _ in 1..<failuresInARow { delay = min(delay * 2, options.maxBackoff) }
        sleepFor(min(delay, options.maxBackoff))
        counters.reset(acked: counters.snapshot().acked)
    }

    /// Reconnects after `error`: opens the upload again (resume), asks what it received and
    /// queues what is missing. Returns the file's info instead if an earlier commit turns out
    /// to have succeeded.
    private func reconnect(after error: any Error) throws -> FileInfo? {
        var lastError = error
        while true {
            try backOff(after: lastError)
            window.reset()
            do {
                if commitSent {
                    // The commit may have gone through before the connection broke.
                    do {
                        let info = try store.ice_invocationTimeout(-1).stat(path: remotePath)
                        if isThisFile(info) { return info }
                    } catch is TransferError {
                        // Not there: resume the upload.
                    }
                }
                try openUpload(resume: true)
                let stored = try receivedRanges()
                resends = taken.ranges.flatMap { stored.missing(in: $0) }
                counters.reset(acked: max(0, stored.coveredBytes - resumedBytes))
                return nil
            } catch where ClientErrors.isConnectionFailure(error) {
                lastError = error
            }
        }
    }

    // MARK: Progress

    private func report(final: Bool = false) {
        guard let onProgress = sender.onProgress else { return }
        let now = ContinuousClock.now
        if !final, now - lastReport < options.progressInterval { return }
        lastReport = now
        let elapsed = now - start
        let acked = counters.snapshot().acked
        let done = min(size, resumedBytes + acked)
        let seconds = elapsed.seconds
        let rate = seconds > 0 ? Double(acked) / seconds : 0
        let eta: Duration? = rate > 0 ? .seconds(Double(size - done) / rate) : nil
        onProgress(TransferProgress(
            bytesDone: done, totalBytes: size, elapsed: elapsed, inFlight: window.inFlight, reconnects: reconnects,
            bytesPerSecond: rate, eta: eta, isFinal: final))
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }

    /// The duration in whole milliseconds (at least 1 for a positive duration).
    var milliseconds: Int {
        let (s, atto) = components
        let ms = Int(clamping: s) &* 1000 &+ Int(atto / 1_000_000_000_000_000)
        return ms == 0 && atto > 0 ? 1 : ms
    }
}
