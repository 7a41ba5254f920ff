import NIOCore

/// The kinds of protocol 1.0 messages.
public enum MessageType: UInt8, Sendable {
    case request = 0
    case batchRequest = 1
    case reply = 2
    case validateConnection = 3
    case closeConnection = 4
}

/// The 14-byte header that starts every Ice protocol 1.0 message.
public struct MessageHeader: Sendable, Equatable {
    public static let size = 14
    public static let magic: [UInt8] = [0x49, 0x63, 0x65, 0x50]  // "IceP"

    public var type: MessageType
    /// 0 uncompressed, 1 uncompressed but the sender accepts compressed replies, 2 bzip2 body.
    public var compression: UInt8
    /// Size of the whole message as sent, header included.
    public var messageSize: Int32

    public init(type: MessageType, compression: UInt8 = 0, messageSize: Int32 = Int32(MessageHeader.size)) {
        self.type = type
        self.compression = compression
        self.messageSize = messageSize
    }

    /// Validates and decodes a header from the first 14 readable bytes of `buffer` (not consumed),
    /// in the order the Ice runtime checks: magic, protocol, encoding, size, limit, then type.
    /// Throws the Ice protocol exception a malformed header deserves.
    public static func parse(_ buffer: ByteBuffer, messageSizeMax: Int) throws -> MessageHeader {
        guard let bytes = buffer.getBytes(at: buffer.readerIndex, length: size) else {
            throw IllegalMessageSizeException("truncated message header")
        }
        guard bytes[0...3].elementsEqual(magic) else {
            throw BadMagicException(
                "bad magic \(bytes[0...3].map { String($0, radix: 16) }.joined(separator: " ")): the peer does not speak the Ice protocol")
        }
        guard bytes[4] == 1, bytes[5] == 0 else {
            throw UnsupportedProtocolException("protocol \(bytes[4]).\(bytes[5]) is not supported (1.0 is)")
        }
        guard bytes[6] == 1, bytes[7] == 0 else {
            throw UnsupportedEncodingException("protocol encoding \(bytes[6]).\(bytes[7]) is not supported (1.0 is)")
        }
        let messageSize = Int32(bytes[10]) | Int32(bytes[11]) << 8 | Int32(bytes[12]) << 16 | Int32(bytes[13]) << 24
        guard messageSize >= Int32(size) else {
            throw IllegalMessageSizeException("message size \(messageSize) is smaller than the 14-byte header")
        }
        if messageSizeMax > 0, Int(messageSize) > messageSizeMax {
            throw MemoryLimitException(
                "message of \(messageSize) bytes exceeds Ice.MessageSizeMax (\(messageSizeMax) bytes); raise Ice.MessageSizeMax on this side if it is expected")
        }
        guard let type = MessageType(rawValue: bytes[8]) else {
            throw UnknownMessageException("unknown message type \(bytes[8])")
        }
        guard bytes[9] <= 2 else {
            throw ProtocolException("invalid compression status \(bytes[9])")
        }
        return MessageHeader(type: type, compression: bytes[9], messageSize: messageSize)
    }

    /// Writes the header (the size field is patched once the message is complete).
    public func write(to ostr: inout OutputStream) {
        ostr.writeRaw(Self.magic)
        ostr.writeRaw([1, 0, 1, 0, type.rawValue, compression])
        ostr.write(messageSize)
    }

    /// The fixed ValidateConnection message (also used as a heartbeat).
    public static let validateConnectionBytes: [UInt8] = [0x49, 0x63, 0x65, 0x50, 1, 0, 1, 0, 3, 0, 14, 0, 0, 0]
    /// The fixed CloseConnection message, with compression byte 1 like Ice 3.7.
    public static let closeConnectionBytes: [UInt8] = [0x49, 0x63, 0x65, 0x50, 1, 0, 1, 0, 4, 1, 14, 0, 0, 0]
}
