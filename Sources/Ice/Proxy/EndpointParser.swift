#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// Stringified endpoints (`tcp -h 127.0.0.1 -p 10000 -t 5000 -z`), parsed and printed exactly like
// the Ice 3.7 endpoint factories (EndpointI/IPEndpointI/TcpEndpointI/WSEndpoint/UdpEndpointI/
// OpaqueEndpointI `initWithOptions`, `checkOption` and `options`).

extension Endpoint {
    /// `Ice.Default.Timeout`: the endpoint timeout used when `-t` is absent.
    public static let defaultTimeout: Int32 = 60_000

    /// The transport's name as it appears in stringified endpoints, e.g. `tcp`.
    public var transportName: String {
        switch transport {
        case .tcp: return "tcp"
        case .ssl: return "ssl"
        case .udp: return "udp"
        case .ws: return "ws"
        case .wss: return "wss"
        case .opaque: return "opaque"
        }
    }

    /// Parses one stringified endpoint. With `forAdapter` (the default: object adapter
    /// `Endpoints` properties) `-h *` means all interfaces (host "") and `--sourceAddress` is
    /// rejected; with `forAdapter: false` (proxy endpoints, as `ProxyDescriptor.parse` uses)
    /// `-h *` is rejected. A missing `-h` gives `defaultHost` (`Ice.Default.Host`) or "".
    /// `-p 0` (the default) means any port for an adapter. `opaque` endpoints of a known type
    /// (1…5) are decoded into that transport. Throws `EndpointParseException` (or the marshaling
    /// exceptions Ice raises for malformed opaque bytes).
    public static func parse(_ s: String, forAdapter: Bool = true, defaultHost: String? = nil) throws -> Endpoint {
        guard let e = try create(s, forAdapter: forAdapter, defaultHost: defaultHost) else {
            throw EndpointParseException("invalid endpoint `\(s)': unknown transport")
        }
        return e
    }

    /// Like Ice's EndpointFactoryManager::create: nil when the transport is unknown.
    static func create(_ str: String, forAdapter: Bool, defaultHost: String?) throws -> Endpoint? {
        guard var args = iceSplitString(str, delimiters: " \t\n\r") else {
            throw EndpointParseException("mismatched quote")
        }
        guard !args.isEmpty else {
            throw EndpointParseException("value has no non-whitespace characters")
        }
        var proto = args.removeFirst()
        if proto == "default" {
            proto = "tcp"
        }
        let endpoint: Endpoint
        switch proto {
        case "tcp", "ssl", "ws", "wss", "udp":
            var p = EndpointOptionParser(proto: proto, args: args, forAdapter: forAdapter, defaultHost: defaultHost)
            endpoint = try p.parse()
            args = p.remaining
        case "opaque":
            var p = OpaqueOptionParser(args: args)
            try p.parse()
            args = p.remaining
            if let first = args.first {
                throw EndpointParseException("unrecognized argument `\(first)' in endpoint `\(str)'")
            }
            return try p.endpoint()
        default:
            return nil
        }
        if let first = args.first {
            throw EndpointParseException("unrecognized argument `\(first)' in endpoint `\(str)'")
        }
        return endpoint
    }

    /// The stringified endpoint exactly as Ice 3.7 prints it: `tcp -h HOST -p PORT -t TIMEOUT [-z]`
    /// (`-h` omitted for an empty host, quoted when it contains `:`), `-r RESOURCE` for ws/wss,
    /// `opaque -t TYPE -e X.Y -v BASE64` for unknown transports.
    public var description: String {
        var s = transportName
        func ipOptions() {
            if !host.isEmpty {
                s += " -h " + quotedIfColon(host)
            }
            s += " -p \(port)"
            if let source = sourceAddress, !source.isEmpty {
                s += " --sourceAddress " + quotedIfColon(source)
            }
        }
        func tcpOptions() {
            ipOptions()
            s += timeout == -1 ? " -t infinite" : " -t \(timeout)"
            if compress { s += " -z" }
        }
        switch transport {
        case .tcp, .ssl:
            tcpOptions()
        case .ws(let resource), .wss(let resource):
            tcpOptions()
            if !resource.isEmpty {
                s += " -r " + quotedIfColon(resource)
            }
        case .udp:
            ipOptions()
            if compress { s += " -z" }
        case .opaque(let type, let encoding, let bytes):
            if type > -1 { s += " -t \(type)" }
            s += " -e \(encoding)"
            if !bytes.isEmpty { s += " -v " + IceBase64.encode(bytes) }
        }
        return s
    }
}

extension Endpoint: CustomStringConvertible {}

extension Array where Element == Endpoint {
    /// Parses a `:`-separated endpoint list (a `:` inside double quotes does not split), like an
    /// object adapter's `Endpoints` property (Ice's ObjectAdapterI::parseEndpoints; see
    /// `Endpoint.parse` for `forAdapter`). Unknown transports and empty endpoints throw
    /// `EndpointParseException`.
    public static func parse(list: String, forAdapter: Bool = true, defaultHost: String? = nil) throws -> [Endpoint] {
        let s = [UInt8](list.utf8)
        var endpoints: [Endpoint] = []
        var end = 0
        while end < s.count {
            guard let beg = s.firstIndex(from: end, where: { !IceChar.isWhitespace($0) }) else {
                if !endpoints.isEmpty {
                    throw EndpointParseException("invalid empty object adapter endpoint")
                }
                break
            }
            end = endpointEnd(s, from: beg)
            if end == beg {
                throw EndpointParseException("invalid empty object adapter endpoint")
            }
            let text = s.utf8Text(beg..<end)
            guard let e = try Endpoint.create(text, forAdapter: forAdapter, defaultHost: defaultHost) else {
                throw EndpointParseException("invalid object adapter endpoint `\(text)'")
            }
            endpoints.append(e)
            end += 1
        }
        return endpoints
    }
}

/// The index of the `:` ending the endpoint that starts at `beg` (or `s.count`), skipping colons
/// that lie between a pair of double quotes.
func endpointEnd(_ s: [UInt8], from beg: Int) -> Int {
    var end = beg
    while true {
        guard let colon = s.firstIndex(from: end, where: { $0 == IceChar.colon }) else {
            return s.count
        }
        end = colon
        var quoted = false
        var quote = beg
        while true {
            guard let open = s.firstIndex(from: quote, where: { $0 == IceChar.quote }), open <= end else { break }
            guard let close = s.firstIndex(from: open + 1, where: { $0 == IceChar.quote }) else { break }
            if end < close {
                quoted = true
                break
            }
            quote = close + 1
        }
        if !quoted {
            return end
        }
        end += 1
    }
}

private func quotedIfColon(_ s: String) -> String {
    s.contains(":") ? "\"\(s)\"" : s
}

/// Ice's text for the endpoint in option error messages: `` `tcp  -h x -p 1' ``.
private func endpointText(_ proto: String, _ args: [String]) -> String {
    var s = "`\(proto) "
    for a in args {
        s += a.utf8.contains(where: IceChar.isWhitespace) ? " \"\(a)\"" : " \(a)"
    }
    return s + "'"
}

/// Ice's generic option loop (EndpointI::initWithOptions): an option starts with `-` and has at
/// least 2 characters; its argument is the next word unless that starts with `-`. `check`
/// returns false for options it does not know; those (and non-options) are returned.
private func initWithOptions(
    _ args: [String], check: (_ option: String, _ argument: String) throws -> Bool
) rethrows -> [String] {
    var unknown: [String] = []
    var n = 0
    while n < args.count {
        let option = args[n]
        if option.utf8.count < 2 || option.utf8.first != IceChar.minus {
            unknown.append(option)
            n += 1
            continue
        }
        var argument = ""
        if n + 1 < args.count && args[n + 1].utf8.first != IceChar.minus {
            n += 1
            argument = args[n]
        }
        if try !check(option, argument) {
            unknown.append(option)
            if !argument.isEmpty {
                unknown.append(argument)
            }
        }
        n += 1
    }
    return unknown
}

/// The second character of an option: Ice's tcp, ws and opaque endpoints dispatch on it alone
/// (so `-timeout 5` is read as `-t 5`).
private func optionLetter(_ option: String) -> UInt8 {
    Array(option.utf8)[1]
}

/// Parses and normalizes a numeric IPv4 or IPv6 address (`--sourceAddress`), nil if invalid.
func normalizeNumericAddress(_ s: String) -> String? {
    var v4 = in_addr()
    if inet_pton(AF_INET, s, &v4) == 1 {
        var buf = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        guard inet_ntop(AF_INET, &v4, &buf, socklen_t(buf.count)) != nil else { return nil }
        return String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    var v6 = in6_addr()
    if inet_pton(AF_INET6, s, &v6) == 1 {
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &v6, &buf, socklen_t(buf.count)) != nil else { return nil }
        return String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    return nil
}

/// Options of the IP transports (tcp, ssl, ws, wss, udp).
private struct EndpointOptionParser {
    let proto: String
    let args: [String]
    let forAdapter: Bool
    let defaultHost: String?
    var remaining: [String] = []

    var host = ""
    var port: Int32 = 0
    var sourceAddress: String?
    var timeout: Int32 = Endpoint.defaultTimeout
    var compress = false
    var resource = ""

    init(proto: String, args: [String], forAdapter: Bool, defaultHost: String?) {
        self.proto = proto
        self.args = args
        self.forAdapter = forAdapter
        self.defaultHost = defaultHost
    }

    mutating func parse() throws -> Endpoint {
        let text = endpointText(proto, args)
        switch proto {
        case "udp":
            remaining = try initWithOptions(args) { try checkUDPOption($0, $1, text) }
            try finishIP()
            return Endpoint(
                transport: .udp, host: host, port: Int(port), timeout: -1, compress: compress,
                sourceAddress: sourceAddress)
        default:
            // ws/wss: the underlying tcp/ssl endpoint takes its options first, then the rest go
            // to the WebSocket layer (WSEndpoint).
            remaining = try initWithOptions(args) { try checkTCPOption($0, $1, text) }
            try finishIP()
            let transport: Endpoint.Transport
            switch proto {
            case "tcp": transport = .tcp
            case "ssl": transport = .ssl
            default:
                let wsText = endpointText(proto, remaining)
                remaining = try initWithOptions(remaining) { option, argument in
                    guard optionLetter(option) == UInt8(ascii: "r") else { return false }
                    if argument.isEmpty {
                        throw EndpointParseException("no argument provided for -r option in endpoint \(wsText)")
                    }
                    resource = argument
                    return true
                }
                if resource.isEmpty { resource = "/" }
                transport = proto == "ws" ? .ws(resource: resource) : .wss(resource: resource)
            }
            return Endpoint(
                transport: transport, host: host, port: Int(port), timeout: timeout, compress: compress,
                sourceAddress: sourceAddress)
        }
    }

    /// IPEndpointI::initWithOptions after the option loop.
    private mutating func finishIP() throws {
        if host.isEmpty {
            host = defaultHost ?? ""
        } else if host == "*" {
            if forAdapter {
                host = ""
            } else {
                throw EndpointParseException("`-h *' not valid for proxy endpoint `\(currentText)'")
            }
        }
        if sourceAddress != nil && forAdapter {
            throw EndpointParseException(
                "`--sourceAddress' not valid for object adapter endpoint `\(currentText)'")
        }
    }

    /// The endpoint as parsed so far, printed (for error messages).
    private var currentText: String {
        let transport: Endpoint.Transport
        switch proto {
        case "udp": transport = .udp
        case "ssl": transport = .ssl
        case "ws": transport = .ws(resource: "")
        case "wss": transport = .wss(resource: "")
        default: transport = .tcp
        }
        return Endpoint(
            transport: transport, host: host, port: Int(port), timeout: timeout, compress: compress,
            sourceAddress: sourceAddress
        ).description
    }

    private mutating func checkIPOption(_ option: String, _ argument: String, _ text: String) throws -> Bool {
        switch option {
        case "-h":
            if argument.isEmpty {
                throw EndpointParseException("no argument provided for -h option in endpoint \(text)")
            }
            host = argument
        case "-p":
            if argument.isEmpty {
                throw EndpointParseException("no argument provided for -p option in endpoint \(text)")
            }
            guard let p = parseCppInt32(argument) else {
                throw EndpointParseException("invalid port value `\(argument)' in endpoint \(text)")
            }
            guard (0...65535).contains(p) else {
                throw EndpointParseException("port value `\(argument)' out of range in endpoint \(text)")
            }
            port = p
        case "--sourceAddress":
            if argument.isEmpty {
                throw EndpointParseException("no argument provided for --sourceAddress option in endpoint \(text)")
            }
            guard let address = normalizeNumericAddress(argument) else {
                throw EndpointParseException(
                    "invalid IP address provided for --sourceAddress option in endpoint \(text)")
            }
            sourceAddress = address
        default:
            return false
        }
        return true
    }

    private mutating func checkTCPOption(_ option: String, _ argument: String, _ text: String) throws -> Bool {
        if try checkIPOption(option, argument, text) {
            return true
        }
        switch optionLetter(option) {
        case UInt8(ascii: "t"):
            if argument.isEmpty {
                throw EndpointParseException("no argument provided for -t option in endpoint \(text)")
            }
            if argument == "infinite" {
                timeout = -1
            } else {
                guard let t = parseCppInt32(argument), t >= 1 else {
                    throw EndpointParseException("invalid timeout value `\(argument)' in endpoint \(text)")
                }
                timeout = t
            }
            return true
        case UInt8(ascii: "z"):
            if !argument.isEmpty {
                throw EndpointParseException("unexpected argument `\(argument)' provided for -z option in \(text)")
            }
            compress = true
            return true
        default:
            return false
        }
    }

    private mutating func checkUDPOption(_ option: String, _ argument: String, _ text: String) throws -> Bool {
        if try checkIPOption(option, argument, text) {
            return true
        }
        switch option {
        case "-z":
            if !argument.isEmpty {
                throw EndpointParseException("unexpected argument `\(argument)' provided for -z option in \(text)")
            }
            compress = true
        case "-v", "-e":
            // Deprecated protocol/encoding versions: validated, otherwise ignored (as in Ice).
            if argument.isEmpty {
                throw EndpointParseException("no argument provided for \(option) option in endpoint \(text)")
            }
            if case .failure(let error) = parseMajorMinor(argument) {
                throw EndpointParseException("invalid version `\(argument)' in endpoint \(text):\n\(error.reason)")
            }
        case "-c", "--interface", "--ttl":
            // Connected and multicast UDP endpoints cannot be represented by `Endpoint`.
            throw EndpointParseException("udp option \(option) is not supported by this runtime in endpoint \(text)")
        default:
            return false
        }
        return true
    }
}

/// Options of `opaque` endpoints: `-t TYPE -e X.Y -v BASE64`.
private struct OpaqueOptionParser {
    let args: [String]
    var remaining: [String] = []
    var type: Int16 = -1
    var encoding = EncodingVersion.v1_0
    var bytes: [UInt8] = []

    init(args: [String]) {
        self.args = args
    }

    mutating func parse() throws {
        let text = endpointText("opaque", args)
        remaining = try initWithOptions(args) { option, argument in
            switch optionLetter(option) {
            case UInt8(ascii: "t"):
                if type > -1 {
                    throw EndpointParseException("multiple -t options in endpoint \(text)")
                }
                if argument.isEmpty {
                    throw EndpointParseException("no argument provided for -t option in endpoint \(text)")
                }
                guard let t = parseCppInt32(argument) else {
                    throw EndpointParseException("invalid type value `\(argument)' in endpoint \(text)")
                }
                guard (0...65535).contains(t) else {
                    throw EndpointParseException("type value `\(argument)' out of range in endpoint \(text)")
                }
                type = Int16(truncatingIfNeeded: t)  // Ice stores a Short: 32768…65535 turn negative
            case UInt8(ascii: "v"):
                if !bytes.isEmpty {
                    throw EndpointParseException("multiple -v options in endpoint \(text)")
                }
                if argument.isEmpty {
                    throw EndpointParseException("no argument provided for -v option in endpoint \(text)")
                }
                if let bad = argument.utf8.first(where: { !IceBase64.isBase64($0) }) {
                    let shown = Character(Unicode.Scalar(bad))
                    let ordinal = Int8(bitPattern: bad)  // Ice prints a (signed) char
                    throw EndpointParseException(
                        "invalid base64 character `\(shown)' (ordinal \(ordinal)) in endpoint \(text)")
                }
                bytes = IceBase64.decode(argument)
            case UInt8(ascii: "e"):
                if argument.isEmpty {
                    throw EndpointParseException("no argument provided for -e option in endpoint \(text)")
                }
                switch parseMajorMinor(argument) {
                case .success(let (major, minor)): encoding = EncodingVersion(major: major, minor: minor)
                case .failure(let error):
                    throw EndpointParseException(
                        "invalid encoding version `\(argument)' in endpoint \(text):\n\(error.reason)")
                }
            default:
                return false
            }
            return true
        }
        let printed = Endpoint(
            transport: .opaque(type: type, encoding: encoding, bytes: bytes), host: "", port: 0, timeout: -1)
        if type < 0 {
            throw EndpointParseException("no -t option in endpoint \(printed)")
        }
        if bytes.isEmpty {
            throw EndpointParseException("no -v option in endpoint \(printed)")
        }
    }

    /// The endpoint: decoded when the type is one this runtime knows (1…5), opaque otherwise.
    func endpoint() throws -> Endpoint {
        if (1...5).contains(type) {
            return try decodeEndpointBody(type: type, encoding: encoding, bytes: bytes)
        }
        return Endpoint(
            transport: .opaque(type: type, encoding: encoding, bytes: bytes), host: "", port: 0, timeout: -1)
    }
}
