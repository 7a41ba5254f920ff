import NIOCore

/// The byte pipe a `Connection` runs on. The NIO implementation lives in `Transport/`; the
/// protocol logic (framing decisions, request ids, sent tracking, dispatch) does not know NIO
/// channels.
protocol MessageTransport: AnyObject, Sendable {
    /// Hands whole messages (as segments, in order) to the transport; `completion` runs on the
    /// transport's thread once the bytes were written to the socket or failed. Must not call
    /// back into the connection synchronously.
    func send(_ segments: [ByteBuffer], completion: (@Sendable (Result<Void, any Error>) -> Void)?)
    /// Stops or resumes reading from the peer (TCP backpressure).
    func setReading(_ enabled: Bool)
    /// Closes the transport at once.
    func close()
    /// Runs `body` on the transport's thread after `delay`; the returned closure cancels it.
    func schedule(after delay: TimeAmount, _ body: @escaping @Sendable () -> Void) -> @Sendable () -> Void
    /// Runs `body` on the transport's thread soon.
    func execute(_ body: @escaping @Sendable () -> Void)
    var localAddress: String { get }
    var remoteAddress: String { get }
}

/// Receives what an in-flight twoway request gets back from its connection.
protocol ReplyHandler: AnyObject, Sendable {
    /// The reply arrived: `body` is positioned after the reply status byte.
    func handleReply(status: UInt8, body: InputStream, connection: Connection)
    /// The connection failed before a reply came; `sent` says whether the request was written.
    func handleConnectionFailure(_ error: any Error, sent: Bool)
}

/// A request message waiting for, or handed to, the transport.
struct OutgoingMessage: Sendable {
    var segments: [ByteBuffer]
    var size: Int
    /// For twoway requests: receives the reply; the connection assigns the request id.
    var replyHandler: (any ReplyHandler)?
    /// Called once the message is handed to the transport after waiting in the queue.
    var onSentLater: (@Sendable () -> Void)?
    /// Called when the message fails before being handed to the transport.
    var onFailedUnsent: (@Sendable (any Error) -> Void)?
    /// Whether the proxy asked for bzip2 compression (`-z`).
    var compress: Bool
    /// Whether this is a batch message (its handler, if any, is not a twoway reply handler).
    var isBatch = false
    /// The invocation that sent it, so a cancel can take it out of the queue (oneways too).
    weak var owner: (any ReplyHandler)?
}
