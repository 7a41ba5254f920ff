// Decoding the raw bytes of an `opaque -t TYPE -e X.Y -v BASE64` endpoint whose type this runtime
// knows, as Ice 3.7's EndpointFactoryManager does: the bytes are read as the body of an
// endpoint encapsulation with encoding X.Y by the factory of that type.

/// Reads the body of a tcp (1), ssl (2), udp (3), ws (4) or wss (5) endpoint encapsulation.
/// Throws what Ice throws: `UnsupportedEncodingException`, `UnmarshalOutOfBoundsException`,
/// `EncapsulationException` (bytes left over), `MarshalException` (port out of range).
func decodeEndpointBody(type: Int16, encoding: EncodingVersion, bytes: [UInt8]) throws -> Endpoint {
    guard encoding.isSupported else {
        throw UnsupportedEncodingException(
            "unsupported encoding \(encoding) in opaque endpoint (supported: \(EncodingVersion.v1_1))")
    }
    var r = EncapsulationBodyReader(bytes: bytes, encoding: encoding)
    let host = try r.readString()
    let port = try r.readInt()
    if port < 0 || port > 65535 {
        throw MarshalException("port value '\(port)' is out of range")
    }
    let endpoint: Endpoint
    switch type {
    case 3:  // udp
        if encoding == .v1_0 {
            try r.skip(4)  // protocol 1.0 + encoding 1.0, not used
        }
        let compress = try r.readBool()
        endpoint = Endpoint(transport: .udp, host: host, port: Int(port), timeout: -1, compress: compress)
    default:
        let timeout = try r.readInt()
        let compress = try r.readBool()
        let transport: Endpoint.Transport
        switch type {
        case 1: transport = .tcp
        case 2: transport = .ssl
        case 4: transport = .ws(resource: try r.readString())
        default: transport = .wss(resource: try r.readString())
        }
        endpoint = Endpoint(transport: transport, host: host, port: Int(port), timeout: timeout, compress: compress)
    }
    try r.end()
    return endpoint
}

/// A minimal little-endian reader over one encapsulation's body, with Ice 3.7's end-of-
/// encapsulation rules (1.1 skips trailing optionals, 1.0 tolerates one extra byte).
private struct EncapsulationBodyReader {
    let bytes: [UInt8]
    let encoding: EncodingVersion
    var pos = 0

    init(bytes: [UInt8], encoding: EncodingVersion) {
        self.bytes = bytes
        self.encoding = encoding
    }

    mutating func skip(_ n: Int) throws {
        guard n >= 0, bytes.count - pos >= n else { throw UnmarshalOutOfBoundsException() }
        pos += n
    }

    mutating func readByte() throws -> UInt8 {
        guard pos < bytes.count else { throw UnmarshalOutOfBoundsException() }
        defer { pos += 1 }
        return bytes[pos]
    }

    mutating func readBool() throws -> Bool {
        try readByte() != 0
    }

    mutating func readInt() throws -> Int32 {
        guard bytes.count - pos >= 4 else { throw UnmarshalOutOfBoundsException() }
        var v: UInt32 = 0
        for k in 0..<4 {
            v |= UInt32(bytes[pos + k]) << (8 * k)
        }
        pos += 4
        return Int32(bitPattern: v)
    }

    mutating func readSize() throws -> Int {
        let b = try readByte()
        guard b == 255 else { return Int(b) }
        let v = try readInt()
        guard v >= 0 else { throw UnmarshalOutOfBoundsException() }
        return Int(v)
    }

    mutating func readString() throws -> String {
        let n = try readSize()
        guard bytes.count - pos >= n else { throw UnmarshalOutOfBoundsException() }
        defer { pos += n }
        return String(decoding: bytes[pos..<(pos + n)], as: UTF8.self)
    }

    /// InputStream::endEncapsulation.
    mutating func end() throws {
        if encoding != .v1_0 {
            try skipOptionals()
            if pos != bytes.count { throw EncapsulationException() }
        } else if pos != bytes.count {
            if pos + 1 != bytes.count { throw EncapsulationException() }
            pos += 1  // Ice < 3.3 could add a trailing byte: tolerated
        }
    }

    private mutating func skipOptionals() throws {
        while pos < bytes.count {
            let v = try readByte()
            if v == 0xFF { return }  // end marker
            if v >> 3 == 30 { _ = try readSize() }
            switch v & 0x07 {
            case 0: try skip(1)  // F1
            case 1: try skip(2)  // F2
            case 2: try skip(4)  // F4
            case 3: try skip(8)  // F8
            case 4: _ = try readSize()  // Size
            case 5: try skip(try readSize())  // VSize
            case 6:  // FSize
                let n = try readInt()
                guard n >= 0 else { throw UnmarshalOutOfBoundsException() }
                try skip(Int(n))
            default:
                throw MarshalException("cannot skip an optional class in an endpoint encapsulation")
            }
        }
    }
}
