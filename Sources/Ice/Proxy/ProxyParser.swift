// Stringified proxies, parsed like Ice 3.7's ReferenceFactory::create(string) and printed like
// Reference/RoutableReference::toString (what `communicator.proxyToString` returns).

extension ProxyDescriptor {
    /// Parses a stringified proxy: `IDENTITY [options] [":" endpoint {":" endpoint} | "@" adapterId]`.
    /// Returns nil for the null proxy (an empty string or `""`). Endpoints of unknown transports
    /// are dropped (and reported to `unknownEndpoint`) as long as one endpoint is usable.
    /// `defaultHost` (`Ice.Default.Host`) fills endpoints without `-h`.
    /// Throws `ProxyParseException`, `IdentityParseException` (also for an empty name with a
    /// category, where Ice throws IllegalIdentityException) or `EndpointParseException`.
    public static func parse(
        _ str: String, defaultHost: String? = nil, unknownEndpoint: ((String) -> Void)? = nil
    ) throws -> ProxyDescriptor? {
        if str.isEmpty {
            return nil
        }
        let s = Array(str.utf8)
        func isDelim(_ c: UInt8) -> Bool { IceChar.isWhitespace(c) }
        func isDelimOrSeparator(_ c: UInt8) -> Bool { isDelim(c) || c == IceChar.colon || c == IceChar.at }

        guard var beg = s.firstIndex(where: { !isDelim($0) }) else {
            throw ProxyParseException("no non-whitespace characters found in `\(str)'")
        }

        // The identity, possibly quoted.
        var end: Int
        let idstr: String
        switch iceCheckQuote(s, beg) {
        case .unmatched:
            throw ProxyParseException("mismatched quotes around identity in `\(str)'")
        case .notQuoted:
            end = s.firstIndex(from: beg, where: isDelimOrSeparator) ?? s.count
            idstr = s.utf8Text(beg..<end)
        case .closed(let close):
            beg += 1
            idstr = s.utf8Text(beg..<close)
            end = close + 1
        }
        if beg == end {
            throw ProxyParseException("no identity in `\(str)'")
        }

        let identity = try Identity(parsing: idstr)
        if identity.name.isEmpty {
            if !identity.category.isEmpty {
                throw IdentityParseException("illegal identity `\(idstr)': empty name with category in `\(str)'")
            }
            // `""` is the null proxy, but only when nothing follows.
            if s.firstIndex(from: end, where: { !isDelim($0) }) != nil {
                throw ProxyParseException("invalid characters after identity in `\(str)'")
            }
            return nil
        }

        var proxy = ProxyDescriptor(identity: identity)

        // Proxy options.
        var next: Int? = end
        while true {
            guard let b = s.firstIndex(from: end, where: { !isDelim($0) }) else {
                next = nil
                break
            }
            beg = b
            next = b
            if s[beg] == IceChar.colon || s[beg] == IceChar.at {
                break
            }
            end = s.firstIndex(from: beg, where: isDelimOrSeparator) ?? s.count
            if beg == end {
                break
            }
            let option = s.utf8Text(beg..<end)
            if option.utf8.count != 2 || option.utf8.first != IceChar.minus {
                throw ProxyParseException("expected a proxy option but found `\(option)' in `\(str)'")
            }

            // The option's argument, possibly quoted.
            var argument = ""
            if let argBeg = s.firstIndex(from: end, where: { !isDelim($0) }),
                s[argBeg] != IceChar.at && s[argBeg] != IceChar.colon && s[argBeg] != IceChar.minus
            {
                beg = argBeg
                switch iceCheckQuote(s, beg) {
                case .unmatched:
                    throw ProxyParseException("mismatched quotes around value for \(option) option in `\(str)'")
                case .notQuoted:
                    end = s.firstIndex(from: beg, where: isDelimOrSeparator) ?? s.count
                    argument = s.utf8Text(beg..<end)
                case .closed(let close):
                    beg += 1
                    argument = s.utf8Text(beg..<close)
                    end = close + 1
                }
            }

            func noArgument() throws {
                if !argument.isEmpty {
                    throw ProxyParseException(
                        "unexpected argument `\(argument)' provided for \(option) option in `\(str)'")
                }
            }
            switch option {
            case "-f":
                if argument.isEmpty {
                    throw ProxyParseException("no argument provided for -f option in `\(str)'")
                }
                do {
                    let a = Array(argument.utf8)
                    proxy.facet = try unescapeIceBytes(a, 0, a.count, special: "")
                } catch {
                    throw ProxyParseException("invalid facet in `\(str)': \(error.reason)")
                }
            case "-t": try noArgument(); proxy.mode = .twoway
            case "-o": try noArgument(); proxy.mode = .oneway
            case "-O": try noArgument(); proxy.mode = .batchOneway
            case "-d": try noArgument(); proxy.mode = .datagram
            case "-D": try noArgument(); proxy.mode = .batchDatagram
            case "-s": try noArgument(); proxy.secure = true
            case "-e":
                if argument.isEmpty {
                    throw ProxyParseException("no argument provided for -e option in `\(str)'")
                }
                switch parseMajorMinor(argument) {
                case .success(let (major, minor)): proxy.encoding = EncodingVersion(major: major, minor: minor)
                case .failure(let error):
                    throw ProxyParseException("invalid encoding version `\(argument)' in `\(str)':\n\(error.reason)")
                }
            case "-p":
                if argument.isEmpty {
                    throw ProxyParseException("no argument provided for -p option in `\(str)'")
                }
                switch parseMajorMinor(argument) {
                case .success(let (major, minor)): proxy.protocolVersion = ProtocolVersion(major: major, minor: minor)
                case .failure(let error):
                    throw ProxyParseException("invalid protocol version `\(argument)' in `\(str)':\n\(error.reason)")
                }
            default:
                throw ProxyParseException("unknown option `\(option)' in `\(str)'")
            }
        }

        guard let start = next else {
            return proxy  // well-known proxy: no endpoints, no adapter id
        }

        if s[start] == IceChar.colon {
            var unknown: [String] = []
            var end = start
            while end < s.count && s[end] == IceChar.colon {
                let beg = end + 1
                end = endpointEnd(s, from: beg)
                let es = s.utf8Text(beg..<end)
                if let e = try Endpoint.create(es, forAdapter: false, defaultHost: defaultHost) {
                    proxy.endpoints.append(e)
                } else {
                    unknown.append(es)
                }
            }
            if proxy.endpoints.isEmpty {
                throw EndpointParseException("invalid endpoint `\(unknown[0])' in `\(str)'")
            }
            unknown.forEach { unknownEndpoint?($0) }
            return proxy
        }

        if s[start] == IceChar.at {
            guard var beg = s.firstIndex(from: start + 1, where: { !isDelim($0) }) else {
                throw ProxyParseException("missing adapter id in `\(str)'")
            }
            let adapterText: String
            var end: Int
            switch iceCheckQuote(s, beg) {
            case .unmatched:
                throw ProxyParseException("mismatched quotes around adapter id in `\(str)'")
            case .notQuoted:
                end = s.firstIndex(from: beg, where: isDelim) ?? s.count
                adapterText = s.utf8Text(beg..<end)
            case .closed(let close):
                beg += 1
                adapterText = s.utf8Text(beg..<close)
                end = close + 1
            }
            if s.firstIndex(from: end, where: { !isDelim($0) }) != nil {
                throw ProxyParseException(
                    "invalid trailing characters after `\(s.utf8Text(0..<min(end + 1, s.count)))' in `\(str)'")
            }
            do {
                let a = Array(adapterText.utf8)
                proxy.adapterId = try unescapeIceBytes(a, 0, a.count, special: "")
            } catch {
                throw ProxyParseException("invalid adapter id in `\(str)': \(error.reason)")
            }
            if proxy.adapterId.isEmpty {
                throw ProxyParseException("empty adapter id in `\(str)'")
            }
            return proxy
        }

        throw ProxyParseException("malformed proxy `\(str)'")
    }

    /// Parses a stringified proxy that must not be the null proxy (see `parse(_:defaultHost:)`);
    /// the null proxy throws `ProxyParseException`.
    public init(parsing s: String, defaultHost: String? = nil) throws {
        guard let proxy = try ProxyDescriptor.parse(s, defaultHost: defaultHost) else {
            throw ProxyParseException("`\(s)' is the null proxy")
        }
        self = proxy
    }

    /// The stringified proxy exactly as Ice 3.7's `proxyToString`: identity (in double quotes
    /// when it contains a space, `:` or `@`), `-f facet`, the mode (`-t`, `-o`, `-O`, `-d`,
    /// `-D`), `-s`, `-p X.Y` unless 1.0, always `-e X.Y`, then `:endpoint…` or ` @ adapterId`.
    public func toString(mode toStringMode: ToStringMode = .unicode) -> String {
        func quotedIfSeparator(_ text: String) -> String {
            text.utf8.contains(where: { $0 == IceChar.space || $0 == IceChar.colon || $0 == IceChar.at })
                ? "\"\(text)\"" : text
        }
        var s = quotedIfSeparator(identity.toString(mode: toStringMode))
        if !facet.isEmpty {
            s += " -f " + quotedIfSeparator(escapeIceString(facet, special: "", mode: toStringMode))
        }
        switch mode {
        case .twoway: s += " -t"
        case .oneway: s += " -o"
        case .batchOneway: s += " -O"
        case .datagram: s += " -d"
        case .batchDatagram: s += " -D"
        }
        if secure {
            s += " -s"
        }
        if protocolVersion != .v1_0 {
            s += " -p \(protocolVersion)"
        }
        s += " -e \(encoding)"
        if !endpoints.isEmpty {
            for e in endpoints {
                s += ":" + e.description
            }
        } else if !adapterId.isEmpty {
            s += " @ " + quotedIfSeparator(escapeIceString(adapterId, special: "", mode: toStringMode))
        }
        return s
    }

    /// `toString()` in the default (Unicode) mode.
    public var description: String { toString() }
}

extension ProxyDescriptor: CustomStringConvertible {}
