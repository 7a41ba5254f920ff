import Foundation

/// The one-object JSON summary `ftclient send --json` prints.
public struct SendSummary: Codable, Equatable, Sendable {
    /// The local file.
    public var file: String
    /// The remote path.
    public var remote: String
    /// Size of the file.
    public var bytes: Int64
    public var seconds: Double
    /// MB/s (10^6 bytes per second) of this run's bytes (resumed bytes excluded).
    public var mbps: Double
    public var chunkSize: Int
    public var window: Int
    /// `off`, `on` or `auto`.
    public var compress: String
    /// Payload bytes sent (compressed sizes for compressed chunks).
    public var wireBytes: Int64
    /// File bytes sent per wire byte (1 without compression).
    public var compressionRatio: Double
    /// The checksum committed, `"xxh3:<hex>"` (or `"xxh64:<hex>"`, `"sha256:<hex>"`).
    public var checksum: String
    /// Bytes the server already had (resume).
    public var resumedBytes: Int64
    public var reconnects: Int
    /// `send` / `sendCompressed` requests made.
    public var chunks: Int
    /// Only with `--window auto`: `"auto"`, the minimum round trip measured (ms), the largest
    /// window used, and the memory cap (bytes). `window` is then the window at the end.
    public var windowMode: String?
    public var rttMs: Double?
    public var maxWindow: Int?
    public var maxInFlight: Int?

    public init(_ r: SendResult) {
        file = r.localPath
        remote = r.remotePath
        bytes = r.bytes
        seconds = r.seconds
        mbps = r.megabytesPerSecond
        chunkSize = r.chunkSize
        window = r.window
        compress = r.compression.rawValue
        wireBytes = r.wireBytes
        compressionRatio = r.compressionRatio
        checksum = r.checksum.description
        resumedBytes = r.resumedBytes
        reconnects = r.reconnects
        chunks = r.chunks
        (windowMode, rttMs, maxWindow, maxInFlight) = autoWindowFields(r)
    }
}

/// The JSON summary of `ftclient get --json`.
public struct GetSummary: Codable, Equatable, Sendable {
    public var file: String
    public var remote: String
    public var bytes: Int64
    public var seconds: Double
    public var mbps: Double
    public var chunkSize: Int
    public var window: Int
    /// The checksum of the downloaded file (`--checksum`'s algorithm), `"algorithm:hex"`.
    public var checksum: String
    /// Whether the data was compared with the server's checksum (and matched).
    public var verified: Bool
    public var reconnects: Int
    public var chunks: Int
    /// As in `SendSummary`, only with `--window auto`.
    public var windowMode: String?
    public var rttMs: Double?
    public var maxWindow: Int?
    public var maxInFlight: Int?

    public init(_ r: DownloadResult) {
        file = r.localPath
        remote = r.remotePath
        bytes = r.bytes
        seconds = r.seconds
        mbps = r.megabytesPerSecond
        chunkSize = r.chunkSize
        window = r.window
        checksum = r.checksum.description
        verified = r.verified
        reconnects = r.reconnects
        chunks = r.chunks
        (windowMode, rttMs, maxWindow, maxInFlight) = autoWindowFields(r)
    }
}

/// `FileInfo` as JSON (`stat --json`, `ls --json`).
public struct FileInfoJSON: Codable, Equatable, Sendable {
    public var path: String
    public var size: Int64
    /// As the server reported it: `"xxh3:<hex>"` (or `"xxh64:<hex>"`, `"sha256:<hex>"`).
    public var checksum: String
    /// Seconds since 1970-01-01 UTC.
    public var modified: Int64

    public init(_ info: FileInfo) {
        path = info.path
        size = info.size
        checksum = info.checksum
        modified = info.modified
    }
}

/// Text and JSON renderings for ftclient.
public enum ClientOutput {
    /// Compact JSON with sorted keys, on one line.
    public static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// The human summary of an upload (several lines, no trailing newline).
    public static func summary(_ r: SendResult) -> String {
        var lines: [String] = []
        var first = "sent \(r.localPath) -> \(r.remotePath): \(ByteSize.format(r.bytes)) (\(r.bytes) bytes) in "
            + "\(formatDecimal(r.seconds, digits: 2)) s, \(formatDecimal(r.megabytesPerSecond, digits: 2)) MB/s"
        if r.resumedBytes > 0 { first += ", \(ByteSize.format(r.resumedBytes)) resumed" }
        if let data = r.dataSeconds, data > 0 {
            first += " (data \(formatDecimal(data, digits: 2)) s at \(formatDecimal(Double(r.bytes - r.resumedBytes) / data / 1e6, digits: 2)) MB/s)"
        }
        lines.append(first)
        var second = "  \(r.chunks) chunk\(r.chunks == 1 ? "" : "s") of \(ByteSize.format(Int64(r.chunkSize))), window \(r.window)"
        if r.autoWindow {
            second += autoWindowNote(roundTrip: r.roundTrip, maxWindow: r.maxWindow, cap: r.maxBytesInFlight)
        }
        second += ", compression \(r.compression)"
        if r.compression != .off {
            second += " (\(r.compressedChunks) compressed, ratio \(formatDecimal(r.compressionRatio, digits: 2)), "
                + "\(ByteSize.format(r.wireBytes)) on the wire)"
        }
        if r.reconnects > 0 { second += ", \(r.reconnects) reconnect\(r.reconnects == 1 ? "" : "s")" }
        lines.append(second)
        lines.append("  stored: " + fileInfoLine(r.info))
        return lines.joined(separator: "\n")
    }

    /// The human summary of a download.
    public static func summary(_ r: DownloadResult) -> String {
        var s = "got \(r.remotePath) -> \(r.localPath): \(ByteSize.format(r.bytes)) (\(r.bytes) bytes) in "
            + "\(formatDecimal(r.seconds, digits: 2)) s, \(formatDecimal(r.megabytesPerSecond, digits: 2)) MB/s, "
            + "\(r.chunks) chunk\(r.chunks == 1 ? "" : "s"), window \(r.window)"
        if r.autoWindow { s += autoWindowNote(roundTrip: r.roundTrip, maxWindow: r.maxWindow, cap: r.maxBytesInFlight) }
        if r.reconnects > 0 { s += ", \(r.reconnects) reconnect\(r.reconnects == 1 ? "" : "s")" }
        s += "\n  \(r.checksum.displayText)"
            + (r.verified ? " (verified)" : " (not verified: the server reported no checksum this client knows)")
        return s
    }

    /// ` (auto: RTT 20.4 ms, max 13, cap 64.0 MiB)`
    static func autoWindowNote(roundTrip: Duration?, maxWindow: Int?, cap: Int?) -> String {
        var parts: [String] = []
        if let rtt = roundTrip { parts.append("RTT \(formatDecimal(rtt.seconds * 1e3, digits: 1)) ms") }
        if let maxWindow { parts.append("max \(maxWindow)") }
        if let cap { parts.append("cap \(ByteSize.format(Int64(cap)))") }
        return " (auto" + (parts.isEmpty ? "" : ": " + parts.joined(separator: ", ")) + ")"
    }

    /// `path  size bytes  xxh3 …  modified …`
    public static func fileInfoLine(_ info: FileInfo) -> String {
        "\(info.path)  \(info.size) bytes  \(checksumText(info.checksum))  modified \(formatTime(info.modified))"
    }

    /// `stat`'s text output.
    public static func statText(_ info: FileInfo) -> String {
        """
        path:     \(info.path)
        size:     \(info.size) (\(ByteSize.format(info.size)))
        checksum: \(checksumText(info.checksum))
        modified: \(formatTime(info.modified))
        """
    }

    /// A server's checksum for people: `xxh3 <hex>` / `sha256 <hex>`; a text that does not
    /// parse is shown as `checksum <text>`, none as `no checksum`.
    static func checksumText(_ text: String) -> String {
        if let checksum = Checksum(parsing: text) { return checksum.displayText }
        return text.isEmpty ? "no checksum" : "checksum \(text)"
    }

    /// `ls`'s table: size, modification time, path.
    public static func table(_ infos: [FileInfo]) -> String {
        let rows = infos.map { (ByteSize.format($0.size), formatTime($0.modified), $0.path) }
        let sizeWidth = max(4, rows.map { $0.0.count }.max() ?? 0)
        let timeWidth = max(8, rows.map { $0.1.count }.max() ?? 0)
        func pad(_ s: String, _ w: Int, left: Bool) -> String {
            let fill = String(repeating: " ", count: max(0, w - s.count))
            return left ? fill + s : s + fill
        }
        var lines = [pad("SIZE", sizeWidth, left: true) + "  " + pad("MODIFIED", timeWidth, left: false) + "  PATH"]
        for r in rows {
            lines.append(pad(r.0, sizeWidth, left: true) + "  " + pad(r.1, timeWidth, left: false) + "  " + r.2)
        }
        let total = infos.reduce(Int64(0)) { $0 + $1.size }
        lines.append("\(infos.count) file\(infos.count == 1 ? "" : "s"), \(ByteSize.format(total))")
        return lines.joined(separator: "\n")
    }

    /// UTC time as `2024-05-01 12:34:56Z`.
    public static func formatTime(_ secondsSince1970: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss'Z'"
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(secondsSince1970)))
    }

    /// One progress line: bytes, percentage, rate, ETA, requests in flight.
    public static func progressLine(_ p: TransferProgress) -> String {
        let percent = p.totalBytes > 0 ? Double(p.bytesDone) * 100 / Double(p.totalBytes) : 100
        var s = "\(ByteSize.format(p.bytesDone)) / \(ByteSize.format(p.totalBytes)) "
            + "\(formatDecimal(percent, digits: 1))%  \(formatDecimal(p.bytesPerSecond / 1e6, digits: 2)) MB/s"
        if p.isFinal {
            s += "  \(formatDecimal(p.elapsed.seconds, digits: 1)) s"
        } else {
            s += "  ETA " + (p.eta.map { formatClock($0.seconds) } ?? "--:--")
            s += "  in flight \(p.inFlight)"
        }
        if p.reconnects > 0 { s += "  reconnects \(p.reconnects)" }
        return s
    }

    /// `m:ss` or `h:mm:ss`.
    static func formatClock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds < 360_000 else { return "--:--" }
        let total = Int(seconds.rounded(.up))
        let h = total / 3600
        let m = (total % 3600) / 60
        let s = total % 60
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return h > 0 ? "\(h):\(two(m)):\(two(s))" : "\(m):\(two(s))"
    }
}

/// One row of `ftclient tune --json`.
public struct TuneRowJSON: Codable, Equatable, Sendable {
    public var chunkSize: Int
    public var window: Int
    public var mbps: Double
    public var replies: Int
    public var note: String

    public init(_ r: TuneRow) {
        chunkSize = r.chunkSize
        window = r.window
        mbps = (r.megabytesPerSecond * 1000).rounded() / 1000
        replies = r.replies
        note = r.note
    }
}

/// The JSON object `ftclient tune --json` prints: the recommendation at the top level
/// (`chunkSize`, `window`, `mbps`), the fastest configuration, the median `rttMs`, every
/// measured row, the scratch upload and whether it was aborted, and where `--save` wrote.
public struct TuneSummary: Codable, Equatable, Sendable {
    public var chunkSize: Int
    public var window: Int
    public var mbps: Double
    public var best: TuneRowJSON
    public var rttMs: Double
    public var pings: Int
    public var rows: [TuneRowJSON]
    public var scratch: String
    public var declaredSize: Int64
    public var aborted: Bool
    public var seconds: Double
    public var saved: String?

    public init(_ r: TuneResult, savedTo: String?) {
        chunkSize = r.recommendedChunkSize
        window = r.recommendedWindow
        mbps = TuneRowJSON(r.recommended).mbps
        best = TuneRowJSON(r.best)
        rttMs = (r.roundTrip.seconds * 1e6).rounded() / 1e3
        pings = r.pings
        rows = r.rows.map(TuneRowJSON.init)
        scratch = r.scratchPath
        declaredSize = r.declaredSize
        aborted = r.aborted
        seconds = (r.seconds * 1000).rounded() / 1000
        saved = savedTo
    }
}

extension ClientOutput {
    /// `ftclient tune`'s text report: the round trip, the table and the recommendation.
    public static func tuneReport(_ r: TuneResult, savedTo: String?) -> String {
        var lines: [String] = []
        lines.append("RTT \(formatDecimal(r.roundTrip.seconds * 1e3, digits: 2)) ms (median of \(r.pings) pings); "
            + "scratch upload \(r.scratchPath) (\(ByteSize.format(r.declaredSize)) declared, "
            + (r.aborted ? "aborted" : "NOT aborted") + ")")
        let header = ("CHUNK", "WINDOW", "MB/s", "NOTE")
        let rows = r.rows.map { (ClientConfigFile.sizeText($0.chunkSize), String($0.window), formatDecimal($0.megabytesPerSecond, digits: 2), $0.note) }
        let w0 = max(header.0.count, rows.map { $0.0.count }.max() ?? 0)
        let w1 = max(header.1.count, rows.map { $0.1.count }.max() ?? 0)
        let w2 = max(header.2.count, rows.map { $0.2.count }.max() ?? 0)
        func pad(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }
        func line(_ c: (String, String, String, String)) -> String {
            let s = pad(c.0, w0) + "  " + pad(c.1, w1) + "  " + pad(c.2, w2) + (c.3.isEmpty ? "" : "  " + c.3)
            return s
        }
        lines.append(line(header))
        for row in rows { lines.append(line(row)) }
        let rec = r.recommended
        let best = r.best
        lines.append("recommended: --chunk-size \(ClientConfigFile.sizeText(rec.chunkSize)) --window \(rec.window)  "
            + "(\(formatDecimal(rec.megabytesPerSecond, digits: 2)) MB/s; best \(formatDecimal(best.megabytesPerSecond, digits: 2)) MB/s "
            + "with \(ClientConfigFile.sizeText(best.chunkSize)) x \(best.window))")
        if let savedTo {
            lines.append("saved to \(savedTo): FileClient.ChunkSize = \(ClientConfigFile.sizeText(rec.chunkSize)), FileClient.Window = \(rec.window)")
        }
        return lines.joined(separator: "\n")
    }
}

/// What `--window auto` reports, as the JSON summaries' `windowMode`, `rttMs`, `maxWindow` and
/// `maxInFlight` fields (all nil for a fixed window).
private func autoWindowFields(
    _ r: some AutoWindowReport
) -> (windowMode: String?, rttMs: Double?, maxWindow: Int?, maxInFlight: Int?) {
    guard r.autoWindow else { return (nil, nil, nil, nil) }
    return ("auto", r.roundTrip.map { ($0.seconds * 1e6).rounded() / 1e3 }, r.maxWindow, r.maxBytesInFlight)
}

/// A transfer result that says what `--window auto` did.
protocol AutoWindowReport {
    var autoWindow: Bool { get }
    var roundTrip: Duration? { get }
    var maxWindow: Int? { get }
    var maxBytesInFlight: Int? { get }
}

extension SendResult: AutoWindowReport {}
extension DownloadResult: AutoWindowReport {}
