import NIOCore
import NIOEmbedded
import XCTest

@testable import Ice

/// The frame decoder's buffering: one copy per message, large buffers reused only once released.
final class FrameDecoderTests: XCTestCase {
    /// A request message whose parameters are `count` bytes of `fill`.
    private func message(id: Int32, count: Int, fill: UInt8) -> [UInt8] {
        Wire.request(id: id, RequestHeader(identity: Identity(name: "ft"), operation: "send")) {
            $0.write(bytes: [UInt8](repeating: fill, count: count))
        }
    }

    private func feed(_ channel: EmbeddedChannel, _ bytes: [UInt8], in pieces: Int) throws {
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + pieces)
            try channel.writeInbound(ByteBuffer(bytes: bytes[offset..<end]))
            offset = end
        }
    }

    private func baseAddress(_ buffer: ByteBuffer) -> UnsafeRawPointer? {
        buffer.withUnsafeReadableBytes { $0.baseAddress.map { $0 - buffer.readerIndex } }
    }

    func testLargeMessageBufferIsReusedOnlyAfterRelease() throws {
        let pool = ByteBufferPool()
        let channel = EmbeddedChannel(handler: IceFrameDecoder(messageSizeMax: 1 << 20, pool: pool))
        let first = message(id: 1, count: 200_000, fill: 0xA1)
        let second = message(id: 2, count: 200_000, fill: 0xB2)

        try feed(channel, first, in: 65_536)
        var frame1: IceFrame? = try channel.readInbound(as: IceFrame.self)
        XCTAssertEqual(frame1.map { Array($0.bytes.readableBytesView) }, first)
        XCTAssertEqual(pool.count, 1, "a large message's buffer goes back to the pool")
        let firstStorage = frame1.flatMap { baseAddress($0.bytes) }

        // While the first message is still referenced, the second must not overwrite it.
        try feed(channel, second, in: 70_000)
        let frame2 = try channel.readInbound(as: IceFrame.self)
        XCTAssertEqual(frame2.map { Array($0.bytes.readableBytesView) }, second)
        XCTAssertEqual(frame1.map { Array($0.bytes.readableBytesView) }, first, "the first message is intact")
        XCTAssertNotEqual(frame2.flatMap { baseAddress($0.bytes) }, firstStorage)
        XCTAssertEqual(pool.count, 2)

        // Once released, the first buffer is lent again.
        frame1 = nil
        let third = message(id: 3, count: 190_000, fill: 0xC3)
        try feed(channel, third, in: 100_000)
        let frame3 = try channel.readInbound(as: IceFrame.self)
        XCTAssertEqual(frame3.map { Array($0.bytes.readableBytesView) }, third)
        XCTAssertEqual(frame3.flatMap { baseAddress($0.bytes) }, firstStorage)
        XCTAssertEqual(pool.count, 2)
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testSmallMessagesAndSplitHeadersAreNotPooled() throws {
        let pool = ByteBufferPool()
        let channel = EmbeddedChannel(handler: IceFrameDecoder(messageSizeMax: 1 << 20, pool: pool))
        let stream = MessageHeader.validateConnectionBytes + message(id: 7, count: 100, fill: 1) + MessageHeader.closeConnectionBytes
        try feed(channel, stream, in: 3)
        XCTAssertEqual(try channel.readInbound(as: IceFrame.self)?.header.type, .validateConnection)
        XCTAssertEqual(try channel.readInbound(as: IceFrame.self).map { Array($0.bytes.readableBytesView) }, message(id: 7, count: 100, fill: 1))
        XCTAssertEqual(try channel.readInbound(as: IceFrame.self)?.header.type, .closeConnection)
        XCTAssertNil(try channel.readInbound(as: IceFrame.self))
        XCTAssertEqual(pool.count, 0)
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testBadHeaderStopsDecoding() throws {
        let channel = EmbeddedChannel(handler: IceFrameDecoder(messageSizeMax: 1 << 20, pool: ByteBufferPool()))
        var bytes = message(id: 1, count: 10, fill: 0)
        bytes[0] = UInt8(ascii: "X")
        XCTAssertThrowsError(try channel.writeInbound(ByteBuffer(bytes: bytes))) {
            XCTAssertTrue($0 is BadMagicException, "\($0)")
        }
        // Whatever follows is ignored, even a valid message.
        try channel.writeInbound(ByteBuffer(bytes: message(id: 2, count: 10, fill: 0)))
        XCTAssertNil(try channel.readInbound(as: IceFrame.self))
        _ = try? channel.finish()
    }
}
