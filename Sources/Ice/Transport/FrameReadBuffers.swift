import NIOCore

/// The buffers a connection's socket reads into, shared by its `IceFrameDecoder` and its
/// `FrameRecvAllocator`: while a large message is partly received, the socket reads the rest
/// straight into that message's own buffer, so those bytes are copied once, by the kernel.
///
/// The decoder keeps the message being assembled here. When NIO asks for a buffer to read into
/// and that message still misses at least `minimumDirectRead` bytes, it gets the message's
/// buffer itself, which ends exactly where the message does; otherwise it gets the connection's
/// reusable read buffer, and the decoder copies what it needs out of that.
///
/// A lent buffer comes back only through `channelRead`, and NIO drops a buffer whose read found
/// nothing. The channel therefore reads once per readable event (`maxMessagesPerRead` 1): epoll
/// is level-triggered and only this loop reads the socket, so that read returns bytes, or the
/// end of the stream (the connection is over then). Should a lent buffer still go missing, the
/// next request for a buffer notices and the decoder fails the connection rather than carry on
/// with a gap in the stream.
///
/// Used on its channel's event loop only.
final class FrameReadBuffers: @unchecked Sendable {
    /// The size of the reusable read buffer (headers, small messages, the start of large ones).
    static let readBufferSize = 64 * 1024
    /// A message missing fewer bytes than this is finished through the read buffer.
    static let minimumDirectRead = 16 * 1024

    /// The message being assembled, unless its buffer is lent.
    var partial: IceFrame?
    /// The header of the message whose buffer NIO is reading into.
    private var lentHeader: MessageHeader?
    /// A lent buffer never came back.
    private var lostLentBuffer = false
    /// The read buffer, between reads.
    private var spare: ByteBuffer?

    /// The buffer for the next read.
    func nextReadBuffer(allocator: ByteBufferAllocator) -> ByteBuffer {
        if lentHeader != nil {
            lentHeader = nil
            lostLentBuffer = true
        }
        if !lostLentBuffer, awaitedBytes != nil, let frame = partial.take() {
            lentHeader = frame.header
            return frame.bytes
        }
        if var buffer = spare.take() {
            buffer.clear()
            return buffer
        }
        return allocator.buffer(capacity: Self.readBufferSize)
    }

    /// The bytes the message being assembled still misses, when the next read should wait for
    /// them (it would be lent the message's buffer); nil when any bytes are worth a read.
    var awaitedBytes: Int? {
        guard let frame = partial else { return nil }
        let missing = Int(frame.header.messageSize) - frame.bytes.readableBytes
        let lendable = missing >= Self.minimumDirectRead && frame.bytes.readerIndex == 0 && frame.bytes.writableBytes == missing
        return lendable ? missing : nil
    }

    /// Takes in a buffer NIO has read into. A lent buffer becomes the message being assembled
    /// again, with more of its bytes, and `buffer` is left empty; an ordinary read buffer is left
    /// as it is. Throws if a lent buffer never came back.
    func received(_ buffer: inout ByteBuffer) throws {
        guard !lostLentBuffer else {
            throw SocketException("a message's receive buffer was dropped by the transport; closing the connection")
        }
        guard let header = lentHeader.take() else { return }
        partial = IceFrame(header: header, bytes: buffer)
        buffer = ByteBuffer()
    }

    /// Keeps an ordinary read buffer, now used up, for the next read.
    func keepForReading(_ buffer: ByteBuffer) {
        if buffer.capacity == Self.readBufferSize { spare = buffer }
    }

    /// Forgets everything (the connection is over or failed).
    func reset() {
        partial = nil
        lentHeader = nil
        spare = nil
    }
}

/// Lets NIO read into the buffers `FrameReadBuffers` chooses.
struct FrameRecvAllocator: RecvByteBufferAllocator {
    let buffers: FrameReadBuffers

    func buffer(allocator: ByteBufferAllocator) -> ByteBuffer {
        buffers.nextReadBuffer(allocator: allocator)
    }

    /// No fixed size, and (below) always room to grow: NIO then asks `buffer(allocator:)` for
    /// every read instead of reusing a buffer it keeps itself.
    func nextBufferSize() -> Int? { nil }

    mutating func record(actualReadBytes: Int) -> Bool { true }
}
