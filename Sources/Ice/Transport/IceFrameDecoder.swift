import NIOCore

/// One complete Ice message as received: its validated header and all its bytes.
struct IceFrame: Sendable {
    var header: MessageHeader
    var bytes: ByteBuffer
}

/// Frames the inbound byte stream into Ice messages.
///
/// Each header is validated (magic, versions, size, `Ice.MessageSizeMax`) before any of its body
/// is buffered, and a message's bytes are copied exactly once: from the socket's read buffer,
/// which NIO then reuses for the next read, into a buffer of the message's size, taken from the
/// `ByteBufferPool` when the message is large. A header error is fired as an error and
/// everything after it is ignored (the connection is closed by the next handler).
final class IceFrameDecoder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = IceFrame

    /// A declared size is never trusted with more than this much memory before its bytes arrive
    /// (only reachable with `Ice.MessageSizeMax=0`); the buffer grows as they do.
    static let maxUpfrontAllocation = 16 << 20

    private let messageSizeMax: Int
    private let pool: ByteBufferPool
    /// The first bytes of a header split across reads.
    private var headerBytes: ByteBuffer?
    /// The message being assembled.
    private var partial: IceFrame?
    private var failed = false

    init(messageSizeMax: Int, pool: ByteBufferPool) {
        self.messageSizeMax = messageSizeMax
        self.pool = pool
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        var input = unwrapInboundIn(data)
        do {
            while true {
                if partial == nil {
                    guard var header = readHeader(from: &input) else { break }
                    let parsed = try MessageHeader.parse(header, messageSizeMax: messageSizeMax)
                    let capacity = min(Int(parsed.messageSize), Self.maxUpfrontAllocation)
                    var bytes = pool.take(capacity: capacity, allocator: context.channel.allocator)
                    bytes.writeBuffer(&header)
                    partial = IceFrame(header: parsed, bytes: bytes)
                }
                guard var frame = partial.take() else { break }
                let missing = Int(frame.header.messageSize) - frame.bytes.readableBytes
                if missing > 0, var piece = input.readSlice(length: min(missing, input.readableBytes)) {
                    frame.bytes.writeBuffer(&piece)
                }
                guard frame.bytes.readableBytes == Int(frame.header.messageSize) else {
                    partial = frame  // the input is used up
                    break
                }
                pool.recycle(frame.bytes)
                context.fireChannelRead(wrapInboundOut(frame))
            }
        } catch {
            failed = true
            partial = nil
            headerBytes = nil
            context.fireErrorCaught(error)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let frame = partial.take() { pool.recycle(frame.bytes) }
        headerBytes = nil
        context.fireChannelInactive()
    }

    /// The next 14 header bytes, or nil once `input` is used up short of them (kept for later).
    private func readHeader(from input: inout ByteBuffer) -> ByteBuffer? {
        guard input.readableBytes > 0 else { return nil }
        if headerBytes == nil, let header = input.readSlice(length: MessageHeader.size) {
            return header
        }
        var collected = headerBytes.take() ?? ByteBuffer()
        if var piece = input.readSlice(length: min(MessageHeader.size - collected.readableBytes, input.readableBytes)) {
            collected.writeBuffer(&piece)
        }
        if collected.readableBytes == MessageHeader.size { return collected }
        headerBytes = collected
        return nil
    }
}
