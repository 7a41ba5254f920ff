import NIOCore

/// A value with an Ice encoding: it can be written to an `OutputStream` and read back.
///
/// Slice builtins, sequences (`Array`), dictionaries and the runtime's structs conform; mapped
/// structs and enums conform the same way, which lets the generic helpers write sequences and
/// dictionaries of them.
public protocol IceStreamable: Sendable {
    init(from istr: inout InputStream) throws
    func write(to ostr: inout OutputStream)
    /// The smallest number of bytes one value takes on the wire (used to reject lying sizes).
    static var minWireSize: Int { get }
}

extension UInt8: IceStreamable {
    public init(from istr: inout InputStream) throws { self = try istr.read(UInt8.self) }
    public func write(to ostr: inout OutputStream) { ostr.write(self) }
    public static var minWireSize: Int { 1 }
}
extension Bool: IceStreamable {
    public init(from istr: inout InputStream) throws { self = try istr.read(Bool.self) }
    public func write(to ostr: inout OutputStream) { ostr.write(self) }
    public static var minWireSize: Int { 1 }
}
extension Int16: IceStreamable {
    public init(from istr: inout InputStream) throws { self = try istr.read(Int16.self) }
    public func write(to ostr: inout OutputStream) { ostr.write(self) }
    public static var minWireSize: Int { 2 }
}
extension Int32: IceStreamable {
    public init(from istr: inout InputStream) throws { self = try istr.read(Int32.self) }
    public func write(to ostr: inout OutputStream) { ostr.write(self) }
    public static var minWireSize: Int { 4 }
}
extension Int64: IceStreamable {
    public init(from istr: inout InputStream) throws { self = try istr.read(Int64.self) }
    public func write(to ostr: inout OutputStream) { ostr.write(self) }
    public static var minWireSize: Int { 8 }
}
extension Float: IceStreamable {
    public init(from istr: inout InputStream) throws { self = try istr.read(Float.self) }
    public func write(to ostr: inout OutputStream) { ostr.write(self) }
    public static var minWireSize: Int { 4 }
}
extension Double: IceStreamable {
    public init(from istr: inout InputStream) throws { self = try istr.read(Double.self) }
    public func write(to ostr: inout OutputStream) { ostr.write(self) }
    public static var minWireSize: Int { 8 }
}
extension String: IceStreamable {
    public init(from istr: inout InputStream) throws { self = try istr.read(String.self) }
    public func write(to ostr: inout OutputStream) { ostr.write(self) }
    public static var minWireSize: Int { 1 }
}

/// `sequence<byte>` travels as a `ByteBuffer` slice: no per-byte work in either direction.
extension ByteBuffer: IceStreamable {
    public init(from istr: inout InputStream) throws { self = try istr.readByteSeq() }
    public func write(to ostr: inout OutputStream) { ostr.write(bytes: self) }
    public static var minWireSize: Int { 1 }
}

/// Slice sequences: a size, then each element.
extension Array: IceStreamable where Element: IceStreamable {
    public init(from istr: inout InputStream) throws {
        let n = try istr.readAndCheckSeqSize(minSize: Element.minWireSize)
        self = []
        reserveCapacity(n)
        for _ in 0..<n { append(try Element(from: &istr)) }
    }
    public func write(to ostr: inout OutputStream) {
        ostr.writeSize(count)
        for e in self { e.write(to: &ostr) }
    }
    public static var minWireSize: Int { 1 }
}

/// Slice dictionaries: a size, then key, value pairs (any order is valid on the wire).
extension Dictionary: IceStreamable where Key: IceStreamable, Value: IceStreamable {
    public init(from istr: inout InputStream) throws {
        let n = try istr.readAndCheckSeqSize(minSize: Key.minWireSize + Value.minWireSize)
        self = [:]
        reserveCapacity(n)
        for _ in 0..<n {
            let k = try Key(from: &istr)
            self[k] = try Value(from: &istr)
        }
    }
    public func write(to ostr: inout OutputStream) {
        ostr.writeSize(count)
        for (k, v) in self {
            k.write(to: &ostr)
            v.write(to: &ostr)
        }
    }
    public static var minWireSize: Int { 1 }
}

extension Identity: IceStreamable {
    public init(from istr: inout InputStream) throws {
        let name = try istr.read(String.self)
        let category = try istr.read(String.self)
        self.init(name: name, category: category)
    }
    public func write(to ostr: inout OutputStream) {
        ostr.write(name)
        ostr.write(category)
    }
    public static var minWireSize: Int { 2 }
}

extension OutputStream {
    /// Writes a context sorted by key, as the C++ runtime does (byte-identical requests).
    public mutating func write(context: Context) {
        writeSize(context.count)
        for (k, v) in context.sorted(by: { $0.key < $1.key }) {
            write(k)
            write(v)
        }
    }

    /// Writes any streamable value.
    @inlinable public mutating func write<T: IceStreamable>(_ value: T) { value.write(to: &self) }
    /// Writes an enumerator (encoding 1.1: its value as a size).
    public mutating func writeEnum(_ value: Int) { writeSize(value) }
}

extension InputStream {
    /// Reads any streamable value.
    @inlinable public mutating func read<T: IceStreamable>(_: T.Type = T.self) throws -> T { try T(from: &self) }
    /// Reads an enumerator and checks it against the largest valid value.
    public mutating func readEnum(maxValue: Int) throws -> Int {
        let v = try readSize()
        guard v <= maxValue else { throw MarshalException("enumerator \(v) is out of range (max \(maxValue))") }
        return v
    }
}
