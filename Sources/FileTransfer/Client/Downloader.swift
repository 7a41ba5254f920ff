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

/// How `Downloader` fetches a file.
public struct DownloadOptions: Sendable, WindowedTransferOptions {
    /// Bytes per `read` request.
    public var chunkSize: Int = 256 * 1024
    /// Most `read` requests outstanding at any time (unused with `autoWindow`).
    public var window: Int = 8
    /// Let the window follow the measured bandwidth-delay product (as `SendOptions.autoWindow`).
    public var autoWindow: Bool = false
    /// The memory cap of `autoWindow`, in bytes of outstanding chunks.
    public var maxBytesInFlight: Int = 64 << 20
    /// Failed attempts in a row, without progress in between, before giving up.
    public var maxRetries: Int = 5
    public var initialBackoff: Duration = .milliseconds(200)
    public var maxBackoff: Duration = .seconds(5)
    /// Per-request timeout (nil: none).
    public var invocationTimeout: Duration?
    public var progressInterval: Duration = .milliseconds(100)
    /// The algorithm of the checksum `DownloadResult` reports. The download itself is verified
    /// with the algorithm of the checksum the server's `stat` reports (both are computed, in
    /// one pass, when they differ).
    public var checksum: ChecksumAlgorithm = .standard

    public init() {}
}

/// What a download did.
public struct DownloadResult: Sendable {
    /// The remote file, as `stat` described it before the download.
    public var info: FileInfo
    public var remotePath: String
    /// Where the file was written.
    public var localPath: String
    public var bytes: Int64
    public var seconds: Double
    /// Checksum of what was written, in `DownloadOptions.checksum`'s algorithm.
    public var checksum: Checksum
    /// `read` requests made.
    public var chunks: Int
    public var reconnects: Int
    public var chunkSize: Int
    /// The window at the end (for a fixed window, the window).
    public var window: Int
    /// With `auto`: the minimum round trip measured, the largest window used and the cap.
    public var autoWindow: Bool = false
    public var roundTrip: Duration?
    public var maxWindow: Int?
    public var maxBytesInFlight: Int?
    /// Whether the server reported a checksum this client knows (`xxh3:…`, `xxh64:…`, `sha256:…`) to
    /// compare with: it matched, or the download failed. False when `stat` reported none.
    public var verified: Bool

    public var megabytesPerSecond: Double { seconds > 0 ? Double(bytes) / seconds / 1e6 : 0 }
}

/// Downloads one file with pipelined `Store.read` requests (at most `window` outstanding),
/// writes each chunk at its offset in a temporary file next to the destination, hashes the data
/// in order, and renames the file into place only if it matches the checksum `stat` reported (in
/// that checksum's algorithm).
public final class Downloader: @unchecked Sendable {
    public let store: StorePrx
    public let options: DownloadOptions
    /// Called on the calling thread at most once per `progressInterval`, and once at the end.
    public var onProgress: (@Sendable (TransferProgress) -> Void)?
    public var onReconnect: (@Sendable (_ attempt: Int, _ error: any Error) -> Void)?

    public init(store: StorePrx, options: DownloadOptions = DownloadOptions()) {
        self.store = store.ice_invocationTimeout(options.invocationTimeout.map(\.milliseconds) ?? -1)
        self.options = options
    }

    /// Downloads `remotePath` to `localPath` (into it, keeping the remote name, if it is a
    /// directory).
    ///
    /// - Throws: `TransferError` subclasses from the server, `LocalFileError(.cannotCreate)`,
    ///   `ChecksumMismatchError` (the data does not match `stat`'s checksum; nothing is kept),
    ///   `ConnectionFailedError`, or another Ice error.
    public func download(_ remotePath: String, to localPath: String) throws -> DownloadResult {
        let start = ContinuousClock.now
        let chunkSize = max(1, options.chunkSize)
        let auto = options.autoWindow
            ? AutoWindowController(chunkSize: chunkSize, maxBytesInFlight: options.maxBytesInFlight)
            : nil
        var window = auto?.window ?? max(1, options.window)
        var failuresInARow = 0
        var reconnects = 0
        var progressSinceFailure = false

        func backOff(_ error: any Error) throws {
            if progressSinceFailure { failuresInARow = 0 }
            progressSinceFailure = false
            failuresInARow += 1
            if failuresInARow > options.maxRetries {
                throw ConnectionFailedError(target: store.description, attempts: failuresInARow - 1, underlying: error)
            }
            reconnects += 1
            onReconnect?(failuresInARow, error)
            var delay = options.initialBackoff
            for _ in 1..<failuresInARow { delay = min(delay * 2, options.maxBackoff) }
            sleepFor(delay)
        }

        var info: FileInfo
        while true {
            do {
                // stat hashes the file on the server (unless cached): no timeout.
                info = try store.ice_invocationTimeout(-1).stat(path: remotePath)
                break
            } catch where ClientErrors.isConnectionFailure(error) {
                try backOff(error)
            }
        }
        let size = max(0, info.size)
        // Verified with the server's algorithm; reported in the one asked for.
        let expected = Checksum(parsing: info.checksum)
        var reportHasher = ChecksumHasher(options.checksum)
        var verifyHasher = expected.flatMap { $0.algorithm == options.checksum ? nil : ChecksumHasher($0.algorithm) }

        var destination = localPath
        var st = stat()
        if stat(localPath, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
            let name = remotePath.split(separator: "/").last.map(String.init) ?? remotePath
            destination = localPath.hasSuffix("/") ? localPath + name : localPath + "/" + name
        }
        let temporary = destination + ".ftpart"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 {
            throw LocalFileError(.cannotCreate, path: destination, reason: String(cString: strerror(errno)))
        }
        var keep = false
        defer {
            close(fd)
            if !keep { unlink(temporary) }
        }

        typealias Completion = (offset: Int64, length: Int, result: Result<ByteBuffer, any Error>, sentAt: SentMark)
        let completions = BlockingQueue<Completion>()
        var pending: [(offset: Int64, length: Int)] = []
        var next: Int64 = 0
        var inFlight = 0
        var hashed: Int64 = 0
        var written: Int64 = 0
        var reorder: [Int64: ByteBuffer] = [:]
        // How far requests may run ahead of the hashed prefix (bounds the reorder buffer).
        var maxAhead: Int64 { Int64(2 * window) * Int64(chunkSize) }
        var failure: (any Error)?
        var chunks = 0
        var lastReport = ContinuousClock.now

        func report(final: Bool = false) {
            guard let onProgress else { return }
            let now = ContinuousClock.now
            if !final, now - lastReport < options.progressInterval { return }
            lastReport = now
            let elapsed = now - start
            let rate = elapsed.seconds > 0 ? Double(written) / elapsed.seconds : 0
            onProgress(TransferProgress(
                bytesDone: written, totalBytes: size, elapsed: elapsed, inFlight: inFlight, reconnects: reconnects,
                bytesPerSecond: rate, eta: rate > 0 ? .seconds(Double(size - written) / rate) : nil, isFinal: final))
        }

        while true {
            // Keep the window full.
            while failure == nil, inFlight < window {
                let request: (offset: Int64, length: Int)
                if !pending.isEmpty {
                    request = pending.removeFirst()
                } else if next < size, next - hashed < maxAhead {
                    request = (next, Int(min(Int64(chunkSize), size - next)))
                    next += Int64(request.length)
                } else {
                    break
                }
                do {
                    let early = auto?.mark()
                    let f = try store.readAsync(path: remotePath, offset: request.offset, length: Int32(request.length))
                    let sentAt = SentMark()
                    // As in `ChunkRequests`: a request sent on this path is marked before the call.
                    if let auto { f.addSentCallback { _, synchronously in sentAt.set(synchronously ? early! : auto.mark()) } }
                    f.addDoneCallback { f in
                        completions.put((request.offset, request.length, Result { try f.result() }, sentAt))
                    }
                    inFlight += 1
                    chunks += 1
                } catch {
                    failure = error
                    pending.append(request)
                }
            }
            if inFlight == 0 {
                if let error = failure {
                    guard ClientErrors.isConnectionFailure(error) else { report(final: true); throw error }
                    try backOff(error)
                    failure = nil
                    continue
                }
                if next >= size && pending.isEmpty { break }
            }
            guard let c = try completions.take() else { break }
            inFlight -= 1
            switch c.result {
            case .failure(let error):
                if failure == nil { failure = error }
                pending.append((c.offset, c.length))
            case .success(let bytes):
                let n = bytes.readableBytes
                if n == 0 && c.length > 0 {
                    failure = failure ?? TransferError(reason: "\(remotePath) shrank while being downloaded (nothing at offset \(c.offset)); try again")
                    continue
                }
                let got = min(n, c.length)
                if let auto, let mark = c.sentAt.get() { window = auto.replied(mark, bytes: got) }
                if got < c.length { pending.append((c.offset + Int64(got), c.length - got)) }
                try writeFully(fd: fd, bytes.getSlice(at: bytes.readerIndex, length: got)!, at: c.offset, path: destination)
                written += Int64(got)
                progressSinceFailure = true
                reorder[c.offset] = bytes.getSlice(at: bytes.readerIndex, length: got)!
                while let b = reorder.removeValue(forKey: hashed) {
                    b.withUnsafeReadableBytes { bytes in
                        reportHasher.update(bytes)
                        verifyHasher?.update(bytes)
                    }
                    hashed += Int64(b.readableBytes)
                }
                report()
            }
        }
        report(final: true)
        let reported = reportHasher.finalize()
        if let expected {
            let actual = verifyHasher?.finalize() ?? reported
            if actual != expected {
                throw ChecksumMismatchError(path: destination, expected: expected, actual: actual)
            }
        }
        if rename(temporary, destination) != 0 {
            throw LocalFileError(.cannotCreate, path: destination, reason: String(cString: strerror(errno)))
        }
        keep = true
        var result = DownloadResult(
            info: info, remotePath: remotePath, localPath: destination, bytes: written,
            seconds: (ContinuousClock.now - start).seconds, checksum: reported, chunks: chunks, reconnects: reconnects,
            chunkSize: chunkSize, window: window, verified: expected != nil)
        if let auto {
            result.autoWindow = true
            result.roundTrip = auto.roundTrip
            result.maxWindow = auto.maxWindow
            result.maxBytesInFlight = options.maxBytesInFlight
        }
        return result
    }
}

/// When a `read` request was sent (`--window auto`), set by its sent callback.
final class SentMark: @unchecked Sendable {
    private let lock = NSLock()
    private var mark: AutoWindow.SendMark?
    func set(_ m: AutoWindow.SendMark) { lock.withLock { mark = m } }
    func get() -> AutoWindow.SendMark? { lock.withLock { mark } }
}

/// Writes all of `bytes` at `offset`.
func writeFully(fd: Int32, _ bytes: ByteBuffer, at offset: Int64, path: String) throws {
    try bytes.withUnsafeReadableBytes { ptr in
        var done = 0
        while done < ptr.count {
            let r = pwrite(fd, ptr.baseAddress! + done, ptr.count - done, off_t(offset + Int64(done)))
            if r < 0 {
                if errno == EINTR { continue }
                throw LocalFileError(.cannotCreate, path: path, reason: String(cString: strerror(errno)))
            }
            done += r
        }
    }
}
