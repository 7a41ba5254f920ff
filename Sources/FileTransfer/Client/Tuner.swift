import Foundation
import Ice
import NIOCore

/// How `Tuner` sweeps.
public struct TuneOptions: Sendable {
    /// Chunk sizes tried, smallest first.
    public var chunkSizes: [Int] = [64 << 10, 256 << 10, 1 << 20]
    /// Windows tried for each chunk size, smallest first; a larger one is tried only while the
    /// previous one raised throughput by more than `growthThreshold`.
    public var windows: [Int] = [1, 2, 4, 8, 16, 32]
    /// The whole run (round trips, sweep and the abort) aims to end within this.
    public var duration: Duration = .seconds(10)
    /// `ice_ping` round trips whose median is the RTT (after one that sets up the connection).
    public var pings: Int = 20
    public var growthThreshold: Double = 0.05
    /// Rows within this fraction of the best throughput count as equally good.
    public var tolerance: Double = 0.03
    /// Declared size of the scratch upload; halved while the server refuses it (StorageError:
    /// not enough free space, or above its maximum file size). Offsets wrap within it, so the
    /// server never stores more than this.
    public var scratchSize: Int64 = 256 << 20
    /// The smallest declared size tried before giving up.
    public var minimumScratchSize: Int64 = 16 << 20
    /// The remote path of the scratch upload; nil picks `.tune-<random>.tmp` at the root.
    public var scratchPath: String?
    /// Per-request timeout (nil: none).
    public var invocationTimeout: Duration? = .seconds(60)
    /// The shortest time slice a configuration is measured for.
    public var minimumSlice: Duration = .milliseconds(60)

    public init() {}
}

/// One measured configuration.
public struct TuneRow: Sendable, Equatable {
    public var chunkSize: Int
    public var window: Int
    /// File bytes acknowledged per second in the slice, between replies a whole number of
    /// windows apart (see `ReplyMeter`).
    public var bytesPerSecond: Double
    /// Replies counted.
    public var replies: Int
    /// `best`, `recommended`, `within 3%`, `gain < 5%: stop`, joined by `, `.
    public var note: String = ""

    public var megabytesPerSecond: Double { bytesPerSecond / 1e6 }
}

/// What `ftclient tune` found.
public struct TuneResult: Sendable {
    /// Median of the `ice_ping` round trips.
    public var roundTrip: Duration
    public var pings: Int
    public var rows: [TuneRow]
    public var recommendedChunkSize: Int
    public var recommendedWindow: Int
    /// Index in `rows` of the recommendation and of the fastest configuration.
    public var recommendedIndex: Int
    public var bestIndex: Int
    public var scratchPath: String
    public var declaredSize: Int64
    /// Whether the scratch upload was aborted (nil when the abort failed: `abortError`).
    public var aborted: Bool
    public var abortError: String?
    public var seconds: Double

    public var recommended: TuneRow { rows[recommendedIndex] }
    public var best: TuneRow { rows[bestIndex] }
}

/// The run was interrupted (`cancel()`); the scratch upload was aborted.
public struct TuneCancelled: Error, CustomStringConvertible, Sendable {
    public init() {}
    public var description: String { "interrupted; the scratch upload was aborted" }
}

/// `ftclient tune`: measures the round trip to a live server, then sends generated data to a
/// scratch upload over a short sweep of chunk sizes and windows, each for a fixed time slice,
/// and recommends the smallest window, then the smallest chunk, within `tolerance` of the best
/// throughput. The upload is aborted at the end, never committed.
///
/// It reuses the sender's request machinery (`ChunkRequests`: a slot per outstanding request,
/// each request sent before the next) with a fixed window per configuration.
public final class Tuner: @unchecked Sendable {
    public let store: StorePrx
    public let options: TuneOptions
    /// Called after each measured configuration (progress).
    public var onRow: (@Sendable (TuneRow) -> Void)?
    private let cancelLock = NSLock()
    private var cancelled = false

    public init(store: StorePrx, options: TuneOptions = TuneOptions()) {
        self.store = store.ice_invocationTimeout(options.invocationTimeout.map(\.milliseconds) ?? -1)
        self.options = options
    }

    /// Stops the sweep at the next request; `run` then aborts the upload and throws `TuneCancelled`.
    public func cancel() { cancelLock.withLock { cancelled = true } }
    private var isCancelled: Bool { cancelLock.withLock { cancelled } }

    public func run() throws -> TuneResult {
        let start = ContinuousClock.now
        let deadline = start + options.duration
        let chunkSizes = options.chunkSizes.filter { $0 > 0 }.sorted()
        let windows = options.windows.filter { $0 > 0 }.sorted()
        guard let largestChunk = chunkSizes.last, !windows.isEmpty else {
            throw UsageError("tune needs at least one chunk size and one window")
        }

        let rtt = try measureRoundTrip(until: start + options.duration / 10)
        let (upload, path, declared) = try openScratch(minimum: Int64(largestChunk))

        var rows: [TuneRow] = []
        var failure: (any Error)?
        do {
            rows = try sweep(
                upload: upload, declared: declared, chunkSizes: chunkSizes, windows: windows, rtt: rtt,
                deadline: deadline)
        } catch {
            failure = error
        }
        // Never committed: abort, whatever happened.
        var abortError: String?
        do {
            try upload.ice_invocationTimeout(10_000).abort()
        } catch {
            abortError = ClientErrors.message(for: error)
        }
        if let failure { throw failure }
        guard !rows.isEmpty else {
            throw TransferError(reason: "no configuration could be measured within \(options.duration); give tune more --seconds")
        }
        let pick = Self.recommend(rows, tolerance: options.tolerance)
        annotate(&rows, recommended: pick.recommended, best: pick.best)
        return TuneResult(
            roundTrip: rtt.median, pings: rtt.samples, rows: rows, recommendedChunkSize: rows[pick.recommended].chunkSize,
            recommendedWindow: rows[pick.recommended].window, recommendedIndex: pick.recommended, bestIndex: pick.best,
            scratchPath: path, declaredSize: declared, aborted: abortError == nil, abortError: abortError,
            seconds: (ContinuousClock.now - start).seconds)
    }

    /// Among the rows within `tolerance` of the best throughput, the smallest window and, for
    /// that window, the smallest chunk. Returns indexes into `rows`.
    public static func recommend(_ rows: [TuneRow], tolerance: Double) -> (recommended: Int, best: Int) {
        precondition(!rows.isEmpty)
        let best = rows.indices.max { rows[$0].bytesPerSecond < rows[$1].bytesPerSecond }!
        let floor = rows[best].bytesPerSecond * (1 - tolerance)
        let recommended = rows.indices
            .filter { rows[$0].bytesPerSecond >= floor }
            .min { (rows[$0].window, rows[$0].chunkSize) < (rows[$1].window, rows[$1].chunkSize) }!
        return (recommended, best)
    }

    // MARK: Steps

    private func measureRoundTrip(until limit: ContinuousClock.Instant) throws -> (median: Duration, samples: Int) {
        try store.ice_ping()  // sets up the connection
        var samples: [Duration] = []
        while samples.count < max(1, options.pings) {
            let t0 = ContinuousClock.now
            try store.ice_ping()
            samples.append(ContinuousClock.now - t0)
            if samples.count >= 3, ContinuousClock.now >= limit { break }
        }
        samples.sort()
        let mid = samples.count / 2
        let median = samples.count % 2 == 1 ? samples[mid] : (samples[mid - 1] + samples[mid]) / 2
        return (median, samples.count)
    }

    /// Opens the scratch upload with the largest declared size the server accepts.
    private func openScratch(minimum: Int64) throws -> (UploadPrx, String, Int64) {
        var size = max(options.scratchSize, minimum)
        let floor = max(options.minimumScratchSize, minimum)
        while true {
            let path = options.scratchPath ?? ".tune-\(UInt64.random(in: 0...UInt64.max).hexDigits).tmp"
            do {
                guard let prx = try store.open(path: path, size: size, overwrite: false, resume: false) else {
                    throw UnknownException("the server returned no upload for \(path)")
                }
                // Reached through the store's endpoints, like the sender's uploads.
                let upload = UploadPrx(_reference: store.ice_identity(prx.ice_getIdentity()).ice_facet(prx.ice_getFacet())._reference)
                return (upload, path, size)
            } catch let error as StorageError {
                guard size / 2 >= floor else { throw error }
                size /= 2
            }
        }
    }

    private func sweep(
        upload: UploadPrx, declared: Int64, chunkSizes: [Int], windows: [Int], rtt: (median: Duration, samples: Int),
        deadline: ContinuousClock.Instant
    ) throws -> [TuneRow] {
        let data = ByteBuffer(bytes: randomScratchBytes(chunkSizes.last!))
        var rows: [TuneRow] = []
        var offset: Int64 = 0
        // Time each configuration costs beyond its slice (draining, waiting for a slot).
        var overhead = rtt.median * 2
        for (c, chunk) in chunkSizes.enumerated() {
            var previous: Double?
            for (w, window) in windows.enumerated() {
                if isCancelled { throw TuneCancelled() }
                // Spread what is left over the configurations that may still come, reserving
                // time to abort.
                let left = windows.count - w + (chunkSizes.count - c - 1) * windows.count
                let remaining = deadline - ContinuousClock.now - rtt.median * 2
                let slice = remaining / left - overhead
                // Out of time: stop, unless nothing was measured yet and one slice still fits.
                if slice < options.minimumSlice, !(rows.isEmpty && remaining > options.minimumSlice) {
                    return rows
                }
                let configStart = ContinuousClock.now
                var row = try measure(
                    upload: upload, data: data, chunk: chunk, window: window, declared: declared, offset: &offset,
                    slice: max(slice, options.minimumSlice))
                overhead = max(overhead, (ContinuousClock.now - configStart) - max(slice, options.minimumSlice))
                let stop = previous.map { row.bytesPerSecond <= $0 * (1 + options.growthThreshold) } ?? false
                if stop { row.note = "gain < \(Int((options.growthThreshold * 100).rounded()))%: stop" }
                rows.append(row)
                onRow?(row)
                if stop { break }
                previous = row.bytesPerSecond
            }
        }
        return rows
    }

    /// Keeps `window` requests of `chunk` bytes outstanding for `slice`, then drains them.
    private func measure(
        upload: UploadPrx, data: ByteBuffer, chunk: Int, window: Int, declared: Int64, offset: inout Int64, slice: Duration
    ) throws -> TuneRow {
        let meter = ReplyMeter()
        let requests = ChunkRequests(window: window, auto: nil) { bytes, at in meter.record(bytes, at: at) }
        let payload = data.getSlice(at: data.readerIndex, length: chunk)!
        let start = ContinuousClock.now
        let end = start + slice
        meter.setEnd(end)
        var failure: (any Error)?
        do {
            while ContinuousClock.now < end, !isCancelled {
                if offset + Int64(chunk) > declared { offset = 0 }
                let piece = PreparedChunk(offset: offset, length: chunk, payload: payload, compressed: false)
                try requests.send(piece, on: upload, interval: .milliseconds(50), tick: {})
                offset += Int64(chunk)
            }
        } catch {
            failure = error
        }
        let drained = requests.drain(interval: .milliseconds(50), tick: {})
        if let error = failure ?? drained { throw error }
        let (rate, replies) = meter.rate(window: window, start: start)
        return TuneRow(chunkSize: chunk, window: window, bytesPerSecond: rate, replies: replies)
    }

    private func annotate(_ rows: inout [TuneRow], recommended: Int, best: Int) {
        let floor = rows[best].bytesPerSecond * (1 - options.tolerance)
        let within = "within \(Int((options.tolerance * 100).rounded()))%"
        for i in rows.indices {
            var notes: [String] = []
            if i == recommended { notes.append("recommended") }
            if i == best { notes.append("best") }
            if i != recommended, i != best, rows[i].bytesPerSecond >= floor { notes.append(within) }
            if !rows[i].note.isEmpty { notes.append(rows[i].note) }
            rows[i].note = notes.joined(separator: ", ")
        }
    }
}

/// The replies of one time slice, timed as they arrive; those after the end of the slice (while
/// draining) are not counted.
///
/// The rate is taken between replies a whole number of windows apart, from the first reply of
/// the slice: between reply k and reply k + W exactly W chunks were acknowledged, whether the
/// replies come evenly (a full link) or in bursts of W per round trip (a window below the
/// bandwidth-delay product). The ramp-up before the first reply is left out, and so is the
/// partial cycle at the end of the slice, which would bias large chunks low.
private final class ReplyMeter: @unchecked Sendable {
    private let lock = NSLock()
    private var end: ContinuousClock.Instant?
    private var replies: [(at: ContinuousClock.Instant, bytes: Int)] = []
    private var allBytes: Int64 = 0
    private var last: ContinuousClock.Instant?

    func setEnd(_ t: ContinuousClock.Instant) { lock.withLock { end = t } }

    func record(_ bytes: Int, at t: ContinuousClock.Instant) {
        lock.withLock {
            allBytes += Int64(bytes)
            last = max(last ?? t, t)
            if let end, t > end { return }
            replies.append((t, bytes))
        }
    }

    /// Bytes per second with `window` requests outstanding, and the replies of the slice.
    func rate(window: Int, start: ContinuousClock.Instant) -> (bytesPerSecond: Double, replies: Int) {
        lock.withLock {
            let r = replies.sorted { $0.at < $1.at }
            let n = r.count
            var j = ((n - 1) / max(1, window)) * max(1, window)
            if j == 0 { j = n - 1 }  // fewer than window + 1 replies: first to last
            if j >= 1 {
                let span = (r[j].at - r[0].at).seconds
                let bytes = r[1...j].reduce(0) { $0 + $1.bytes }
                if span > 0 { return (Double(bytes) / span, n) }
            }
            // One reply or none in the slice: everything acknowledged since the start.
            let span = ((last ?? start) - start).seconds
            return (span > 0 ? Double(allBytes) / span : 0, n)
        }
    }
}

/// Incompressible scratch data (xorshift), so that no layer can shrink it.
func randomScratchBytes(_ count: Int) -> [UInt8] {
    var state = UInt64.random(in: 1...UInt64.max)
    var out = [UInt8](repeating: 0, count: count)
    var i = 0
    while i < count {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        var v = state
        for _ in 0..<8 where i < count {
            out[i] = UInt8(truncatingIfNeeded: v)
            v >>= 8
            i += 1
        }
    }
    return out
}

extension UInt64 {
    /// Lowercase hex, 16 digits.
    var hexDigits: String {
        let s = String(self, radix: 16)
        return String(repeating: "0", count: Swift.max(0, 16 - s.count)) + s
    }
}

/// Reads and updates `FileClient.*` lines of a client config file.
public enum ClientConfigFile {
    /// Where `ftclient` looks for its config without `--config`: `config/ftclient.conf` (in the
    /// current directory) if it exists, else `~/.config/floe/ftclient.conf`.
    public static func defaultPath(
        currentDirectory: String = FileManager.default.currentDirectoryPath,
        home: String = NSHomeDirectory()
    ) -> String {
        let local = (currentDirectory as NSString).appendingPathComponent("config/ftclient.conf")
        if FileManager.default.fileExists(atPath: local) { return local }
        return (home as NSString).appendingPathComponent(".config/floe/ftclient.conf")
    }

    /// `text` with every active (uncommented) `Name = …` line of `settings` set to the new
    /// value, in place; names without such a line are appended at the end under a comment.
    /// Every other line (comments, other properties, blank lines) is kept as it is.
    public static func updating(_ text: String, with settings: [(name: String, value: String)]) -> String {
        var lines = text.isEmpty ? [] : text.components(separatedBy: "\n")
        let endsWithNewline = text.hasSuffix("\n")
        if endsWithNewline { lines.removeLast() }
        var found = Set<String>()
        for i in lines.indices {
            let line = lines[i]
            let indent = line.prefix(while: { $0 == " " || $0 == "\t" })
            let body = line.dropFirst(indent.count)
            guard !body.hasPrefix("#"), let eq = body.firstIndex(of: "=") else { continue }
            let key = body[..<eq].trimmingASCIIWhitespace()
            guard let setting = settings.first(where: { $0.name == key }) else { continue }
            lines[i] = "\(indent)\(setting.name) = \(setting.value)"
            found.insert(setting.name)
        }
        let missing = settings.filter { !found.contains($0.name) }
        if !missing.isEmpty {
            if let last = lines.last, !last.trimmingASCIIWhitespace().isEmpty { lines.append("") }
            lines.append("# Set by `ftclient tune --save`.")
            for s in missing { lines.append("\(s.name) = \(s.value)") }
        }
        return lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")
    }

    /// Updates (or creates, with its directory) the file at `path`, replacing it atomically;
    /// a symbolic link is followed, and the file keeps its permissions.
    public static func save(_ settings: [(name: String, value: String)], to path: String) throws {
        let url = URL(fileURLWithPath: path).resolvingSymlinksInPath()
        let fm = FileManager.default
        var permissions: Any?
        let existing: String
        if fm.fileExists(atPath: url.path) {
            existing = try String(contentsOf: url, encoding: .utf8)
            permissions = try? fm.attributesOfItem(atPath: url.path)[.posixPermissions]
        } else {
            existing = ""
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        }
        try Data(updating(existing, with: settings).utf8).write(to: url, options: .atomic)
        if let permissions {
            try? fm.setAttributes([.posixPermissions: permissions], ofItemAtPath: url.path)
        }
    }

    /// `65536` → `64KiB`, `1048576` → `1MiB`, `1000` → `1000` (the property syntax).
    public static func sizeText(_ bytes: Int) -> String {
        if bytes >= 1 << 20, bytes % (1 << 20) == 0 { return "\(bytes >> 20)MiB" }
        if bytes >= 1 << 10, bytes % (1 << 10) == 0 { return "\(bytes >> 10)KiB" }
        return "\(bytes)"
    }
}
