import Dispatch
import Ice
import Logging
import NIOConcurrencyHelpers

/// The file-transfer server: a `FileStore`, the bounded write-job queue with its workers, the
/// `store` servant and the default servant of category `upload`, on one object adapter named
/// `FileServer`.
///
/// ```swift
/// let server = try FileServer(communicator: communicator, config: FileServerConfig(properties: communicator.properties))
/// try server.start()          // listens, dispatches, cleans abandoned uploads periodically
/// print(server.endpoints)     // the real endpoints (`-p 0` resolved)
/// server.stop()               // stop accepting, reply to every queued chunk, flush, stop workers
/// communicator.destroy()      // the caller owns the communicator
/// ```
///
/// Backpressure: the adapter's `FileServer.MaxDispatches` is set to `queueLimit`, so once that
/// many requests are being dispatched the server stops reading from the connection that
/// reached the limit and holds back requests already read; the job queue therefore never holds
/// more than `queueLimit` jobs, and `send` (dispatched on the I/O thread) never waits for room.
public final class FileServer: @unchecked Sendable {
    /// Identity of the `Store` object.
    public static let storeIdentity = Identity(name: "store")
    /// Category of the `Upload` objects (their name is the upload id).
    public static let uploadCategory = "upload"

    public static func uploadIdentity(_ uploadID: String) -> Identity {
        Identity(name: uploadID, category: uploadCategory)
    }

    public let communicator: Communicator
    public let config: FileServerConfig
    public let store: FileStore
    /// The write jobs (statistics for monitoring and tests).
    public let jobs: UploadJobQueue
    /// The buffers compressed chunks are inflated into, lent again once written (a fresh one per
    /// chunk would cost its pages' faults: ftserver maps each large allocation on its own).
    let inflatedBuffers = ByteBufferPool(maxBytes: 16 << 20)
    let logger: Logger

    private enum State { case created, started, stopping, stopped }
    private let lock = NIOLock()
    private var state = State.created
    private var adapterRef: ObjectAdapter?
    private var cleanupTimer: (any DispatchSourceTimer)?
    private let stopped = Future<Void>()

    /// Opens the store at `config.root` (reloading partial uploads, so they can be resumed) and
    /// starts the workers. Nothing listens before `start()`.
    public init(communicator: Communicator, config: FileServerConfig, logger: Logger? = nil) throws {
        self.communicator = communicator
        self.config = config
        var logger = logger ?? Logger(label: "ftserver")
        logger[metadataKey: "component"] = "server"
        self.logger = logger
        // The servants log upload start, commit and errors; the store's own info lines
        // (opened, committed…) would repeat them, so they show only at debug level.
        var storeLogger = logger
        if storeLogger.logLevel >= .info { storeLogger.logLevel = .notice }
        do {
            store = try FileStore(
                root: config.root, maxFileSize: config.maxFileSize,
                staleAfter: .seconds(config.uploadTimeout), logger: storeLogger)
        } catch {
            throw InitializationException("cannot use \(config.root) as the storage root: \(error.reason)")
        }
        jobs = UploadJobQueue(capacity: config.queueLimit, workers: config.workers)
        communicator.trimPeriodically(store.readBuffers)
        communicator.trimPeriodically(inflatedBuffers)
    }

    /// Reads the configuration from the communicator's properties (`FileServer.*`).
    public convenience init(communicator: Communicator, logger: Logger? = nil) throws {
        try self.init(communicator: communicator, config: FileServerConfig(properties: communicator.properties), logger: logger)
    }

    // MARK: Running

    /// Creates the adapter on `config.endpoints`, registers the servants, activates it and
    /// starts the periodic cleanup of abandoned uploads.
    public func start() throws {
        try lock.withLock {
            guard state == .created else { throw InitializationException("the file server was already started") }
            let name = FileServerConfig.adapterName
            let properties = communicator.properties
            properties.setProperty("\(name).MaxDispatches", "\(config.queueLimit)")
            properties.setProperty("\(name).PublishedEndpoints", config.publishedEndpoints)
            if properties.getProperty("Ice.MessageSizeMax").isEmpty && properties.getProperty("\(name).MessageSizeMax").isEmpty {
                // Room for 4 MiB chunks plus headers even when the application did not say.
                properties.setProperty("\(name).MessageSizeMax", "8192")
            }
            let adapter = try communicator.createObjectAdapterWithEndpoints(name, config.endpoints)
            do {
                try adapter.add(StoreServantImpl(store: store, logger: logger), identity: Self.storeIdentity)
                try adapter.addDefaultServant(
                    UploadServantImpl(store: store, jobs: jobs, inflated: inflatedBuffers, config: config, logger: logger),
                    category: Self.uploadCategory)
            } catch {
                adapter.destroy()
                throw error
            }
            adapter.activate()
            adapterRef = adapter
            state = .started
            cleanupTimer = makeCleanupTimer()
        }
        logger.info("file server started", metadata: [
            "endpoints": "\(endpointsDescription)", "root": "\(store.root)", "workers": "\(config.workers)",
            "queueLimit": "\(config.queueLimit)", "uploadTimeout": "\(config.uploadTimeout)s",
        ])
    }

    /// Stops gracefully: stops accepting connections, lets every request already received
    /// complete and reply (queued chunks are written), closes the connections, stops the
    /// workers and makes every partial upload durable (so it can be resumed after a restart).
    /// Blocks until done; idempotent, and concurrent calls all wait. Must not be called from a
    /// dispatch or a runtime thread.
    public func stop() {
        let (run, adapter, timer): (Bool, ObjectAdapter?, (any DispatchSourceTimer)?) = lock.withLock {
            switch state {
            case .created, .started:
                state = .stopping
                return (true, adapterRef, cleanupTimer)
            case .stopping, .stopped:
                return (false, nil, nil)
            }
        }
        guard run else {
            _ = try? stopped.result()
            return
        }
        logger.info("file server stopping: draining the job queue", metadata: ["queued": "\(jobs.depth + jobs.inProgress)"])
        timer?.cancel()
        adapter?.deactivate()
        adapter?.waitForDeactivate()
        jobs.shutdown()
        store.flushAll()
        lock.withLock { state = .stopped }
        logger.info("file server stopped")
        stopped.setResult(())
    }

    /// Blocks until no write job is waiting or running.
    public func waitUntilIdle() {
        jobs.waitUntilIdle()
    }

    /// Removes the uploads without activity for `config.uploadTimeout` before `now` (what the
    /// periodic cleanup does); returns their ids.
    @discardableResult
    public func cleanAbandonedUploads(now: ContinuousClock.Instant = .now) -> [String] {
        let removed = store.cleanAbandoned(now: now)
        if !removed.isEmpty {
            logger.info("removed abandoned uploads", metadata: ["count": "\(removed.count)", "uploads": "\(removed)"])
        }
        return removed
    }

    // MARK: Addresses

    /// The object adapter (nil before `start()`).
    public var adapter: ObjectAdapter? { lock.withLock { adapterRef } }

    /// The endpoints the server listens on, with the real ports (empty before `start()`).
    public var endpoints: [Endpoint] { adapter?.endpoints ?? [] }

    /// The endpoints as Ice prints them, `:`-separated (e.g. `tcp -h 127.0.0.1 -p 10000 -t 60000`).
    public var endpointsDescription: String { endpoints.map(\.description).joined(separator: ":") }

    /// A proxy of the store with the published endpoints (nil before `start()`).
    public var storeProxy: StorePrx? {
        adapter.flatMap { uncheckedCast($0.createProxy(Self.storeIdentity), to: StorePrx.self) }
    }

    private func makeCleanupTimer() -> any DispatchSourceTimer {
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "floe.cleanup"))
        let interval = DispatchTimeInterval.seconds(config.cleanupInterval)
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler { [weak self] in self?.cleanAbandonedUploads() }
        timer.resume()
        return timer
    }
}
