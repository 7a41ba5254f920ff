import NIOCore
import NIOEmbedded
import XCTest

@testable import Ice

/// The frame decoder's buffering: one copy per message at most, none for the part of a large
/// message read straight into its buffer; large buffers reused only once released.
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

        // Once released, the first buffer is lent again (a message of the same size lands at the
        // same place in it).
        frame1 = nil
        let third = message(id: 3, count: 200_000, fill: 0xC3)
        try feed(channel, third, in: 100_000)
        let frame3 = try channel.readInbound(as: IceFrame.self)
        XCTAssertEqual(frame3.map { Array($0.bytes.readableBytesView) }, third)
        XCTAssertEqual(frame3.flatMap { baseAddress($0.bytes) }, firstStorage)
        XCTAssertEqual(pool.count, 2)
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testLargeMessageEndsOnACacheLine() throws {
        let channel = EmbeddedChannel(handler: IceFrameDecoder(messageSizeMax: 1 << 20, pool: ByteBufferPool()))
        for (id, count) in [(1, 100_000), (2, 100_001), (3, 100_037)] {
            let bytes = message(id: Int32(id), count: count, fill: 0x5A)
            try feed(channel, bytes, in: 65_536)
            let frame = try XCTUnwrap(try channel.readInbound(as: IceFrame.self))
            XCTAssertEqual(Array(frame.bytes.readableBytesView), bytes)
            let end = try XCTUnwrap(frame.bytes.withUnsafeReadableBytes { bytes in bytes.baseAddress.map { $0 + bytes.count } })
            XCTAssertEqual(UInt(bitPattern: end) % UInt(CacheLine.size), 0, "message \(id)")
        }
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

    // MARK: - Reading into the message's own buffer

    /// Does what NIO's read does with the channel's allocator: takes a buffer from it, fills its
    /// free space with up to `count` more bytes of `stream` and passes it down the pipeline.
    /// Returns the capacity and storage address of the buffer read into.
    @discardableResult
    private func socketRead(
        _ channel: EmbeddedChannel, _ allocator: FrameRecvAllocator, from stream: inout ArraySlice<UInt8>, count: Int = .max
    ) throws -> (capacity: Int, readable: Int, storage: UnsafeRawPointer?) {
        var buffer = allocator.buffer(allocator: channel.allocator)
        let found = (buffer.capacity, buffer.readableBytes, baseAddress(buffer))
        let n = min(count, buffer.writableBytes, stream.count)
        buffer.writeBytes(stream.prefix(n))
        stream = stream.dropFirst(n)
        try channel.writeInbound(buffer)
        return found
    }

    func testRestOfLargeMessageIsReadIntoItsOwnBuffer() throws {
        let decoder = IceFrameDecoder(messageSizeMax: 1 << 20, pool: ByteBufferPool())
        let allocator = decoder.recvAllocator
        let channel = EmbeddedChannel(handler: decoder)
        let large = message(id: 1, count: 300_000, fill: 0xA1)
        let small = message(id: 2, count: 10, fill: 0xB2)
        var stream = ArraySlice(large + small)

        // The first read lands in the read buffer: the header and the start of the body.
        let first = try socketRead(channel, allocator, from: &stream)
        XCTAssertEqual(first.capacity, FrameReadBuffers.readBufferSize)
        XCTAssertNil(try channel.readInbound(as: IceFrame.self))

        // Then the socket reads into the message's buffer, which ends where the message does.
        let second = try socketRead(channel, allocator, from: &stream, count: 100_000)
        XCTAssertEqual(second.capacity, large.count)
        XCTAssertEqual(second.readable, FrameReadBuffers.readBufferSize)
        let third = try socketRead(channel, allocator, from: &stream)
        XCTAssertEqual(third.capacity, large.count)
        XCTAssertEqual(third.readable, FrameReadBuffers.readBufferSize + 100_000)
        XCTAssertEqual(third.storage, second.storage)
        XCTAssertEqual(stream.count, small.count, "the read stopped at the message's end")

        let frame = try channel.readInbound(as: IceFrame.self)
        XCTAssertTrue(frame?.bytes.readableBytesView.elementsEqual(large) == true)
        XCTAssertEqual(frame.flatMap { baseAddress($0.bytes) }, second.storage, "delivered without a copy")

        // What follows goes through the read buffer again.
        let fourth = try socketRead(channel, allocator, from: &stream)
        XCTAssertEqual(fourth.capacity, FrameReadBuffers.readBufferSize)
        XCTAssertEqual(fourth.storage, first.storage, "the read buffer is reused")
        XCTAssertEqual(try channel.readInbound(as: IceFrame.self).map { Array($0.bytes.readableBytesView) }, small)
        XCTAssertTrue(try channel.finish().isClean)
    }

    #if os(Linux)
    /// While the rest of a large message is awaited, the socket's receive low-water mark asks
    /// for all of it (at most 1 MiB), so the next readable event comes when a read can take it
    /// whole; once the message is complete it goes back to 1.
    func testReadWaitsForTheRestOfALargeMessage() throws {
        let decoder = IceFrameDecoder(messageSizeMax: 4 << 20, pool: ByteBufferPool())
        let allocator = decoder.recvAllocator
        let channel = EmbeddedChannel(handler: decoder)
        try channel.syncOptions!.setOption(IceFrameDecoder.receiveLowWaterMarkOption, value: 1)  // the socket's default
        func lowWaterMark() throws -> SocketOptionValue {
            try channel.syncOptions!.getOption(IceFrameDecoder.receiveLowWaterMarkOption)
        }
        let large = message(id: 1, count: 2_500_000, fill: 0xC3)
        let small = message(id: 2, count: 10, fill: 0xD4)
        var stream = ArraySlice(large + small)

        try socketRead(channel, allocator, from: &stream)
        XCTAssertEqual(try lowWaterMark(), 1 << 20, "more than 1 MiB missing: wait for 1 MiB")
        try socketRead(channel, allocator, from: &stream, count: 2_000_000)
        let missing = large.count - FrameReadBuffers.readBufferSize - 2_000_000
        XCTAssertEqual(try lowWaterMark(), SocketOptionValue(missing), "wait for exactly the rest")
        try socketRead(channel, allocator, from: &stream, count: missing)
        XCTAssertEqual(try channel.readInbound(as: IceFrame.self)?.bytes.readableBytes, large.count)
        XCTAssertEqual(try lowWaterMark(), 1, "between messages any byte is worth a read")

        // A large message whose rest is short is finished through the read buffer, as data comes.
        let nearlyWhole = message(id: 3, count: FrameReadBuffers.readBufferSize + 1000, fill: 0xE5)
        stream += nearlyWhole
        try socketRead(channel, allocator, from: &stream)
        XCTAssertEqual(try channel.readInbound(as: IceFrame.self).map { Array($0.bytes.readableBytesView) }, small)
        XCTAssertEqual(try lowWaterMark(), 1)
        try socketRead(channel, allocator, from: &stream)
        XCTAssertEqual(try channel.readInbound(as: IceFrame.self)?.bytes.readableBytes, nearlyWhole.count)
        XCTAssertTrue(try channel.finish().isClean)
    }
    #endif

    func testShortRestOfMessageGoesThroughTheReadBuffer() throws {
        let decoder = IceFrameDecoder(messageSizeMax: 1 << 20, pool: ByteBufferPool())
        let allocator = decoder.recvAllocator
        let channel = EmbeddedChannel(handler: decoder)
        let large = message(id: 1, count: FrameReadBuffers.readBufferSize + FrameReadBuffers.minimumDirectRead / 2, fill: 0xC3)
        var stream = ArraySlice(large)

        try socketRead(channel, allocator, from: &stream)
        let rest = try socketRead(channel, allocator, from: &stream)
        XCTAssertEqual(rest.capacity, FrameReadBuffers.readBufferSize, "too little left to lend the message's buffer")
        XCTAssertTrue(try channel.readInbound(as: IceFrame.self)?.bytes.readableBytesView.elementsEqual(large) == true)
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testLentBufferThatNeverComesBackFailsTheConnection() throws {
        let decoder = IceFrameDecoder(messageSizeMax: 1 << 20, pool: ByteBufferPool())
        let allocator = decoder.recvAllocator
        let channel = EmbeddedChannel(handler: decoder)
        var stream = ArraySlice(message(id: 1, count: 300_000, fill: 0xD4))

        try socketRead(channel, allocator, from: &stream)
        // NIO drops the buffer of a read that found nothing; the message's bytes so far go with it.
        let lent = allocator.buffer(allocator: channel.allocator)
        XCTAssertEqual(lent.capacity, stream.count + FrameReadBuffers.readBufferSize)
        XCTAssertThrowsError(try socketRead(channel, allocator, from: &stream)) {
            XCTAssertTrue($0 is SocketException, "\($0)")
        }
        XCTAssertNil(try channel.readInbound(as: IceFrame.self))
        _ = try? channel.finish()
    }
}
