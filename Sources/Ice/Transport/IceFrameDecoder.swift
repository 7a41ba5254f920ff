import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

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
/// for the rest of a large message, read there directly (see `FrameReadBuffers`). While that
/// rest is awaited, the socket's receive low-water mark asks for all of it (up to
/// `maxReceiveLowWaterMark`), so the event loop wakes once for it rather than for each segment
/// that arrives. A header error is fired as an error and everything after it is ignored (the
/// connection is closed by the next handler).
final class IceFrameDecoder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = IceFrame

    /// A declared size is never trusted with more than this much memory before its bytes arrive
    /// (only reachable with `Ice.MessageSizeMax=0`); the buffer grows as they do.
    static let maxUpfrontAllocation = 16 << 20
    /// The most bytes a read waits for (the kernel grows an unlocked receive buffer to hold them,
    /// and wakes the reader early if the buffer or the window fills first).
    static let maxReceiveLowWaterMark = 1 << 20
    #if os(Linux)
    static let receiveLowWaterMarkOption = ChannelOptions.socketOption(NIOBSDSocket.Option(rawValue: SO_RCVLOWAT))
    #endif

    private let messageSizeMax: Int
    private let pool: ByteBufferPool
    /// What the socket reads into, and the message being assembled.
    private let readBuffers = FrameReadBuffers()
    /// The first bytes of a header split across reads.
    private var headerBytes: ByteBuffer?
    private var failed = false
    /// The socket's receive low-water mark as last set: the bytes a read waits for.
    private var receiveLowWaterMark = 1
    private var lowWaterMarkUnsupported = false

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
            awaitRestOfMessage(context: context)
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

    /// Sets the socket's receive low-water mark to the bytes the message being assembled still
    /// misses (at most `maxReceiveLowWaterMark`), or back to 1 once any bytes are worth a read.
    private func awaitRestOfMessage(context: ChannelHandlerContext) {
        #if os(Linux)
        let wanted = readBuffers.awaitedBytes.map { min($0, Self.maxReceiveLowWaterMark) } ?? 1
        guard wanted != receiveLowWaterMark, !lowWaterMarkUnsupported else { return }
        do {
            try context.channel.syncOptions?.setOption(Self.receiveLowWaterMarkOption, value: SocketOptionValue(wanted))
            receiveLowWaterMark = wanted
        } catch {
            lowWaterMarkUnsupported = true  // then reads happen as data comes, as without it
            if receiveLowWaterMark > 1 {
                // The socket would go on waiting for bytes that may never come.
                context.fireErrorCaught(SocketException("cannot reset the socket's receive low-water mark: \(error)"))
            }
        }
        #endif
    }

    /// An empty buffer for a message of `size` bytes. When the whole message is allowed up
    /// front, its capacity is exactly `size`, so a read into it stops at the message's end, and
    /// it ends on a cache line: a large message commonly ends with its bulk (`send`'s byte
    /// sequence), which then starts on one too when its size is a multiple of the line.
    private func messageBuffer(size: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        guard size <= Self.maxUpfrontAllocation else {
            return pool.take(capacity: Self.maxUpfrontAllocation, allocator: allocator)
        }
        return pool.takeAligned(capacity: size, alignedOffset: size, allocator: allocator)
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
