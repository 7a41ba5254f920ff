import Ice

/// Byte counts as people write them: `262144`, `256K`, `256KiB`, `1MiB`, `2 GiB`.
public enum ByteSize {
    /// Parses a decimal byte count with an optional binary-multiple suffix (`B`, `K`/`KB`/`KiB`,
    /// `M`/`MB`/`MiB`, `G`/`GB`/`GiB`, case-insensitive, optionally after a space), like
    /// `Properties.getPropertyAsSize`. Returns nil for anything else, a negative value or an
    /// overflow.
    public static func parse(_ text: String) -> Int? {
        Ice.parseByteSize(text)
    }

    /// `1536` → `1.5 KiB`, `262144` → `256 KiB`, `999` → `999 B`.
    public static func format(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(bytes)
        var unit = 0
        while abs(value) >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(bytes) B" }
        return "\(formatDecimal(value, digits: value >= 100 ? 0 : value >= 10 ? 1 : 2)) \(units[unit])"
    }
}

/// `value` with exactly `digits` decimals (no Foundation formatter needed; `digits` ≤ 6).
func formatDecimal(_ value: Double, digits: Int) -> String {
    guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    guard scaled < 9.0e18 else { return String(value) }
    let n = Int64(scaled)
    let whole = n / Int64(scale)
    let sign = value < 0 && n != 0 ? "-" : ""
    guard digits > 0 else { return "\(sign)\(whole)" }
    var fraction = String(n % Int64(scale))
    while fraction.count < digits { fraction = "0" + fraction }
    return "\(sign)\(whole).\(fraction)"
}

extension StringProtocol {
    func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = lastIndex(where: { !isSpace($0) })!
        return String(self[first...last])
    }
}
