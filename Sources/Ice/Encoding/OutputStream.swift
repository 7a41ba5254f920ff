import NIOCore

/// Writes values in the Ice encoding (1.1 by default) into `ByteBuffer`s.
///
/// Large byte sequences are not copied: they are kept as separate segments that share storage
/// with the caller's buffer, so a message can be handed to the transport as a list of buffers
/// (gathering write). Small values go into the current segment.
public struct OutputStream: Sendable {
    /// Byte sequences at least this large are appended as their own segment instead of copied.
    public static let zeroCopyThreshold = 8 * 1024

    /// The data encoding used for encapsulations opened without an explicit version.
    public let encoding: EncodingVersion
    /// Whether user exceptions are written in the sliced format (every slice with its size).
    public var slicedFormat: Bool

    @usableFromInline var current: ByteBuffer
    @usableFromInline var finished: [ByteBuffer] = []
    @usableFromInline var finishedBytes = 0
    @usableFromInline var encapsulationStarts: [Position] = []
    @usableFromInline var sliceStart: Position?

    /// A position in the stream: a segment index and an offset in that segment.
    @usableFromInline struct Position: Sendable {
        var segment: Int
        var offset: Int
        var absolute: Int
    }

    public init(encoding: EncodingVersion = .v1_1, capacity: Int = 256, slicedFormat: Bool = false) {
        self.encoding = encoding
        self.slicedFormat = slicedFormat
        self.current = ByteBufferAllocator().buffer(capacity: capacity)
    }

    /// Total number of bytes written so far.
    @inlinable public var count: Int { finishedBytes + current.readableBytes }

    @usableFromInline var position: Position {
        Position(segment: finished.count, offset: current.writerIndex, absolute: count)
    }

    // MARK: Primitives

    @inlinable public mutating func write(_ v: UInt8) { current.writeInteger(v) }
    @inlinable public mutating func write(_ v: Bool) { current.writeInteger(v ? 1 : 0 as UInt8) }
    @inlinable public mutating func write(_ v: Int16) { current.writeInteger(v, endianness: .little) }
    @inlinable public mutating func write(_ v: Int32) { current.writeInteger(v, endianness: .little) }
    @inlinable public mutating func write(_ v: Int64) { current.writeInteger(v, endianness: .little) }
    @inlinable public mutating func write(_ v: Float) {
        current.writeInteger(v.bitPattern, endianness: .little)
    }
    @inlinable public mutating func write(_ v: Double) {
        current.writeInteger(v.bitPattern, endianness: .little)
    }

    /// Writes a size (count or length): one byte below 255, else `ff` and an int32.
    @inlinable public mutating func writeSize(_ n: Int) {
        precondition(n >= 0 && n <= Int(Int32.max), "size out of range")
        if n < 255 {
            current.writeInteger(UInt8(n))
        } else {
            current.writeInteger(UInt8(255))
            current.writeInteger(Int32(n), endianness: .little)
        }
    }

    @inlinable public mutating func write(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            writeSize(utf8.count)
            current.writeBytes(utf8)
        }
    }

    /// Writes raw bytes with no size prefix.
    @inlinable public mutating func writeRaw<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        current.writeBytes(bytes)
    }

    /// Writes raw bytes with no size prefix, sharing storage when the buffer is large.
    public mutating func writeRaw(_ bytes: ByteBuffer) {
        if bytes.readableBytes >= Self.zeroCopyThreshold {
            finishedBytes += current.readableBytes
            finished.append(current)
            finished.append(bytes)
            finishedBytes += bytes.readableBytes
            current = ByteBufferAllocator().buffer(capacity: 64)
        } else {
            var bytes = bytes
            current.writeBuffer(&bytes)
        }
    }

    /// Writes a `sequence<byte>`: a size, then the bytes (not copied when large).
    public mutating func write(bytes: ByteBuffer) {
        writeSize(bytes.readableBytes)
        writeRaw(bytes)
    }

    /// Writes a `sequence<byte>` from an array.
    public mutating func write(bytes: [UInt8]) {
        writeSize(bytes.count)
        current.writeBytes(bytes)
    }

    // MARK: Encapsulations

    /// Opens an encapsulation (size placeholder and encoding); close it with `endEncapsulation()`.
    public mutating func startEncapsulation(encoding: EncodingVersion? = nil) {
        encapsulationStarts.append(position)
        current.writeInteger(Int32(0), endianness: .little)
        let e = encoding ?? self.encoding
        current.writeInteger(e.major)
        current.writeInteger(e.minor)
    }

    /// Closes the innermost encapsulation, patching its size.
    public mutating func endEncapsulation() {
        guard let start = encapsulationStarts.popLast() else {
            preconditionFailure("endEncapsulation without startEncapsulation")
        }
        patchInt32(at: start, Int32(count - start.absolute))
    }

    /// Writes an empty encapsulation (`06000000 0101`).
    public mutating func writeEmptyEncapsulation(encoding: EncodingVersion? = nil) {
        let e = encoding ?? self.encoding
        current.writeInteger(Int32(6), endianness: .little)
        current.writeInteger(e.major)
        current.writeInteger(e.minor)
    }

    /// Copies an already encoded encapsulation (with its header) into the stream.
    public mutating func writeEncapsulation(_ encapsulation: ByteBuffer) {
        writeRaw(encapsulation)
    }

    @usableFromInline mutating func patchInt32(at p: Position, _ value: Int32) {
        if p.segment == finished.count {
            current.setInteger(value, at: p.offset, endianness: .little)
        } else {
            finished[p.segment].setInteger(value, at: p.offset, endianness: .little)
        }
    }

    // MARK: Exception slices

    /// Starts a slice of a user exception: flags, type id and (sliced format) a size placeholder.
    public mutating func startSlice(typeId: String, isLast: Bool) {
        var flags: UInt8 = isLast ? 0x20 : 0
        if slicedFormat { flags |= 0x10 }
        write(flags)
        write(typeId)
        if slicedFormat {
            sliceStart = position
            current.writeInteger(Int32(0), endianness: .little)
        }
    }

    /// Ends the current exception slice, patching its size in the sliced format.
    public mutating func endSlice() {
        if let start = sliceStart {
            patchInt32(at: start, Int32(count - start.absolute))
            sliceStart = nil
        }
    }

    // MARK: Output

    /// Patches an int32 at an absolute offset that lies in the first segment (message headers).
    public mutating func setInt32(_ value: Int32, atHeaderOffset offset: Int) {
        patchInt32(at: Position(segment: 0, offset: offset, absolute: offset), value)
    }

    /// The encoded bytes as a list of segments, in order, ready for a gathering write.
    public func segments() -> [ByteBuffer] {
        var all = finished
        if current.readableBytes > 0 || all.isEmpty { all.append(current) }
        return all.filter { $0.readableBytes > 0 || all.count == 1 }
    }

    /// The encoded bytes in a single buffer (copies when there are several segments).
    public func contiguousBytes() -> ByteBuffer {
        if finished.isEmpty { return current }
        var out = ByteBufferAllocator().buffer(capacity: count)
        for var s in finished { out.writeBuffer(&s) }
        var c = current
        out.writeBuffer(&c)
        return out
    }
}
