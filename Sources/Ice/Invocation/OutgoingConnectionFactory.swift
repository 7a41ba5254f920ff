import NIOConcurrencyHelpers
import NIOCore

/// Keeps one client connection per endpoint (and connection id), shared by every proxy.
final class OutgoingConnectionFactory: ConnectionOwner, @unchecked Sendable {
    struct Key: Hashable {
        var host: String
        var port: Int
        var type: Int16
        var connectionId: String
    }

    private let lock = NIOLock()
    private var connections: [Key: Connection] = [:]
    private var destroyed = false
    private unowned let communicator: Communicator

    init(communicator: Communicator) {
        self.communicator = communicator
    }

    /// The shared connection to `endpoint`, created (and connected in the background) if there is
    /// none usable; requests sent before it is validated wait in its queue.
    func connection(to endpoint: Endpoint, connectionId: String) throws -> Connection {
        let key = Key(host: endpoint.host, port: endpoint.port, type: endpoint.type, connectionId: connectionId)
        let (connection, isNew): (Connection, Bool) = try lock.withLock {
            if destroyed { throw CommunicatorDestroyedException("the communicator was destroyed") }
            if let c = connections[key], c.isUsable { return (c, false) }
            let c = Connection(
                role: .client, endpoint: endpoint, connectionId: connectionId, adapter: nil,
                settings: communicator.settings, logger: communicator.logger)
            c.owner = self
            connections[key] = c
            return (c, true)
        }
        if isNew {
            TCPConnector.connect(connection, group: communicator.eventLoopGroup, settings: communicator.settings, pool: communicator.framePool)
        }
        return connection
    }

    func connectionClosed(_ connection: Connection) {
        lock.withLock {
            if let key = connections.first(where: { $0.value === connection })?.key {
                connections[key] = nil
            }
        }
    }

    var all: [Connection] { lock.withLock { Array(connections.values) } }

    /// Closes every connection; pending invocations fail with `CommunicatorDestroyedException`.
    func destroy() -> [Future<Void>] {
        let conns: [Connection] = lock.withLock {
            destroyed = true
            defer { connections = [:] }
            return Array(connections.values)
        }
        return conns.map { c in
            c.fail(with: CommunicatorDestroyedException("the communicator was destroyed"))
            return c.close(.gracefully)
        }
    }
}

extension Connection {
    /// Whether new requests may still be sent on this connection.
    var isUsable: Bool {
        lock.withLock { (state == .validating || state == .active) && !gracefulCloseRequested }
    }

    /// Fails every outstanding and queued request with `error` (communicator destruction).
    func fail(with error: any Error) {
        let (handlers, queued): ([any ReplyHandler], [OutgoingMessage]) = lock.withLock {
            closeError = error
            defer {
                pending.removeAll()
                waiting.removeAll()
                bytesWaiting = 0
            }
            return (Array(pending.values), Array(waiting))
        }
        for h in handlers { h.handleConnectionFailure(error, sent: true) }
        for m in queued {
            if let h = m.replyHandler { h.handleConnectionFailure(error, sent: false) } else { m.onFailedUnsent?(error) }
        }
    }
}
