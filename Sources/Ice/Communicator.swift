import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The root of the runtime: properties, threads, connections, object adapters.
///
/// Create it from command-line arguments (`--Ice.Config=path`, `--Name.Property=value`) or from
/// `Properties`; destroy it when done (pending invocations then fail with
/// `CommunicatorDestroyedException`).
public final class Communicator: @unchecked Sendable {
    public let properties: Properties
    public let logger: Logger
    let settings: RuntimeSettings
    let eventLoopGroup: MultiThreadedEventLoopGroup
    let serverThreadPool: NIOThreadPool
    /// Reusable buffers for large inbound messages, shared by all connections.
    let framePool = ByteBufferPool()
    private(set) var connectionFactory: OutgoingConnectionFactory!
    /// The pools trimmed every `Ice.BufferPool.TrimInterval`, held weakly.
    private let trimmedPools = NIOLockedValueBox<[WeakBufferPool]>([])
    private let trimTask: RepeatedTask?

    private let lock = NIOLock()
    private var adapters: [String: ObjectAdapter] = [:]
    private var destroyed = false
    private let shutdownFuture = Future<Void>()

    /// Creates a communicator from `arguments`, removing the Ice options it consumed.
    public convenience init(arguments: inout [String], logger: Logger? = nil) throws {
        self.init(properties: try Properties(arguments: &arguments), logger: logger)
    }

    /// Creates a communicator from Ice arguments (e.g. `["--Ice.MessageSizeMax=4096"]`).
    public convenience init(_ arguments: [String] = [], logger: Logger? = nil) throws {
        var args = arguments
        try self.init(arguments: &args, logger: logger)
    }

    public init(properties: Properties, logger: Logger? = nil) {
        self.properties = properties
        self.settings = RuntimeSettings(properties)
        self.logger = logger ?? Logger(label: "ice")
        self.eventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: settings.eventLoopThreads)
        self.serverThreadPool = NIOThreadPool(numberOfThreads: settings.serverThreadPoolSize)
        serverThreadPool.start()
        let pools = trimmedPools
        let frames = WeakBufferPool(framePool)
        pools.withLockedValue { $0.append(frames) }
        let interval = TimeAmount.milliseconds(Int64(settings.bufferTrimInterval))
        self.trimTask = settings.bufferTrimInterval > 0
            ? eventLoopGroup.next().scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in Communicator.trim(pools) }
            : nil
        self.connectionFactory = OutgoingConnectionFactory(communicator: self)
    }

    // MARK: Buffers

    /// Trims `pool` with the communicator's own buffer pools, every `Ice.BufferPool.TrimInterval`
    /// milliseconds until the communicator is destroyed or the pool is gone: a buffer that
    /// stayed unused for a whole interval is freed.
    public func trimPeriodically(_ pool: ByteBufferPool) {
        trimmedPools.withLockedValue { $0.append(WeakBufferPool(pool)) }
    }

    private static func trim(_ pools: NIOLockedValueBox<[WeakBufferPool]>) {
        let alive = pools.withLockedValue { entries in
            entries.removeAll { $0.pool == nil }
            return entries.compactMap(\.pool)
        }
        for pool in alive { pool.trim() }
    }

    // MARK: Proxies

    /// Parses a stringified proxy; returns nil for the null proxy (`""`).
    public func stringToProxy(_ s: String) throws -> ObjectProxy? {
        guard let d = try ProxyDescriptor.parse(s) else { return nil }
        return ObjectProxy(_reference: Reference(communicator: self, descriptor: d))
    }

    /// Parses a stringified proxy into a typed proxy (no `ice_isA` check).
    public func stringToProxy<P: ObjectPrx>(_ s: String, as type: P.Type) throws -> P? {
        try uncheckedCast(stringToProxy(s), to: type)
    }

    public func proxyToString(_ proxy: (any ObjectPrx)?) -> String {
        proxy?.description ?? ""
    }

    /// Reads a proxy from property `name` (e.g. `FileClient.Proxy`).
    public func propertyToProxy(_ name: String) throws -> ObjectProxy? {
        let s = properties.getProperty(name)
        return s.isEmpty ? nil : try stringToProxy(s)
    }

    // MARK: Object adapters

    /// Creates an adapter listening on `<name>.Endpoints` (published as
    /// `<name>.PublishedEndpoints` when set).
    public func createObjectAdapter(_ name: String) throws -> ObjectAdapter {
        try createObjectAdapterWithEndpoints(name, properties.getProperty("\(name).Endpoints"))
    }

    public func createObjectAdapterWithEndpoints(_ name: String, _ endpoints: String) throws -> ObjectAdapter {
        if isDestroyed { throw CommunicatorDestroyedException("the communicator was destroyed") }
        let parsed = try [Endpoint].parse(list: endpoints)
        let publishedText = properties.getProperty("\(name).PublishedEndpoints")
        let published = publishedText.isEmpty ? nil : try [Endpoint].parse(list: publishedText, forAdapter: false)
        var adapterSettings = settings
        let kib = properties.getPropertyAsIntWithDefault("\(name).MessageSizeMax", -1)
        if kib >= 0 { adapterSettings.messageSizeMax = kib == 0 ? 0 : kib * 1024 }
        try lock.withLock {
            if adapters[name] != nil { throw AlreadyRegisteredException("an object adapter named '\(name)' already exists") }
        }
        let adapter = try ObjectAdapter(
            name: name, communicator: self, endpoints: parsed, published: published, settings: adapterSettings)
        lock.withLock { adapters[name] = adapter }
        return adapter
    }

    func adapterDestroyed(_ adapter: ObjectAdapter) {
        lock.withLock {
            if adapters[adapter.name] === adapter { adapters[adapter.name] = nil }
        }
    }

    // MARK: Batches

    /// Flushes the batch requests of every connection of this communicator.
    public func flushBatchRequestsAsync() -> Future<Void> {
        let futures = connectionFactory.all.map { $0.flushBatchRequestsAsync() }
        let all = Future<Void>()
        let remaining = NIOLockedValueBox(futures.count)
        if futures.isEmpty { all.setResult(()) }
        for f in futures {
            f.addDoneCallback { f in
                if let e = try? f.exception() { all.setException(e) }
                if remaining.withLockedValue({ $0 -= 1; return $0 }) == 0 { all.setResult(()) }
            }
        }
        return all
    }

    // MARK: Life cycle

    /// Deactivates every object adapter; `waitForShutdown` returns afterwards.
    public func shutdown() {
        let all = lock.withLock { Array(adapters.values) }
        for a in all { a.deactivate() }
        shutdownFuture.setResult(())
    }

    /// Blocks until `shutdown()` was called and the adapters finished their dispatches.
    public func waitForShutdown() {
        _ = try? shutdownFuture.result()
        let all = lock.withLock { Array(adapters.values) }
        for a in all { a.waitForDeactivate() }
    }

    public var isShutdown: Bool { shutdownFuture.isDone }

    public var isDestroyed: Bool { lock.withLock { destroyed } }

    /// Shuts down, closes all connections and stops the runtime's threads. Must not be called
    /// from a runtime thread (a callback or a dispatch).
    public func destroy() {
        let first: Bool = lock.withLock {
            defer { destroyed = true }
            return !destroyed
        }
        guard first else { return }
        shutdown()
        trimTask?.cancel()
        let all = lock.withLock { Array(adapters.values) }
        for a in all { a.destroy() }
        for f in connectionFactory.destroy() { _ = try? f.result(timeout: .seconds(5)) }
        try? serverThreadPool.syncShutdownGracefully()
        try? eventLoopGroup.syncShutdownGracefully()
    }
}

/// A pool `Communicator.trimPeriodically` trims while it exists.
private struct WeakBufferPool: Sendable {
    weak var pool: ByteBufferPool?

    init(_ pool: ByteBufferPool) { self.pool = pool }
}
