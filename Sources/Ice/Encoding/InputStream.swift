import NIOCore

/// Reads values in the Ice encoding from a `ByteBuffer`.
///
/// Every read checks the bytes remaining and throws `UnmarshalOutOfBoundsException` instead of
/// trapping; byte sequences are returned as slices that share storage with the message.
public struct InputStream: Sendable {
    public var buffer: ByteBuffer
    /// The encoding of the innermost open encapsulation (1.1 outside any encapsulation).
    public private(set) var encoding: EncodingVersion = .v1_1

    @usableFromInline var encapsulations: [(end: Int, encoding: EncodingVersion)] = []
    var pendingSlice: SliceHeader?
    var currentSlice: SliceHeader?

    struct SliceHeader {
        var flags: UInt8
        var typeId: String
        /// Reader index at which the slice's data ends (sliced format only).
        var end: Int?
    }

    public init(_ buffer: ByteBuffer, encoding: EncodingVersion = .v1_1) {
        self.buffer = buffer
        self.encoding = encoding
    }

    public var remaining: Int { buffer.readableBytes }

    @inlinable func outOfBounds(_ what: String) -> UnmarshalOutOfBoundsException {
        UnmarshalOutOfBoundsException("cannot read \(what): only \(buffer.readableBytes) bytes left")
    }

    // MARK: Primitives

    @inlinable public mutating func read(_: UInt8.Type = UInt8.self) throws -> UInt8 {
        guard let v = buffer.readInteger(as: UInt8.self) else { throw outOfBounds("byte") }
        return v
    }
    @inlinable public mutating func read(_: Bool.Type = Bool.self) throws -> Bool {
        guard let v = buffer.readInteger(as: UInt8.self) else { throw outOfBounds("bool") }
        return v != 0
    }
    @inlinable public mutating func read(_: Int16.Type = Int16.self) throws -> Int16 {
        guard let v = buffer.readInteger(endianness: .little, as: Int16.self) else { throw outOfBounds("short") }
        return v
    }
    @inlinable public mutating func read(_: Int32.Type = Int32.self) throws -> Int32 {
        guard let v = buffer.readInteger(endianness: .little, as: Int32.self) else { throw outOfBounds("int") }
        return v
    }
    @inlinable public mutating func read(_: Int64.Type = Int64.self) throws -> Int64 {
        guard let v = buffer.readInteger(endianness: .little, as: Int64.self) else { throw outOfBounds("long") }
        return v
    }
    @inlinable public mutating func read(_: Float.Type = Float.self) throws -> Float {
        guard let v = buffer.readInteger(endianness: .little, as: UInt32.self) else { throw outOfBounds("float") }
        return Float(bitPattern: v)
    }
    @inlinable public mutating func read(_: Double.Type = Double.self) throws -> Double {
        guard let v = buffer.readInteger(endianness: .little, as: UInt64.self) else { throw outOfBounds("double") }
        return Double(bitPattern: v)
    }

    /// Reads a size (count or length); never negative.
    @inlinable public mutating func readSize() throws -> Int {
        let b = try read(UInt8.self)
        if b < 255 { return Int(b) }
        let n = try read(Int32.self)
        guard n >= 0 else { throw UnmarshalOutOfBoundsException("negative size \(n)") }
        return Int(n)
    }

    /// Reads a count of elements whose encoding takes at least `minSize` bytes each, checking
    /// that the stream can hold them before anything is allocated.
    @inlinable public mutating func readAndCheckSeqSize(minSize: Int) throws -> Int {
        let n = try readSize()
        if minSize > 0, n > buffer.readableBytes / minSize {
            throw UnmarshalOutOfBoundsException(
                "sequence of \(n) elements cannot fit in the \(buffer.readableBytes) bytes left")
        }
        return n
    }

    public mutating func read(_: String.Type = String.self) throws -> String {
        let n = try readSize()
        guard let s = buffer.readString(length: n) else { throw outOfBounds("string of \(n) bytes") }
        return s
    }

    /// Reads `count` raw bytes as a slice of the message (no copy).
    public mutating func readSlice(count: Int) throws -> ByteBuffer {
        guard count >= 0, let s = buffer.readSlice(length: count) else { throw outOfBounds("\(count) bytes") }
        return s
    }

    /// Reads a `sequence<byte>` as a slice of the message (no copy).
    public mutating func readByteSeq() throws -> ByteBuffer {
        try readSlice(count: readSize())
    }

    /// Reads a `sequence<byte>` into an array.
    public mutating func readByteArray() throws -> [UInt8] {
        let n = try readSize()
        guard let bytes = buffer.readBytes(length: n) else { throw outOfBounds("\(n) bytes") }
        return bytes
    }

    public mutating func skip(_ count: Int) throws {
        guard count >= 0, count <= buffer.readableBytes else { throw outOfBounds("\(count) bytes to skip") }
        buffer.moveReaderIndex(forwardBy: count)
    }

    // MARK: Encapsulations

    /// Opens an encapsulation and returns its encoding; reads inside it are bounded by its size.
    @discardableResult
    public mutating func startEncapsulation() throws -> EncodingVersion {
        let start = buffer.readerIndex
        let size = try read(Int32.self)
        guard size >= 6, Int(size) - 4 <= buffer.readableBytes else {
            throw UnmarshalOutOfBoundsException("encapsulation size \(size) with \(buffer.readableBytes + 4) bytes left")
        }
        let e = EncodingVersion(major: try read(UInt8.self), minor: try read(UInt8.self))
        guard e.isSupported else {
            throw UnsupportedEncodingException("encapsulation encoding \(e) is not supported (1.0 and 1.1 are)")
        }
        encapsulations.append((end: start + Int(size), encoding: encoding))
        encoding = e
        // Bound reads to the encapsulation by hiding the bytes after it.
        return e
    }

    /// Closes the innermost encapsulation: skips trailing optional values (1.1) and requires
    /// the reader to be exactly at its end.
    public mutating func endEncapsulation() throws {
        guard let top = encapsulations.popLast() else {
            throw EncapsulationException("endEncapsulation without an open encapsulation")
        }
        defer { encoding = top.encoding }
        if encoding == .v1_1 {
            while buffer.readerIndex < top.end {
                try skipOptional(until: top.end)
            }
        } else if buffer.readerIndex + 1 == top.end {
            buffer.moveReaderIndex(forwardBy: 1)  // 1.0 tolerates one trailing byte
        }
        guard buffer.readerIndex == top.end else {
            throw EncapsulationException(
                "encapsulation ends at \(top.end) but data was read up to \(buffer.readerIndex)")
        }
    }

    /// Skips a whole encapsulation and returns it (header included) as a slice.
    public mutating func readEncapsulation() throws -> ByteBuffer {
        guard let size = buffer.getInteger(at: buffer.readerIndex, endianness: .little, as: Int32.self),
            size >= 6, Int(size) <= buffer.readableBytes
        else { throw UnmarshalOutOfBoundsException("encapsulation does not fit in the \(buffer.readableBytes) bytes left") }
        return try readSlice(count: Int(size))
    }

    /// Reads an encapsulation that must be empty (no parameters).
    public mutating func readEmptyEncapsulation() throws {
        try startEncapsulation()
        try endEncapsulation()
    }

    /// Skips one optional value (tag byte + value) found where no more parameters are expected.
    mutating func skipOptional(until end: Int) throws {
        let v = try read(UInt8.self)
        if v == 0xff { return }  // end marker of optional members in a slice
        let format = v & 0x07
        if v >> 3 == 30 { _ = try readSize() }
        switch format {
        case 0: try skip(1)
        case 1: try skip(2)
        case 2: try skip(4)
        case 3: try skip(8)
        case 4: _ = try readSize()
        case 5: try skip(try readSize())
        case 6: try skip(Int(try read(Int32.self)))
        default:
            throw MarshalException("cannot skip an optional class value (format 7)")
        }
        guard buffer.readerIndex <= end else { throw EncapsulationException("optional value runs past its encapsulation") }
    }

    // MARK: Exception slices

    /// Reads the header of the next exception slice without consuming it for `startSlice()`.
    mutating func readSliceHeader() throws -> SliceHeader {
        let flags = try read(UInt8.self)
        guard flags & 0x03 == 0 else {
            throw MarshalException("exception slice flags \(flags) carry a class type id")
        }
        let typeId = try read(String.self)
        var end: Int?
        if flags & 0x10 != 0 {
            let start = buffer.readerIndex
            let size = try read(Int32.self)
            guard size >= 4, Int(size) - 4 <= buffer.readableBytes else {
                throw UnmarshalOutOfBoundsException("exception slice size \(size) is out of bounds")
            }
            end = start + Int(size)
        }
        return SliceHeader(flags: flags, typeId: typeId, end: end)
    }

    /// Begins reading the members of an exception slice (generated/mapping code calls this).
    public mutating func startSlice() throws {
        if let p = pendingSlice {
            currentSlice = p
            pendingSlice = nil
        } else {
            currentSlice = try readSliceHeader()
        }
    }

    /// Ends an exception slice: skips optional members and anything this reader does not know.
    public mutating func endSlice() throws {
        guard let s = currentSlice else { return }
        if s.flags & 0x08 != 0 {
            throw MarshalException("exception slices with indirection tables are not supported")
        }
        if let end = s.end {
            guard buffer.readerIndex <= end else { throw MarshalException("exception slice read past its end") }
            buffer.moveReaderIndex(to: end)
        } else if s.flags & 0x04 != 0 {
            while true {
                guard let marker = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else {
                    throw outOfBounds("slice end marker")
                }
                if marker == 0xff {
                    buffer.moveReaderIndex(forwardBy: 1)
                    break
                }
                try skipOptional(until: Int.max)
            }
        }
        currentSlice = nil
    }

    /// Reads a user exception: walks its slices (most-derived first) until one names a type in
    /// `knownTypes`, skipping unknown slices of the sliced format. Throws `UnknownUserException`
    /// when no slice is known.
    public mutating func readUserException(knownTypes: [UserException.Type]) throws -> UserException {
        var header = try readSliceHeader()
        let mostDerived = header.typeId
        while true {
            if let type = knownTypes.first(where: { $0.ice_staticId == header.typeId }) {
                pendingSlice = header
                let ex = type.init()
                try ex._readSlices(from: &self)
                return ex
            }
            guard let end = header.end, header.flags & 0x20 == 0 else {
                throw UnknownUserException(mostDerived)
            }
            buffer.moveReaderIndex(to: end)
            header = try readSliceHeader()
        }
    }
}
