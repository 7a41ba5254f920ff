import NIOCore

/// Batch oneway requests queued on a connection until a flush sends them as one
/// BatchRequest message (type 1: a count, then request bodies without request ids).
struct BatchQueue {
    private var bodies: [ByteBuffer] = []
    private(set) var count = 0
    private(set) var size = 0

    mutating func append(_ body: OutputStream) {
        bodies.append(contentsOf: body.segments())
        count += 1
        size += body.count
    }

    /// Takes the queued requests as a complete message, or nil if there are none.
    mutating func takeMessage(compress: Bool) -> OutgoingMessage? {
        guard count > 0 else { return nil }
        var head = OutputStream(capacity: 32)
        MessageHeader(type: .batchRequest, messageSize: Int32(clamping: MessageHeader.size + 4 + size)).write(to: &head)
        head.write(Int32(count))
        let segments = [head.contiguousBytes()] + bodies
        let message = OutgoingMessage(
            segments: segments, size: MessageHeader.size + 4 + size, replyHandler: nil, onSentLater: nil,
            onFailedUnsent: nil, compress: compress, isBatch: true)
        bodies = []
        count = 0
        size = 0
        return message
    }
}
