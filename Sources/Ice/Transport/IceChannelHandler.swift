import NIOCore

/// Connects a NIO channel to a `Connection`: forwards frames, activity and failures.
final class IceChannelHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = IceFrame

    let connection: Connection
    private var failed = false

    init(connection: Connection) {
        self.connection = connection
    }

    func channelActive(context: ChannelHandlerContext) {
        connection.transportActive(NIOMessageTransport(channel: context.channel))
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let frame = unwrapInboundIn(data)
        connection.received(header: frame.header, message: frame.bytes)
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.transportClosed(nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !failed else { return }
        failed = true
        if error is LocalException {
            connection.protocolError(error)
        } else if let e = error as? ChannelError, e == .eof || e == .alreadyClosed {
            connection.transportClosed(nil)
        } else {
            connection.transportClosed(ConnectionLostException("\(error)"))
        }
        context.close(promise: nil)
    }
}

/// `MessageTransport` over a NIO channel.
final class NIOMessageTransport: MessageTransport, @unchecked Sendable {
    let channel: any Channel
    let localAddress: String
    let remoteAddress: String

    init(channel: any Channel) {
        self.channel = channel
        self.localAddress = channel.localAddress.map(Self.describe) ?? ""
        self.remoteAddress = channel.remoteAddress.map(Self.describe) ?? ""
    }

    static func describe(_ a: SocketAddress) -> String {
        "\(a.ipAddress ?? "?"):\(a.port ?? 0)"
    }

    func send(_ segments: [ByteBuffer], completion: (@Sendable (Result<Void, any Error>) -> Void)?) {
        let channel = self.channel
        channel.eventLoop.execute {
            let promise: EventLoopPromise<Void>? = completion == nil ? nil : channel.eventLoop.makePromise()
            for (i, s) in segments.enumerated() {
                channel.write(s, promise: i == segments.count - 1 ? promise : nil)
            }
            channel.flush()
            if let promise, let completion {
                promise.futureResult.whenComplete { completion($0) }
            }
        }
    }

    func setReading(_ enabled: Bool) {
        channel.setOption(ChannelOptions.autoRead, value: enabled).whenFailure { _ in }
    }

    func close() {
        channel.close(promise: nil)
    }

    func schedule(after delay: TimeAmount, _ body: @escaping @Sendable () -> Void) -> @Sendable () -> Void {
        let task = channel.eventLoop.scheduleTask(in: delay, body)
        return { task.cancel() }
    }

    func execute(_ body: @escaping @Sendable () -> Void) {
        channel.eventLoop.execute(body)
    }
}
