import Logging
import NIOConcurrencyHelpers
import NIOCore

/// How to close a connection.
public enum ConnectionClose: Sendable {
    /// Close the socket now; outstanding requests fail with `ConnectionManuallyClosedException`.
    case forcefully
    /// Wait for this side's dispatches to reply, send CloseConnection, wait for the peer's EOF.
    case gracefully
    /// Like `gracefully`, after the outstanding invocations of this side have completed.
    case gracefullyWithWait
}

/// Counters describing a connection's outbound side.
public struct OutboundStatistics: Sendable, Equatable {
    /// Bytes handed to the transport and not yet written to the socket.
    public var bytesInTransport: Int
    /// Messages waiting in the runtime's queue because the transport was above its high-water mark.
    public var messagesWaiting: Int
    /// Bytes of the messages waiting in the runtime's queue.
    public var bytesWaiting: Int
    /// The high-water mark: a message is accepted while `bytesInTransport` is below it.
    public var highWaterMark: Int
}

/// One Ice protocol connection, shared by every proxy that reaches its endpoint.
///
/// It assigns request ids, matches replies, queues requests while the transport is above its
/// high-water mark, dispatches incoming requests to its object adapter and applies the
/// protocol's validation and close rules.
public final class Connection: @unchecked Sendable, CustomStringConvertible {
    enum Role: Sendable { case client, server }

    enum State: Equatable {
        case validating
        case active
        case closing
        case closed
    }

    let role: Role
    let settings: RuntimeSettings
    let logger: Logger
    /// The endpoint this connection reaches (client) or was accepted on (server).
    public let endpoint: Endpoint
    /// The connection id (`ice_connectionId`) it was created for.
    public let connectionId: String
    let adapter: ObjectAdapter?
    weak var owner: ConnectionOwner?

    let lock = NIOLock()
    var transport: (any MessageTransport)?
    var state: State
    var closeError: (any Error)?
    var nextRequestId: Int32 = 1
    var pending: [Int32: any ReplyHandler] = [:]
    var waiting = CircularBuffer<OutgoingMessage>()
    var bytesWaiting = 0
    var bytesInTransport = 0
    var dispatchCount = 0
    var readPausers: Set<ReadPauser> = []
    var batch = BatchQueue()
    var closeWaiters: [Future<Void>] = []
    var validated = Future<Void>()
    var gracefulCloseRequested = false
    var cancelACM: (@Sendable () -> Void)?
    /// Requests waiting for their turn when dispatches are serialized per connection.
    var serialQueue = CircularBuffer<IncomingRequest>()
    var serialRunning = false
    var lastActivity = NIODeadline.now()

    enum ReadPauser: Hashable { case held, dispatchLimit }

    init(role: Role, endpoint: Endpoint, connectionId: String = "", adapter: ObjectAdapter?, settings: RuntimeSettings, logger: Logger) {
        self.role = role
        self.endpoint = endpoint
        self.connectionId = connectionId
        self.adapter = adapter
        self.settings = settings
        self.logger = logger
        self.state = .validating
    }

    public var description: String {
        guard let t = lock.withLock({ transport }) else { return "\(endpoint) (not connected)" }
        return "local address = \(t.localAddress)\nremote address = \(t.remoteAddress)"
    }

    /// The remote address, e.g. `127.0.0.1:10000`, once connected.
    public var remoteAddress: String { lock.withLock { transport?.remoteAddress ?? "" } }

    /// The outbound counters, for monitoring and tests.
    public var outboundStatistics: OutboundStatistics {
        lock.withLock {
            OutboundStatistics(
                bytesInTransport: bytesInTransport, messagesWaiting: waiting.count,
                bytesWaiting: bytesWaiting, highWaterMark: settings.sendHighWaterMark)
        }
    }

    /// Completes once the connection is validated and usable.
    var validatedFuture: Future<Void> { validated }

    // MARK: Transport events

    /// The transport is connected. Servers send ValidateConnection at once.
    func transportActive(_ t: any MessageTransport) {
        let (startServer, paused): (Bool, Bool) = lock.withLock {
            transport = t
            if role == .server { state = .active }
            return (role == .server, !readPausers.isEmpty)
        }
        // Paused before the transport existed (a holding adapter pauses its new connections).
        if paused { applyReadPausers(to: t) }
        if startServer {
            logger.info("connection accepted", metadata: ["remote": "\(t.remoteAddress)", "local": "\(t.localAddress)"])
            t.send([ByteBuffer(bytes: MessageHeader.validateConnectionBytes)], completion: nil)
            validated.setResult(())
        }
        startACMTimer()
    }

    /// The transport failed or the peer closed it.
    func transportClosed(_ error: (any Error)?) {
        let (handlers, queued, waiters, wasActive): ([any ReplyHandler], [OutgoingMessage], [Future<Void>], Bool) = lock.withLock {
            guard state != .closed else { return ([], [], [], false) }
            let wasGraceful = state == .closing
            state = .closed
            if closeError == nil {
                closeError = error ?? (wasGraceful ? nil : ConnectionLostException("the peer closed the connection"))
            }
            let h = Array(pending.values)
            pending.removeAll()
            let q = Array(waiting)
            waiting.removeAll()
            bytesWaiting = 0
            let w = closeWaiters
            closeWaiters = []
            return (h, q, w, true)
        }
        guard wasActive else { return }
        cancelACM?()
        let failure: any Error = lock.withLock { closeError } ?? ConnectionLostException("the connection was closed")
        validated.setException(failure)
        for h in handlers { h.handleConnectionFailure(failure, sent: true) }
        for m in queued {
            if let h = m.replyHandler { h.handleConnectionFailure(failure, sent: false) } else { m.onFailedUnsent?(failure) }
        }
        for w in waiters { w.setResult(()) }
        owner?.connectionClosed(self)
        if role == .server {
            let reason = lock.withLock { closeError }.map { "\($0)" } ?? "closed gracefully"
            logger.info("connection closed", metadata: ["remote": "\(remoteAddress)", "reason": "\(reason)"])
        } else if error != nil, !(error is CloseConnectionException) {
            logger.debug("connection closed", metadata: ["endpoint": "\(endpoint)", "error": "\(failure)"])
        }
    }

    /// A fatal protocol error: log it, fail everything and close the socket.
    func protocolError(_ error: any Error) {
        logger.error("closing connection after a protocol error", metadata: ["remote": "\(remoteAddress)", "error": "\(error)"])
        lock.withLock { if closeError == nil { closeError = error } }
        let t = lock.withLock { transport }
        transportClosed(error)
        t?.close()
    }

    // MARK: Sending requests

    enum SendOutcome {
        /// Accepted by the transport on the calling path.
        case sentSynchronously
        /// Waiting in the runtime's queue; `onSentLater` runs when it is handed over.
        case queued
        case failed(any Error)
    }

    /// Sends a request (twoway when it has a reply handler, else oneway or batch flush).
    func send(_ message: OutgoingMessage) -> SendOutcome {
        var message = message
        let outcome: SendOutcome = lock.withLock {
            switch state {
            case .closed, .closing:
                return .failed(closeError ?? ConnectionLostException("the connection is closed"))
            case .validating:
                enqueueLocked(message)
                return .queued
            case .active:
                if waiting.isEmpty && bytesInTransport < settings.sendHighWaterMark {
                    writeLocked(&message)
                    return .sentSynchronously
                }
                enqueueLocked(message)
                return .queued
            }
        }
        return outcome
    }

    private func enqueueLocked(_ message: OutgoingMessage) {
        waiting.append(message)
        bytesWaiting += message.size
    }

    /// Assigns the request id, compresses if asked, and hands the message to the transport.
    private func writeLocked(_ message: inout OutgoingMessage) {
        if let handler = message.replyHandler, !message.isBatch {
            let id = nextRequestId
            nextRequestId = nextRequestId == Int32.max ? 1 : nextRequestId + 1
            pending[id] = handler
            message.segments[0].setInteger(id, at: message.segments[0].readerIndex + 14, endianness: .little)
        }
        var segments = message.segments
        if message.compress {
            segments = compressedSegments(segments, size: message.size)
        }
        let size = segments.reduce(0) { $0 + $1.readableBytes }
        bytesInTransport += size
        lastActivity = .now()
        transport?.send(segments) { [weak self] result in
            self?.written(size: size, result: result)
        }
    }

    /// bzip2-compresses a message of at least 100 bytes (compression status 2); smaller ones
    /// go out with status 1 (compression supported).
    func compressedSegments(_ segments: [ByteBuffer], size: Int) -> [ByteBuffer] {
        var flat = ByteBufferAllocator().buffer(capacity: size)
        for var s in segments { flat.writeBuffer(&s) }
        let start = flat.readerIndex
        if size >= BZip2.minimumMessageSize,
            let body = BZip2.compress(flat.getSlice(at: start + 14, length: size - 14) ?? flat, blockSize: settings.compressionLevel)
        {
            var out = ByteBufferAllocator().buffer(capacity: 18 + body.readableBytes)
            out.writeBytes(flat.getBytes(at: start, length: 9) ?? [])
            out.writeInteger(UInt8(2))
            out.writeInteger(Int32(18 + body.readableBytes), endianness: .little)
            out.writeInteger(Int32(size), endianness: .little)
            var b = body
            out.writeBuffer(&b)
            return [out]
        }
        flat.setInteger(UInt8(1), at: start + 9)
        return [flat]
    }

    /// The transport finished writing `size` bytes: drain the queue below the high-water mark.
    private func written(size: Int, result: Result<Void, any Error>) {
        let sentLater: [@Sendable () -> Void] = lock.withLock {
            bytesInTransport -= size
            guard state == .active || state == .closing else { return [] }
            return drainLocked()
        }
        for cb in sentLater { cb() }
        if case .failure(let error) = result {
            transportClosed(ConnectionLostException("write failed: \(error)"))
        }
        checkCloseProgress()
    }

    /// Hands queued messages to the transport while it is below the high-water mark; returns
    /// their sent callbacks, to run once the lock is released.
    func drainLocked() -> [@Sendable () -> Void] {
        var sentLater: [@Sendable () -> Void] = []
        while !waiting.isEmpty, bytesInTransport < settings.sendHighWaterMark {
            var m = waiting.removeFirst()
            bytesWaiting -= m.size
            writeLocked(&m)
            if let cb = m.onSentLater { sentLater.append(cb) }
        }
        return sentLater
    }

    /// Removes a request (cancel or invocation timeout): one still queued is never sent, a sent
    /// one's reply is ignored. Returns true if it had not been handed to the transport yet.
    @discardableResult
    func abandon(_ handler: any ReplyHandler) -> Bool {
        lock.withLock {
            if let i = waiting.firstIndex(where: { $0.owner === handler && $0.owner != nil }) {
                bytesWaiting -= waiting[i].size
                waiting.remove(at: i)
                return true
            }
            if let id = pending.first(where: { $0.value === handler })?.key {
                pending[id] = nil
            }
            return false
        }
    }

    // MARK: Batches

    /// Queues a batch request body; flushes the batch first when it would exceed
    /// `Ice.BatchAutoFlushSize`.
    func queueBatchRequest(_ body: OutputStream, compress: Bool) throws {
        let flushFirst: OutgoingMessage? = try lock.withLock {
            if state == .closed { throw closeError ?? ConnectionLostException("the connection is closed") }
            var toFlush: OutgoingMessage?
            if settings.batchAutoFlushSize > 0, batch.size > 0,
                batch.size + body.count > settings.batchAutoFlushSize
            {
                toFlush = batch.takeMessage(compress: compress)
            }
            batch.append(body)
            return toFlush
        }
        if let flushFirst { _ = send(flushFirst) }
    }

    /// Sends the queued batch requests as one BatchRequest message. The future completes when
    /// the message is sent (at once if the batch is empty).
    public func flushBatchRequestsAsync() -> InvocationFuture<Void> {
        let future = InvocationFuture<Void>(operation: "flushBatchRequests")
        future.setConnection(self)
        guard let message = lock.withLock({ batch.takeMessage(compress: false) }) else {
            future.setSent(true)
            future.setResult(())
            return future
        }
        var m = message
        m.onSentLater = {
            future.setSent(false)
            future.setResult(())
        }
        m.onFailedUnsent = { future.setException($0) }
        switch send(m) {
        case .sentSynchronously:
            future.setSent(true)
            future.setResult(())
        case .queued: break
        case .failed(let e): future.setException(e)
        }
        return future
    }

    // MARK: Closing

    /// Closes the connection; the future completes when the socket is closed.
    @discardableResult
    public func close(_ mode: ConnectionClose = .gracefully) -> Future<Void> {
        let done = Future<Void>()
        var alreadyClosed = false
        let t: (any MessageTransport)? = lock.withLock {
            if state == .closed {
                alreadyClosed = true
                return nil
            }
            closeWaiters.append(done)
            if mode == .forcefully {
                closeError = ConnectionManuallyClosedException("the connection was closed forcefully by the application")
                return transport
            }
            gracefulCloseRequested = true
            if mode == .gracefully {
                // Outstanding invocations of this side fail; they may be retried elsewhere.
                closeError = closeError ?? ConnectionManuallyClosedException("the connection was closed gracefully by the application")
            }
            return nil
        }
        if alreadyClosed {
            done.setResult(())
        } else if mode == .forcefully {
            transportClosed(nil)
            t?.close()
        } else if mode == .gracefully {
            let handlers: [any ReplyHandler] = lock.withLock {
                defer { pending.removeAll() }
                return Array(pending.values)
            }
            let e: any Error = lock.withLock { closeError } ?? ConnectionManuallyClosedException("closed")
            for h in handlers { h.handleConnectionFailure(e, sent: true) }
            checkCloseProgress()
        } else {
            checkCloseProgress()
        }
        return done
    }

    /// Starts the graceful close handshake once nothing is outstanding on this side.
    func checkCloseProgress() {
        let t: (any MessageTransport)? = lock.withLock {
            guard gracefulCloseRequested, state == .active, dispatchCount == 0, pending.isEmpty,
                waiting.isEmpty
            else { return nil }
            state = .closing
            return transport
        }
        guard let t else { return }
        t.send([ByteBuffer(bytes: MessageHeader.closeConnectionBytes)], completion: nil)
        // The peer closes its end on receipt; if it does not, force it after the close timeout.
        let timeout = endpoint.timeout > 0 ? Int64(endpoint.timeout) : 10_000
        _ = t.schedule(after: .milliseconds(timeout)) { [weak self, weak t] in
            guard let self, self.lock.withLock({ self.state }) != .closed else { return }
            self.lock.withLock { self.closeError = self.closeError ?? CloseTimeoutException("the peer did not close the connection") }
            self.transportClosed(nil)
            t?.close()
        }
    }

    /// Waits (without blocking) until the connection is closed.
    func closedFuture() -> Future<Void> {
        lock.withLock {
            let f = Future<Void>()
            if state == .closed { f.setResult(()) } else { closeWaiters.append(f) }
            return f
        }
    }

    // MARK: Reading backpressure

    /// Stops reading for `reason` (the adapter holds, or is at its dispatch limit); reading
    /// resumes once every reason was lifted.
    func pauseReading(_ reason: ReadPauser) {
        let t: (any MessageTransport)? = lock.withLock {
            readPausers.insert(reason).inserted && readPausers.count == 1 ? transport : nil
        }
        if let t { applyReadPausers(to: t) }
    }

    func resumeReading(_ reason: ReadPauser) {
        let t: (any MessageTransport)? = lock.withLock {
            readPausers.remove(reason) != nil && readPausers.isEmpty ? transport : nil
        }
        if let t { applyReadPausers(to: t) }
    }

    /// Makes the transport read exactly when no pauser is set, as they are when this runs on
    /// the transport's thread: pauses and resumes made on different threads cannot be applied
    /// out of order (an event loop applies its own calls at once but queues other threads').
    private func applyReadPausers(to t: any MessageTransport) {
        t.execute { [self] in
            t.setReading(lock.withLock { readPausers.isEmpty })
        }
    }

    // MARK: ACM heartbeats

    /// While dispatching, sends a heartbeat every ACM timeout / 2 (as Ice 3.7's default
    /// OnDispatch heartbeat), so peers do not close a connection that waits on a long dispatch.
    private func startACMTimer() {
        guard let t = lock.withLock({ transport }) else { return }
        let period = TimeAmount.seconds(Int64(max(1, settings.acmTimeout / 2)))
        @Sendable func arm() {
            let cancel = t.schedule(after: period) { [weak self] in
                guard let self else { return }
                let beat: Bool = self.lock.withLock {
                    guard self.state == .active else { return false }
                    return self.dispatchCount > 0
                }
                if beat { t.send([ByteBuffer(bytes: MessageHeader.validateConnectionBytes)], completion: nil) }
                if self.lock.withLock({ self.state != .closed }) { arm() }
            }
            lock.withLock { cancelACM = cancel }
        }
        arm()
    }
}

/// Who keeps a connection (the outgoing factory or an object adapter) and forgets it when closed.
protocol ConnectionOwner: AnyObject, Sendable {
    func connectionClosed(_ connection: Connection)
}
