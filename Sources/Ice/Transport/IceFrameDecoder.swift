import NIOCore

/// One complete Ice message as received: its validated header and all its bytes.
struct IceFrame: Sendable {
    var header: MessageHeader
    var bytes: ByteBuffer
}

/// Frames the inbound byte stream into Ice messages.
///
/// Each header is validated (magic, versions, size, `Ice.MessageSizeMax`) before any of its body
/// is buffered. A message's bytes land in a buffer of the message's size, taken from the
/// `ByteBufferPool` when the message is large: copied there from the socket's read buffer, or,
/// for the rest of a large message, read there directly (see `FrameReadBuffers`). A header
/// error is fired as an error and everything after it is ignored (the connection is closed by
/// the next handler).
final class IceFrameDecoder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = IceFrame

    /// A declared size is never trusted with more than this much memory before its bytes arrive
    /// (only reachable with `Ice.MessageSizeMax=0`); the buffer grows as they do.
    static let maxUpfrontAllocation = 16 << 20

    private let messageSizeMax: Int
    private let pool: ByteBufferPool
    /// What the socket reads into, and the message being assembled.
    private let readBuffers = FrameReadBuffers()
    /// The first bytes of a header split across reads.
    private var headerBytes: ByteBuffer?
    private var failed = false

    init(messageSizeMax: Int, pool: ByteBufferPool) {
        self.messageSizeMax = messageSizeMax
        self.pool = pool
    }

    /// The allocator the channel must read with (once per readable event) for messages to be
    /// read straight into their buffers.
    var recvAllocator: FrameRecvAllocator { FrameRecvAllocator(buffers: readBuffers) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        var input = unwrapInboundIn(data)
        do {
            try readBuffers.received(&input)
            while true {
                if readBuffers.partial == nil {
                    guard var header = readHeader(from: &input) else { break }
                    let parsed = try MessageHeader.parse(header, messageSizeMax: messageSizeMax)
                    var bytes = messageBuffer(size: Int(parsed.messageSize), allocator: context.channel.allocator)
                    bytes.writeBuffer(&header)
                    readBuffers.partial = IceFrame(header: parsed, bytes: bytes)
                }
                guard var frame = readBuffers.partial.take() else { break }
                let missing = Int(frame.header.messageSize) - frame.bytes.readableBytes
                // Only a write of some bytes: even an empty one would copy a frame NIO still references.
                if missing > 0, input.readableBytes > 0, var piece = input.readSlice(length: min(missing, input.readableBytes)) {
                    frame.bytes.writeBuffer(&piece)
                }
                guard frame.bytes.readableBytes == Int(frame.header.messageSize) else {
                    readBuffers.partial = frame  // the input is used up
                    break
                }
                pool.recycle(frame.bytes)
                context.fireChannelRead(wrapInboundOut(frame))
            }
            readBuffers.keepForReading(input)
        } catch {
            failed = true
            readBuffers.reset()
            headerBytes = nil
            context.fireErrorCaught(error)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let frame = readBuffers.partial { pool.recycle(frame.bytes) }
        readBuffers.reset()
        headerBytes = nil
        context.fireChannelInactive()
    }

    /// An empty buffer for a message of `size` bytes. When the whole message is allowed up
    /// front, the buffer's capacity is exactly `size`, so a read into it stops at the message's end.
    private func messageBuffer(size: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        let capacity = min(size, Self.maxUpfrontAllocation)
        var bytes = pool.take(capacity: capacity, allocator: allocator)
        guard capacity == size, bytes.capacity > size else { return bytes }
        bytes.moveWriterIndex(to: size)
        guard var exact = bytes.readSlice(length: size) else {
            bytes.clear()
            return bytes
        }
        exact.moveWriterIndex(to: 0)
        return exact
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
