import NIOCore
import NIOPosix

/// Sets up a connected channel for `connection`: frames its bytes into messages, reading the
/// rest of each large message straight into that message's buffer.
private func addIceHandlers(to channel: any Channel, connection: Connection, messageSizeMax: Int, pool: ByteBufferPool) throws {
    let decoder = IceFrameDecoder(messageSizeMax: messageSizeMax, pool: pool)
    if let options = channel.syncOptions {
        try options.setOption(ChannelOptions.maxMessagesPerRead, value: 1)
        try options.setOption(ChannelOptions.recvAllocator, value: decoder.recvAllocator)
    }
    try channel.pipeline.syncOperations.addHandler(decoder)
    try channel.pipeline.syncOperations.addHandler(IceChannelHandler(connection: connection))
}

/// Listens on a TCP endpoint for an object adapter.
final class TCPAcceptor: @unchecked Sendable {
    let channel: any Channel
    /// The bound endpoint, with the real port.
    let endpoint: Endpoint

    private init(channel: any Channel, endpoint: Endpoint) {
        self.channel = channel
        self.endpoint = endpoint
    }

    static func bind(
        endpoint: Endpoint, adapter: ObjectAdapter, group: any EventLoopGroup, settings: RuntimeSettings, pool: ByteBufferPool
    ) throws -> TCPAcceptor {
        guard case .tcp = endpoint.transport else {
            throw FeatureNotSupportedException("only tcp endpoints are supported (got \(endpoint))")
        }
        let host = endpoint.host.isEmpty || endpoint.host == "*" ? "0.0.0.0" : endpoint.host
        var bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 511)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(ChannelOptions.autoRead, value: false)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
        if let s = settings.socketSendBufferSize {
            bootstrap = bootstrap.childChannelOption(ChannelOptions.socketOption(.so_sndbuf), value: SocketOptionValue(s))
        }
        if let r = settings.socketReceiveBufferSize {
            bootstrap = bootstrap.childChannelOption(ChannelOptions.socketOption(.so_rcvbuf), value: SocketOptionValue(r))
        }
        let messageSizeMax = settings.messageSizeMax
        let boundEndpoint = endpoint
        bootstrap = bootstrap.childChannelInitializer { channel in
            guard let connection = adapter.makeConnection(endpoint: boundEndpoint) else {
                return channel.close()
            }
            return channel.eventLoop.makeCompletedFuture {
                try addIceHandlers(to: channel, connection: connection, messageSizeMax: messageSizeMax, pool: pool)
            }
        }
        let channel: any Channel
        do {
            channel = try bootstrap.bind(host: host, port: endpoint.port).wait()
        } catch {
            throw SocketException("cannot listen on \(host):\(endpoint.port): \(error)")
        }
        var bound = endpoint
        bound.port = channel.localAddress?.port ?? endpoint.port
        if endpoint.host.isEmpty || endpoint.host == "*" { bound.host = host }
        return TCPAcceptor(channel: channel, endpoint: bound)
    }

    func setAccepting(_ on: Bool) {
        channel.setOption(ChannelOptions.autoRead, value: on).whenFailure { _ in }
    }

    func close() {
        channel.close(promise: nil)
    }
}

/// Opens client connections.
enum TCPConnector {
    /// Connects `connection` to its endpoint; failures and the connect timeout (connect plus
    /// validation) are reported to the connection.
    static func connect(_ connection: Connection, group: any EventLoopGroup, settings: RuntimeSettings, pool: ByteBufferPool) {
        let endpoint = connection.endpoint
        guard case .tcp = endpoint.transport else {
            connection.transportClosed(FeatureNotSupportedException("only tcp endpoints are supported (got \(endpoint))"))
            return
        }
        let timeoutMs = endpoint.timeout > 0 ? Int64(endpoint.timeout) : Int64(settings.defaultTimeout)
        let messageSizeMax = settings.messageSizeMax
        var bootstrap = ClientBootstrap(group: group)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.milliseconds(timeoutMs))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try addIceHandlers(to: channel, connection: connection, messageSizeMax: messageSizeMax, pool: pool)
                }
            }
        if let s = settings.socketSendBufferSize {
            bootstrap = bootstrap.channelOption(ChannelOptions.socketOption(.so_sndbuf), value: SocketOptionValue(s))
        }
        if let r = settings.socketReceiveBufferSize {
            bootstrap = bootstrap.channelOption(ChannelOptions.socketOption(.so_rcvbuf), value: SocketOptionValue(r))
        }
        let host = endpoint.host.isEmpty ? "127.0.0.1" : endpoint.host
        bootstrap.connect(host: host, port: endpoint.port).whenComplete { result in
            switch result {
            case .success(let channel):
                // Validation must also arrive within the connect timeout.
                channel.eventLoop.scheduleTask(in: .milliseconds(timeoutMs)) {
                    if connection.lock.withLock({ connection.state == .validating }) {
                        connection.transportClosed(ConnectTimeoutException("no ValidateConnection from \(host):\(endpoint.port) within \(timeoutMs) ms"))
                        channel.close(promise: nil)
                    }
                }
            case .failure(let error):
                connection.transportClosed(mapConnectError(error, host: host, port: endpoint.port, timeoutMs: timeoutMs))
            }
        }
    }

    static func mapConnectError(_ error: any Error, host: String, port: Int, timeoutMs: Int64) -> LocalException {
        let text = "\(error)"
        if let e = error as? ChannelError, case .connectTimeout = e {
            return ConnectTimeoutException("connecting to \(host):\(port) took longer than \(timeoutMs) ms")
        }
        if text.contains("refused") || text.contains("ECONNREFUSED") || text.contains("errno: 111") {
            return ConnectionRefusedException("connection refused by \(host):\(port): is the server running on that port?")
        }
        if text.contains("resolve") || text.contains("DNS") {
            return DNSException("cannot resolve \(host): \(error)")
        }
        return ConnectFailedException("cannot connect to \(host):\(port): \(error)")
    }
}
