/// Base64 exactly as Ice 3.7's IceInternal::Base64 (used by opaque endpoints' `-v`): the encoder
/// breaks lines after 76 characters with CRLF, the decoder ignores non-alphabet characters and
/// pads a short final group with `A`.
enum IceBase64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Whether `c` is accepted in a `-v` value (the alphabet plus `=`).
    static func isBase64(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39)
            || c == 0x2B || c == 0x2F || c == 0x3D
    }

    private static func value(_ c: UInt8) -> UInt8 {
        switch c {
        case 0x41...0x5A: return c - 0x41
        case 0x61...0x7A: return c - 0x61 + 26
        case 0x30...0x39: return c - 0x30 + 52
        case 0x2B: return 62
        default: return 63
        }
    }

    static func encode(_ bytes: [UInt8]) -> String {
        guard !bytes.isEmpty else { return "" }
        var chars: [UInt8] = []
        chars.reserveCapacity(bytes.count * 4 / 3 + 4)
        var i = 0
        while i < bytes.count {
            let b1 = bytes[i]
            let b2: UInt8 = i + 1 < bytes.count ? bytes[i + 1] : 0
            let b3: UInt8 = i + 2 < bytes.count ? bytes[i + 2] : 0
            chars.append(alphabet[Int(b1 >> 2)])
            chars.append(alphabet[Int(((b1 & 0x3) << 4) | (b2 >> 4))])
            chars.append(i + 1 < bytes.count ? alphabet[Int(((b2 & 0xF) << 2) | (b3 >> 6))] : 0x3D)
            chars.append(i + 2 < bytes.count ? alphabet[Int(b3 & 0x3F)] : 0x3D)
            i += 3
        }
        var out: [UInt8] = []
        var start = 0
        while chars.count - start > 76 {
            out.append(contentsOf: chars[start..<(start + 76)])
            out.append(contentsOf: [0x0D, 0x0A])
            start += 76
        }
        out.append(contentsOf: chars[start...])
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8] {
        let s = text.utf8.filter(isBase64)
        var out: [UInt8] = []
        out.reserveCapacity(s.count * 3 / 4 + 1)
        var i = 0
        while i < s.count {
            let c1 = s[i]
            let c2: UInt8 = i + 1 < s.count ? s[i + 1] : 0x41
            let c3: UInt8 = i + 2 < s.count ? s[i + 2] : 0x41
            let c4: UInt8 = i + 3 < s.count ? s[i + 3] : 0x41
            let (b1, b2, b3, b4) = (value(c1), value(c2), value(c3), value(c4))
            out.append((b1 << 2) | (b2 >> 4))
            if c3 != 0x3D { out.append(((b2 & 0xF) << 4) | (b3 >> 2)) }
            if c4 != 0x3D { out.append(((b3 & 0x3) << 6) | b4) }
            i += 4
        }
        return out
    }
}
