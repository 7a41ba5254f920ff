import NIOCore

/// One complete Ice message as received: its validated header and all its bytes.
struct IceFrame: Sendable {
    var header: MessageHeader
    var bytes: ByteBuffer
}

/// Frames the byte stream on the 14-byte Ice header. The header is validated (magic, versions,
/// size, `Ice.MessageSizeMax`) before any of the body is buffered, and the buffer is sized once
/// for the whole message so its bytes are copied only once.
struct IceFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = IceFrame

    let messageSizeMax: Int

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard buffer.readableBytes >= MessageHeader.size else { return .needMoreData }
        let header = try MessageHeader.parse(buffer, messageSizeMax: messageSizeMax)
        let size = Int(header.messageSize)
        guard let frame = buffer.readSlice(length: size) else {
            // Size the buffer once for the whole message, but never trust a huge declared size
            // (possible when Ice.MessageSizeMax is 0) further than the next 16 MiB.
            buffer.reserveCapacity(minimumWritableBytes: min(size - buffer.readableBytes, 16 << 20))
            return .needMoreData
        }
        context.fireChannelRead(wrapInboundOut(IceFrame(header: header, bytes: frame)))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
