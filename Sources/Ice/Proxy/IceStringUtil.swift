// Small string helpers shared by the proxy, endpoint and property parsers. They work on UTF-8
// bytes and mirror IceUtilInternal's checkQuote, splitString and trim, plus the C++
// `istringstream >> int` number parsing the Ice 3.7 parsers rely on.

/// ASCII bytes used by the parsers.
enum IceChar {
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let lf: UInt8 = 0x0A
    static let cr: UInt8 = 0x0D
    static let quote: UInt8 = 0x22  // "
    static let apostrophe: UInt8 = 0x27  // '
    static let backslash: UInt8 = 0x5C
    static let colon: UInt8 = 0x3A
    static let at: UInt8 = 0x40
    static let minus: UInt8 = 0x2D
    static let equals: UInt8 = 0x3D
    static let hash: UInt8 = 0x23
    static let slash: UInt8 = 0x2F
    static let dot: UInt8 = 0x2E
    static let comma: UInt8 = 0x2C

    /// The whitespace Ice's parsers skip: space, tab, CR, LF.
    static func isWhitespace(_ c: UInt8) -> Bool {
        c == space || c == tab || c == lf || c == cr
    }
}

extension Array where Element == UInt8 {
    /// Decodes a slice of UTF-8 bytes cut at ASCII boundaries (always valid UTF-8 again).
    func utf8Text(_ range: Range<Int>) -> String {
        String(decoding: self[range], as: UTF8.self)
    }

    /// The index of the first byte at or after `from` satisfying `predicate`.
    func firstIndex(from: Int, where predicate: (UInt8) -> Bool) -> Int? {
        var i = from
        while i < count {
            if predicate(self[i]) { return i }
            i += 1
        }
        return nil
    }
}

/// Result of `iceCheckQuote`.
enum QuoteScan: Equatable {
    /// The text at the start position is not quoted.
    case notQuoted
    /// The opening quote has no matching closing quote.
    case unmatched
    /// The index of the matching closing quote.
    case closed(at: Int)
}

/// Like IceUtilInternal::checkQuote: if `s[start]` is `"` or `'`, finds the matching closing quote,
/// the first one not immediately preceded by a backslash.
func iceCheckQuote(_ s: [UInt8], _ start: Int) -> QuoteScan {
    let q = s[start]
    guard q == IceChar.quote || q == IceChar.apostrophe else { return .notQuoted }
    var i = start + 1
    while i < s.count {
        if s[i] == q && s[i - 1] != IceChar.backslash {
            return .closed(at: i)
        }
        i += 1
    }
    return .unmatched
}

/// Like IceUtilInternal::splitString: splits `s` at any of `delimiters` outside quotes, removing
/// the quotes (and the backslash of `\"`/`\'`), dropping empty elements. Returns nil on an
/// unmatched quote.
func iceSplitString(_ str: String, delimiters: String) -> [String]? {
    let s = Array(str.utf8)
    let delims = Set(delimiters.utf8)
    var result: [String] = []
    var elt: [UInt8] = []
    var quoteChar: UInt8 = 0
    var pos = 0
    while pos < s.count {
        let c = s[pos]
        if quoteChar == 0 && (c == IceChar.quote || c == IceChar.apostrophe) {
            quoteChar = c
            pos += 1
            continue
        } else if quoteChar == 0 && c == IceChar.backslash && pos + 1 < s.count
            && (s[pos + 1] == IceChar.apostrophe || s[pos + 1] == IceChar.quote)
        {
            pos += 1
        } else if quoteChar != 0 && c == IceChar.backslash && pos + 1 < s.count && s[pos + 1] == quoteChar {
            pos += 1
        } else if quoteChar != 0 && c == quoteChar {
            pos += 1
            quoteChar = 0
            continue
        } else if delims.contains(c) && quoteChar == 0 {
            pos += 1
            if !elt.isEmpty {
                result.append(String(decoding: elt, as: UTF8.self))
                elt.removeAll()
            }
            continue
        }
        if pos < s.count {
            elt.append(s[pos])
            pos += 1
        }
    }
    if !elt.isEmpty {
        result.append(String(decoding: elt, as: UTF8.self))
    }
    return quoteChar == 0 ? result : nil
}

/// Removes leading and trailing spaces, tabs, CRs and LFs (IceUtilInternal::trim).
func iceTrim(_ s: String) -> String {
    let b = Array(s.utf8)
    guard let first = b.firstIndex(where: { !IceChar.isWhitespace($0) }),
        let last = b.lastIndex(where: { !IceChar.isWhitespace($0) })
    else { return "" }
    return b.utf8Text(first..<(last + 1))
}

/// Parses an integer the way C++ `istringstream >> Int` followed by an `eof()` check does:
/// optional leading whitespace, an optional sign, decimal digits, nothing after, in Int32 range.
func parseCppInt32(_ s: some StringProtocol) -> Int32? {
    var bytes = Substring(s).utf8[...]
    while let c = bytes.first, c == IceChar.space || (c >= 0x09 && c <= 0x0D) {
        bytes = bytes.dropFirst()
    }
    var negative = false
    if let c = bytes.first, c == 0x2B || c == IceChar.minus {
        negative = c == IceChar.minus
        bytes = bytes.dropFirst()
    }
    guard !bytes.isEmpty else { return nil }
    var value: Int64 = 0
    for c in bytes {
        guard c >= 0x30 && c <= 0x39 else { return nil }
        value = value * 10 + Int64(c - 0x30)
        if value > Int64(Int32.max) + 1 { return nil }
    }
    if negative { value = -value }
    return Int32(exactly: value)
}

/// Parses `major.minor` like Ice's stringToMajorMinor (major 1…255, minor 0…255); the error is
/// Ice's VersionParseException text.
func parseMajorMinor(_ s: String) -> Result<(UInt8, UInt8), VersionParseError> {
    guard let dot = s.firstIndex(of: ".") else {
        return .failure(VersionParseError(reason: "malformed version value `\(s)'"))
    }
    guard let major = parseCppInt32(s[..<dot]) else {
        return .failure(VersionParseError(reason: "invalid major version value `\(s)'"))
    }
    guard let minor = parseCppInt32(s[s.index(after: dot)...]) else {
        return .failure(VersionParseError(reason: "invalid minor version value `\(s)'"))
    }
    guard (1...255).contains(major), (0...255).contains(minor) else {
        return .failure(VersionParseError(reason: "range error in version `\(s)'"))
    }
    return .success((UInt8(major), UInt8(minor)))
}

/// Why a `major.minor` version string was rejected.
struct VersionParseError: Error {
    var reason: String
}
