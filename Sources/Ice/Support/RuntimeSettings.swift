/// The runtime's tunables, read once from the communicator's properties.
struct RuntimeSettings: Sendable {
    /// `Ice.MessageSizeMax` in bytes; 0 means no limit.
    var messageSizeMax: Int
    /// Outbound bytes a connection may hold in its transport before new requests wait in the
    /// runtime's queue (`Ice.TCP.SndSize`, else 1 MiB).
    var sendHighWaterMark: Int
    /// `Ice.TCP.SndSize` / `Ice.TCP.RcvSize` socket buffer sizes, when set.
    var socketSendBufferSize: Int?
    var socketReceiveBufferSize: Int?
    /// Retry delays in milliseconds (`Ice.RetryIntervals`); empty disables retries.
    var retryIntervals: [Int]
    /// Size of the pool that runs synchronous dispatches (`Ice.ThreadPool.Server.Size`).
    var serverThreadPoolSize: Int
    /// `Ice.ThreadPool.Server.Serialize`: dispatch one request at a time per connection, in order.
    var serializeDispatch: Bool
    /// Number of event loop threads for connections (`Ice.ThreadPool.Client.Size`).
    var eventLoopThreads: Int
    /// Batches are flushed automatically once they reach this many bytes (`Ice.BatchAutoFlushSize`, KiB).
    var batchAutoFlushSize: Int
    /// Default endpoint timeout in milliseconds (`Ice.Default.Timeout`).
    var defaultTimeout: Int32
    /// `Ice.Default.SlicedFormat`.
    var slicedFormat: Bool
    /// bzip2 block size (`Ice.Compression.Level`).
    var compressionLevel: Int
    /// ACM timeout in seconds; heartbeats are sent during dispatch every timeout/2.
    var acmTimeout: Int
    /// `Ice.Warn.Connections`.
    var warnConnections: Bool
    /// How often, in milliseconds, buffer pools let go of buffers left unused since the time
    /// before (`Ice.BufferPool.TrimInterval`, 30 000 by default; 0 never).
    var bufferTrimInterval: Int

    init(_ p: Properties) {
        let kib = p.getPropertyAsIntWithDefault("Ice.MessageSizeMax", 1024)
        messageSizeMax = kib <= 0 ? 0 : kib * 1024
        let snd = p.getPropertyAsIntWithDefault("Ice.TCP.SndSize", 0)
        let rcv = p.getPropertyAsIntWithDefault("Ice.TCP.RcvSize", 0)
        socketSendBufferSize = snd > 0 ? snd : nil
        socketReceiveBufferSize = rcv > 0 ? rcv : nil
        sendHighWaterMark = snd > 0 ? snd : 1024 * 1024
        let intervals = p.getPropertyWithDefault("Ice.RetryIntervals", "0")
            .split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }).compactMap { Int($0) }
        retryIntervals = intervals.first.map { $0 < 0 } == true ? [] : intervals
        serverThreadPoolSize = max(1, p.getPropertyAsIntWithDefault("Ice.ThreadPool.Server.Size", 4))
        serializeDispatch = p.getPropertyAsIntWithDefault("Ice.ThreadPool.Server.Serialize", 0) > 0
        eventLoopThreads = max(1, p.getPropertyAsIntWithDefault("Ice.ThreadPool.Client.Size", 1))
        batchAutoFlushSize = max(0, p.getPropertyAsIntWithDefault("Ice.BatchAutoFlushSize", 1024)) * 1024
        defaultTimeout = Int32(clamping: p.getPropertyAsIntWithDefault("Ice.Default.Timeout", 60_000))
        slicedFormat = p.getPropertyAsIntWithDefault("Ice.Default.SlicedFormat", 0) > 0
        compressionLevel = min(9, max(1, p.getPropertyAsIntWithDefault("Ice.Compression.Level", 1)))
        acmTimeout = max(1, p.getPropertyAsIntWithDefault("Ice.ACM.Timeout", 60))
        warnConnections = p.getPropertyAsIntWithDefault("Ice.Warn.Connections", 0) > 0
        bufferTrimInterval = max(0, p.getPropertyAsIntWithDefault("Ice.BufferPool.TrimInterval", 30_000))
    }
}
