import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Receives requests on its endpoints and dispatches them to servants.
///
/// Created by `Communicator.createObjectAdapter(_:)` from `<name>.Endpoints`; it listens at once
/// (so `-p 0` is resolved) but accepts and dispatches only once activated. Synchronous
/// dispatches run on the server thread pool (`Ice.ThreadPool.Server.Size`), never on an event
/// loop. `<name>.MaxDispatches` bounds the dispatches in progress: at the limit, connections
/// stop reading until one completes (TCP backpressure).
public final class ObjectAdapter: @unchecked Sendable, ConnectionOwner {
    public let name: String
    public let communicator: Communicator
    let settings: RuntimeSettings
    let logger: Logger
    let maxDispatches: Int

    enum State { case holding, active, deactivated }

    /// Held while pausing or resuming a connection's reading, so that those follow the order of
    /// the decisions (lock order: this lock, then a connection's).
    private let lock = NIOLock()
    private var state = State.holding
    private var servants: [Identity: [String: any Servant]] = [:]
    private var defaultServants: [String: any Servant] = [:]
    private var acceptors: [TCPAcceptor] = []
    /// What the acceptors were bound to: still reported after `deactivate`, as Ice does, and
    /// forgotten by `destroy`.
    private var boundEndpoints: [Endpoint] = []
    private var connections: [ObjectIdentifier: Connection] = [:]
    private var inFlight = 0
    private var pausedForLimit: [Connection] = []
    /// Requests read while `MaxDispatches` were in progress, in arrival order: each starts when
    /// a dispatch finishes, so no more than `MaxDispatches` ever run.
    private var waitingForLimit = CircularBuffer<(request: IncomingRequest, inOrder: Bool)>()
    private var deactivated = Future<Void>()
    /// Callers of `waitForHold` waiting for the adapter to hold with no dispatch in progress.
    private var holdWaiters: [Future<Void>] = []
    private var published: [Endpoint] = []

    init(name: String, communicator: Communicator, endpoints: [Endpoint], published: [Endpoint]?, settings: RuntimeSettings) throws {
        self.name = name
        self.communicator = communicator
        self.settings = settings
        var logger = communicator.logger
        logger[metadataKey: "adapter"] = "\(name)"
        self.logger = logger
        self.maxDispatches = max(0, communicator.properties.getPropertyAsIntWithDefault("\(name).MaxDispatches", 0))
        for e in endpoints {
            let acceptor = try TCPAcceptor.bind(endpoint: e, adapter: self, group: communicator.eventLoopGroup, settings: settings, pool: communicator.framePool)
            acceptors.append(acceptor)
        }
        self.boundEndpoints = acceptors.map { $0.endpoint }
        self.published = published ?? boundEndpoints
        logger.debug("object adapter listening", metadata: ["endpoints": "\(acceptors.map { $0.endpoint })"])
    }

    // MARK: Endpoints and proxies

    /// The endpoints the adapter listens on (or listened on, once deactivated), with the real
    /// ports; empty once destroyed.
    public var endpoints: [Endpoint] { lock.withLock { boundEndpoints } }

    /// The endpoints put in the proxies this adapter creates (`<name>.PublishedEndpoints`).
    public var publishedEndpoints: [Endpoint] { lock.withLock { published } }

    /// A proxy for `identity` with this adapter's published endpoints.
    public func createProxy(_ identity: Identity) -> ObjectProxy {
        ObjectProxy(_reference: Reference(
            communicator: communicator,
            descriptor: ProxyDescriptor(identity: identity, endpoints: publishedEndpoints)))
    }

    // MARK: Servants

    /// Registers `servant` for `identity` (and `facet`); throws `AlreadyRegisteredException`.
    @discardableResult
    public func add(_ servant: any Servant, identity: Identity, facet: String = "") throws -> ObjectProxy {
        try lock.withLock {
            if servants[identity]?[facet] != nil {
                throw AlreadyRegisteredException("a servant is already registered for '\(identity.name)' facet '\(facet)'")
            }
            servants[identity, default: [:]][facet] = servant
        }
        return createProxy(identity)
    }

    /// Registers a servant for every identity of `category` that has no servant of its own
    /// (`""` = any category).
    public func addDefaultServant(_ servant: any Servant, category: String) throws {
        try lock.withLock {
            if defaultServants[category] != nil {
                throw AlreadyRegisteredException("a default servant is already registered for category '\(category)'")
            }
            defaultServants[category] = servant
        }
    }

    /// Removes and returns the servant for `identity`/`facet`.
    @discardableResult
    public func remove(_ identity: Identity, facet: String = "") -> (any Servant)? {
        lock.withLock {
            let s = servants[identity]?.removeValue(forKey: facet)
            if servants[identity]?.isEmpty == true { servants[identity] = nil }
            return s
        }
    }

    public func find(_ identity: Identity, facet: String = "") -> (any Servant)? {
        lock.withLock { servants[identity]?[facet] }
    }

    // MARK: Life cycle

    /// Starts accepting connections and dispatching requests.
    public func activate() {
        let acc: [TCPAcceptor] = lock.withLock {
            guard state == .holding else { return [] }
            state = .active
            for c in connections.values { c.resumeReading(.held) }
            return acceptors
        }
        for a in acc { a.setAccepting(true) }
    }

    /// Stops accepting connections and reading requests; requests already read are dispatched.
    public func hold() {
        let acc: [TCPAcceptor] = lock.withLock {
            guard state == .active else { return [] }
            state = .holding
            for c in connections.values { c.pauseReading(.held) }
            return acceptors
        }
        for a in acc { a.setAccepting(false) }
        notifyHoldWaiters()
    }

    /// Blocks until the adapter holds (or is deactivated) and every dispatch in progress has
    /// replied, as Ice's `waitForHold` does: called on an active adapter, it waits for `hold()`.
    public func waitForHold() {
        let waiter: Future<Void>? = lock.withLock {
            if isHeldAndIdle { return nil }
            let f = Future<Void>()
            holdWaiters.append(f)
            return f
        }
        _ = try? waiter?.result()
    }

    /// Not dispatching and not about to: held or deactivated, nothing in progress or waiting.
    /// Called with `lock` held.
    private var isHeldAndIdle: Bool {
        state != .active && inFlight == 0 && waitingForLimit.isEmpty
    }

    private func notifyHoldWaiters() {
        for f in lock.withLock({ takeReadyHoldWaiters() }) { f.setResult(()) }
    }

    /// The `waitForHold` callers to release now (all of them once held and idle, else none).
    /// Called with `lock` held.
    private func takeReadyHoldWaiters() -> [Future<Void>] {
        guard isHeldAndIdle else { return [] }
        defer { holdWaiters = [] }
        return holdWaiters
    }

    /// Stops accepting, lets dispatches in progress reply, and closes its connections gracefully.
    public func deactivate() {
        let (acc, conns): ([TCPAcceptor], [Connection]) = lock.withLock {
            guard state != .deactivated else { return ([], []) }
            state = .deactivated
            defer { acceptors = [] }
            for c in connections.values { c.resumeReading(.held) }
            return (acceptors, Array(connections.values))
        }
        for a in acc { a.close() }
        for c in conns { c.close(.gracefullyWithWait) }
        checkDeactivated()
        notifyHoldWaiters()
    }

    /// Blocks until the adapter is deactivated and all its connections are closed.
    public func waitForDeactivate() { _ = try? deactivated.result() }

    public var isDeactivated: Bool { lock.withLock { state == .deactivated } }

    /// Deactivates and waits, then forgets the adapter.
    public func destroy() {
        deactivate()
        _ = try? deactivated.result(timeout: .seconds(30))
        lock.withLock { boundEndpoints = [] }
        communicator.adapterDestroyed(self)
    }

    private func checkDeactivated() {
        let done = lock.withLock { state == .deactivated && connections.isEmpty }
        if done { deactivated.setResult(()) }
    }

    // MARK: Connections

    /// Makes the connection for a newly accepted socket (called by the acceptor).
    func makeConnection(endpoint: Endpoint) -> Connection? {
        lock.withLock {
            guard state != .deactivated else { return nil }
            let c = Connection(role: .server, endpoint: endpoint, adapter: self, settings: settings, logger: logger)
            c.owner = self
            if state == .holding { c.pauseReading(.held) }
            connections[ObjectIdentifier(c)] = c
            return c
        }
    }

    func connectionClosed(_ connection: Connection) {
        lock.withLock {
            connections[ObjectIdentifier(connection)] = nil
            pausedForLimit.removeAll { $0 === connection }
        }
        checkDeactivated()
    }

    // MARK: Dispatch

    /// Dispatches a request on the server thread pool (or, for operations that never block, on
    /// the calling I/O thread). At most `MaxDispatches` run at once: at the limit the request's
    /// connection stops reading, and requests already read wait their turn. `inOrder` requests
    /// (those of a batch) run one at a time in the order received, as Ice dispatches a batch.
    func dispatch(_ request: IncomingRequest, inOrder: Bool = false) {
        guard let connection = request.current.connection else { return }
        let admitted: Bool = lock.withLock {
            guard maxDispatches > 0 else {
                inFlight += 1
                return true
            }
            let admitted = inFlight < maxDispatches
            if admitted {
                inFlight += 1
            } else {
                waitingForLimit.append((request, inOrder))
            }
            // Paused under the lock: a dispatch finishing on another thread resumes the
            // connection only after this pause, never before it (which would leave it paused).
            if inFlight >= maxDispatches, !pausedForLimit.contains(where: { $0 === connection }) {
                pausedForLimit.append(connection)
                connection.pauseReading(.dispatchLimit)
            }
            return admitted
        }
        if admitted { start(request, inOrder: inOrder, on: connection, inlineAllowed: true) }
    }

    /// `inlineAllowed`: false when called as another dispatch finishes (running the request
    /// there could nest dispatches without bound).
    private func start(_ request: IncomingRequest, inOrder: Bool, on connection: Connection, inlineAllowed: Bool) {
        if settings.serializeDispatch || inOrder {
            // Ice.ThreadPool.Server.Serialize: one dispatch at a time per connection, in order.
            let start: Bool = connection.lock.withLock {
                connection.serialQueue.append(request)
                if connection.serialRunning { return false }
                connection.serialRunning = true
                return true
            }
            if start {
                communicator.serverThreadPool.submit { _ in self.drainSerialQueue(of: connection) }
            }
        } else {
            let servant = locate(request.current)
            if inlineAllowed, let servant, servant.dispatchesInline(request.current.operation) {
                // Operations that never block run on the thread that has them: no thread hop.
                run(request, servant: servant, on: connection)
            } else {
                communicator.serverThreadPool.submit { _ in self.run(request, servant: servant, on: connection) }
            }
        }
    }

    private func drainSerialQueue(of connection: Connection) {
        while let next: IncomingRequest = connection.lock.withLock({
            if connection.serialQueue.isEmpty {
                connection.serialRunning = false
                return nil
            }
            return connection.serialQueue.removeFirst()
        }) {
            run(next, servant: locate(next.current), on: connection)
        }
    }

    private func run(_ request: IncomingRequest, servant: (any Servant)?, on connection: Connection) {
        switch dispatchNow(request, servant: servant) {
        case .response(let r):
            connection.sendResponse(r, for: request)
        case .future(let f):
            f.addDoneCallback { f in
                if let r = try? f.result() { connection.sendResponse(r, for: request) }
            }
        }
    }

    /// A dispatch replied: start the next waiting request, or resume the connections paused by
    /// `MaxDispatches` once below it.
    func dispatchFinished() {
        let (next, held): ((request: IncomingRequest, inOrder: Bool)?, [Future<Void>]) = lock.withLock {
            if let next = waitingForLimit.popFirst() {
                return (next, [])  // its slot is this one's: inFlight is unchanged
            }
            inFlight -= 1
            if maxDispatches == 0 || inFlight < maxDispatches {
                for c in pausedForLimit { c.resumeReading(.dispatchLimit) }
                pausedForLimit = []
            }
            return (nil, takeReadyHoldWaiters())
        }
        if let next {
            if let connection = next.request.current.connection {
                start(next.request, inOrder: next.inOrder, on: connection, inlineAllowed: false)
            } else {
                dispatchFinished()  // nothing to run: give its slot back
            }
        }
        for f in held { f.setResult(()) }
    }

    /// The servant for the request's identity and facet, or the default servant of its category.
    private func locate(_ current: Current) -> (any Servant)? {
        lock.withLock {
            if let s = servants[current.id]?[current.facet] { return s }
            guard current.facet.isEmpty else { return nil }
            return defaultServants[current.id.category] ?? defaultServants[""]
        }
    }

    /// Runs the operation on `servant` (found by `locate`) on the calling thread.
    func dispatchNow(_ request: IncomingRequest, servant: (any Servant)?) -> DispatchResult {
        let current = request.current
        guard let servant else {
            let identityKnown = lock.withLock { servants[current.id] != nil }
            let error: RequestFailedException = identityKnown
                ? FacetNotExistException(id: current.id, facet: current.facet, operation: current.operation)
                : ObjectNotExistException(id: current.id, facet: current.facet, operation: current.operation)
            return .response(OutgoingResponse(error: error, current: current))
        }
        if let builtin = servant.dispatchBuiltin(request) { return builtin }
        if let result = servant.dispatch(request) { return result }
        return .response(OutgoingResponse(
            error: OperationNotExistException(id: current.id, facet: current.facet, operation: current.operation),
            current: current))
    }
}
