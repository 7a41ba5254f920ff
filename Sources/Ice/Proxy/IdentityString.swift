/// How identities, facets and adapter ids are escaped when printed (`Ice.ToStringMode`).
public enum ToStringMode: String, Sendable, Hashable, CaseIterable {
    /// Non-ASCII characters are kept as they are (UTF-8); the Ice 3.7 default.
    case unicode = "Unicode"
    /// Non-ASCII characters are written as `\uXXXX` or `\UXXXXXXXX`.
    case ascii = "ASCII"
    /// Like Ice 3.6 and earlier: every byte outside 32…126 as a three-digit octal escape.
    case compat = "Compat"
}

/// Why an escaped string could not be decoded (Ice's IllegalArgumentException reason).
struct IceStringDecodeError: Error {
    var reason: String
}

// MARK: - Escaping

/// Escapes `s` exactly like Ice 3.7's `escapeString`: `\`, `'` and `"` get a backslash; control
/// characters become `\a \b \f \n \r \t \v` or `\u00XX` (octal in compat mode); characters in
/// `special` (ASCII 32…126 only) get a backslash; non-ASCII is handled according to `mode`.
public func escapeIceString(_ s: String, special: String = "", mode: ToStringMode = .unicode) -> String {
    let specialBytes = Array(special.utf8)
    precondition(
        specialBytes.allSatisfy { $0 >= 32 && $0 <= 126 }, "Special characters must be in ASCII range 32-126")
    let u8 = Array(s.utf8)
    var out: [UInt8] = []
    out.reserveCapacity(u8.count)
    var i = 0
    func append(_ text: String) { out.append(contentsOf: text.utf8) }
    while i < u8.count {
        let c = u8[i]
        i += 1
        switch c {
        case 0x5C: append("\\\\")
        case 0x27: append("\\'")
        case 0x22: append("\\\"")
        case 0x07: append(mode == .compat ? "\\007" : "\\a")
        case 0x08: append("\\b")
        case 0x0C: append("\\f")
        case 0x0A: append("\\n")
        case 0x0D: append("\\r")
        case 0x09: append("\\t")
        case 0x0B: append(mode == .compat ? "\\013" : "\\v")
        default:
            if specialBytes.contains(c) {
                out.append(IceChar.backslash)
                out.append(c)
            } else if c < 32 || c > 126 {
                if mode == .compat {
                    append("\\" + pad(String(c, radix: 8), to: 3))
                } else if c < 32 || c == 127 {
                    append("\\u00" + pad(String(c, radix: 16), to: 2))
                } else if mode == .ascii {
                    // Swift strings are valid UTF-8: decode the whole sequence starting at c.
                    let length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2
                    var codePoint = UInt32(c) & (length == 4 ? 0x07 : length == 3 ? 0x0F : 0x1F)
                    for _ in 1..<length {
                        codePoint = (codePoint << 6) | (UInt32(u8[i]) & 0x3F)
                        i += 1
                    }
                    if codePoint > 0xFFFF {
                        append("\\U" + pad(String(codePoint, radix: 16), to: 8))
                    } else {
                        append("\\u" + pad(String(codePoint, radix: 16), to: 4))
                    }
                } else {
                    out.append(c)  // unicode mode: keep the UTF-8 byte
                }
            } else {
                out.append(c)
            }
        }
    }
    return String(decoding: out, as: UTF8.self)
}

private func pad(_ s: String, to width: Int) -> String {
    s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}

// MARK: - Unescaping

/// Decodes the escapes `escapeIceString` writes, like Ice 3.7's `unescapeString`, between `start`
/// and `end` of `s`. Also accepts `\?`, octal `\ooo` (≤ 255), `\xHH`, `\uXXXX`, `\UXXXXXXXX`;
/// a backslash before any other character is kept unless that character is in `special`; raw
/// control characters (< 32, 127) are rejected. Throws `IdentityParseException` with Ice's reason.
public func unescapeIceString(
    _ s: String, start: String.Index, end: String.Index, special: String = ""
) throws -> String {
    let bytes = Array(s.utf8)
    let from = s.utf8.distance(from: s.utf8.startIndex, to: start)
    let to = s.utf8.distance(from: s.utf8.startIndex, to: end)
    do {
        return try unescapeIceBytes(bytes, from, to, special: special)
    } catch {
        throw IdentityParseException(error.reason)
    }
}

/// `unescapeIceString` over the whole of `s`.
public func unescapeIceString(_ s: String, special: String = "") throws -> String {
    try unescapeIceString(s, start: s.startIndex, end: s.endIndex, special: special)
}

/// Byte-level unescape of `s[start..<end]`; the result must be valid UTF-8.
func unescapeIceBytes(
    _ s: [UInt8], _ start: Int, _ end: Int, special: String
) throws(IceStringDecodeError) -> String {
    precondition(start <= end && end <= s.count)
    let specialBytes = Array(special.utf8)
    precondition(
        specialBytes.allSatisfy { $0 >= 32 && $0 <= 126 }, "Special characters must be in ASCII range 32-126")

    func checkChar(_ pos: Int) throws(IceStringDecodeError) -> UInt8 {
        let c = s[pos]
        if c < 32 || c == 127 {
            let place = pos > 0 ? "character after `\(String(decoding: s[0..<pos], as: UTF8.self))'" : "first character"
            throw IceStringDecodeError(reason: "\(place) has invalid ordinal value \(c)")
        }
        return c
    }
    func hexValue(_ c: UInt8) -> UInt32? {
        switch c {
        case 0x30...0x39: return UInt32(c - 0x30)
        case 0x61...0x66: return UInt32(c - 0x61 + 10)
        case 0x41...0x46: return UInt32(c - 0x41 + 10)
        default: return nil
        }
    }

    var result: [UInt8] = []
    result.reserveCapacity(end - start)
    var i = start
    while i < end {
        if s[i] != IceChar.backslash {
            result.append(try checkChar(i))
            i += 1
            continue
        }
        if i + 1 == end {
            result.append(IceChar.backslash)  // keep a trailing backslash
            i += 1
            continue
        }
        i += 1
        let c = s[i]
        switch c {
        case 0x5C, 0x27, 0x22, 0x3F:  // \\ \' \" \?
            result.append(c)
            i += 1
        case 0x61: result.append(0x07); i += 1  // \a
        case 0x62: result.append(0x08); i += 1  // \b
        case 0x66: result.append(0x0C); i += 1  // \f
        case 0x6E: result.append(0x0A); i += 1  // \n
        case 0x72: result.append(0x0D); i += 1  // \r
        case 0x74: result.append(0x09); i += 1  // \t
        case 0x76: result.append(0x0B); i += 1  // \v
        case 0x75, 0x55:  // \uXXXX, \UXXXXXXXX
            var size = c == 0x75 ? 4 : 8
            var codePoint: UInt32 = 0
            i += 1
            while size > 0 && i < end {
                let d = s[i]
                i += 1
                guard let v = hexValue(d) else { break }
                codePoint = codePoint * 16 + v
                size -= 1
            }
            if size > 0 {
                throw IceStringDecodeError(reason: "Invalid universal character name: too few hex digits")
            }
            if codePoint >= 0xD800 && codePoint <= 0xDFFF {
                throw IceStringDecodeError(reason: "A universal character name cannot designate a surrogate")
            }
            guard let scalar = Unicode.Scalar(codePoint) else {
                throw IceStringDecodeError(reason: "Invalid universal character name")
            }
            result.append(contentsOf: String(Character(scalar)).utf8)
        case 0x30...0x37:  // octal, up to 3 digits
            var val = 0
            var j = 0
            while j < 3 && i < end {
                let d = Int(s[i]) - 0x30
                if d < 0 || d > 7 { break }
                val = val * 8 + d
                i += 1
                j += 1
            }
            if val > 255 {
                throw IceStringDecodeError(reason: "octal value \\\(String(val, radix: 8)) (\(val)) is out of range")
            }
            result.append(UInt8(val))
        case 0x78:  // \xHH, 1 or 2 hex digits
            var val: UInt32 = 0
            var size = 2
            i += 1
            while size > 0 && i < end, let v = hexValue(s[i]) {
                val = val * 16 + v
                i += 1
                size -= 1
            }
            if size == 2 {
                throw IceStringDecodeError(reason: "Invalid \\x escape sequence: no hex digit")
            }
            result.append(UInt8(val))
        default:
            if !specialBytes.contains(c) {
                result.append(IceChar.backslash)  // not special: keep the backslash
            }
            result.append(try checkChar(i))
            i += 1
        }
    }
    let text = String(decoding: result, as: UTF8.self)
    if text.utf8.count != result.count || !text.utf8.elementsEqual(result) {
        throw IceStringDecodeError(reason: "escape sequences produce invalid UTF-8")
    }
    return text
}

// MARK: - Identity

extension Identity {
    /// Parses `name` or `category/name` as written by `toString(mode:)` (Ice's `stringToIdentity`).
    /// The first unescaped `/` separates category and name; a second one is an error.
    public init(parsing s: String) throws {
        let b = Array(s.utf8)
        var slash: Int? = nil
        for pos in b.indices where b[pos] == IceChar.slash {
            var escapes = 0
            while pos - escapes > 0 && b[pos - escapes - 1] == IceChar.backslash {
                escapes += 1
            }
            if escapes % 2 == 0 {
                if slash != nil {
                    throw IdentityParseException("unescaped '/' in identity `\(s)'")
                }
                slash = pos
            }
        }
        guard let slash else {
            do {
                self.init(name: try unescapeIceBytes(b, 0, b.count, special: "/"))
            } catch {
                throw IdentityParseException("invalid identity name `\(s)': \(error.reason)")
            }
            return
        }
        let category: String
        do {
            category = try unescapeIceBytes(b, 0, slash, special: "/")
        } catch {
            throw IdentityParseException("invalid category in identity `\(s)': \(error.reason)")
        }
        var name = ""
        if slash + 1 < b.count {
            do {
                name = try unescapeIceBytes(b, slash + 1, b.count, special: "/")
            } catch {
                throw IdentityParseException("invalid name in identity `\(s)': \(error.reason)")
            }
        }
        self.init(name: name, category: category)
    }

    /// The text form `name` or `category/name`, each part escaped with `/` as a special
    /// character (Ice's `identityToString`).
    public func toString(mode: ToStringMode = .unicode) -> String {
        if category.isEmpty {
            return escapeIceString(name, special: "/", mode: mode)
        }
        return escapeIceString(category, special: "/", mode: mode) + "/"
            + escapeIceString(name, special: "/", mode: mode)
    }
}
