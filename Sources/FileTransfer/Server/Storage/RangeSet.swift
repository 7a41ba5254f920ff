/// A set of byte offsets kept as sorted, disjoint, non-adjacent half-open ranges
/// `[start, end)`.
///
/// Inserting `[0, 4)` and `[4, 8)` yields the single range `[0, 8)`; empty ranges
/// are ignored.
public struct RangeSet: Equatable, Hashable, Sendable {
    /// The ranges, sorted by `lowerBound`, pairwise disjoint and non-adjacent.
    public private(set) var ranges: [Range<Int64>]

    public init() {
        ranges = []
    }

    public init<S: Sequence>(_ ranges: S) where S.Element == Range<Int64> {
        self.ranges = []
        for range in ranges {
            insert(range)
        }
    }

    /// Rebuilds a set from its `flattened` form (`start, end, start, end, …`).
    ///
    /// Returns nil when the count is odd or a pair has `start > end`; pairs need not
    /// be sorted or disjoint (they are normalised).
    public init?(flattened: [Int64]) {
        guard flattened.count % 2 == 0 else { return nil }
        self.ranges = []
        var index = 0
        while index < flattened.count {
            let start = flattened[index]
            let end = flattened[index + 1]
            guard start <= end else { return nil }
            insert(start..<end)
            index += 2
        }
    }

    public var isEmpty: Bool { ranges.isEmpty }

    /// `start, end, start, end, …` as `Upload.received()` returns it.
    public var flattened: [Int64] {
        var out: [Int64] = []
        out.reserveCapacity(ranges.count * 2)
        for range in ranges {
            out.append(range.lowerBound)
            out.append(range.upperBound)
        }
        return out
    }

    /// Number of bytes covered.
    public var coveredBytes: Int64 {
        ranges.reduce(0) { $0 + ($1.upperBound - $1.lowerBound) }
    }

    /// Index of the first range whose `upperBound >= offset` (binary search).
    private func firstIndex(endingAtOrAfter offset: Int64) -> Int {
        var low = 0
        var high = ranges.count
        while low < high {
            let mid = (low + high) / 2
            if ranges[mid].upperBound < offset {
                low = mid + 1
            } else {
                high = mid
            }
        }
        return low
    }

    /// Adds `range`, merging it with every range it overlaps or touches.
    public mutating func insert(_ range: Range<Int64>) {
        guard !range.isEmpty else { return }
        var start = range.lowerBound
        var end = range.upperBound
        let first = firstIndex(endingAtOrAfter: start)
        var last = first
        while last < ranges.count && ranges[last].lowerBound <= end {
            start = min(start, ranges[last].lowerBound)
            end = max(end, ranges[last].upperBound)
            last += 1
        }
        ranges.replaceSubrange(first..<last, with: [start..<end])
    }

    /// Whether the byte at `offset` is covered.
    public func contains(_ offset: Int64) -> Bool {
        guard offset < Int64.max else { return false }  // no range can end past Int64.max
        // First range ending strictly after offset; it covers offset iff it starts at or before it.
        let index = firstIndex(endingAtOrAfter: offset + 1)
        return index < ranges.count && ranges[index].lowerBound <= offset
    }

    /// Whether every byte of `range` is covered (true for an empty range).
    public func contains(_ range: Range<Int64>) -> Bool {
        guard !range.isEmpty else { return true }
        let index = firstIndex(endingAtOrAfter: range.lowerBound + 1)
        guard index < ranges.count else { return false }
        let candidate = ranges[index]
        return candidate.lowerBound <= range.lowerBound && range.upperBound <= candidate.upperBound
    }

    /// Whether any byte of `range` is covered.
    public func overlaps(_ range: Range<Int64>) -> Bool {
        guard !range.isEmpty else { return false }
        let index = firstIndex(endingAtOrAfter: range.lowerBound + 1)
        return index < ranges.count && ranges[index].lowerBound < range.upperBound
    }

    /// The end of the covered run that contains `start`, or `start` if it is not covered.
    public func contiguousEnd(from start: Int64) -> Int64 {
        let index = firstIndex(endingAtOrAfter: start + 1)
        guard index < ranges.count, ranges[index].lowerBound <= start else { return start }
        return ranges[index].upperBound
    }

    /// Whether every range of `self` is covered by `other`.
    public func isSubset(of other: RangeSet) -> Bool {
        ranges.allSatisfy { other.contains($0) }
    }

    /// The sub-ranges of `bounds` that are not covered, in order: what a resuming
    /// client still has to send.
    public func missing(in bounds: Range<Int64>) -> [Range<Int64>] {
        guard !bounds.isEmpty else { return [] }
        var gaps: [Range<Int64>] = []
        var cursor = bounds.lowerBound
        var index = firstIndex(endingAtOrAfter: bounds.lowerBound + 1)
        while cursor < bounds.upperBound && index < ranges.count {
            let range = ranges[index]
            if range.lowerBound >= bounds.upperBound { break }
            if range.lowerBound > cursor {
                gaps.append(cursor..<range.lowerBound)
            }
            cursor = max(cursor, range.upperBound)
            index += 1
        }
        if cursor < bounds.upperBound {
            gaps.append(cursor..<bounds.upperBound)
        }
        return gaps
    }

    /// The first uncovered sub-range of `bounds`, or nil when all of it is covered.
    public func firstMissing(in bounds: Range<Int64>) -> Range<Int64>? {
        guard !bounds.isEmpty else { return nil }
        var cursor = bounds.lowerBound
        var index = firstIndex(endingAtOrAfter: bounds.lowerBound + 1)
        while cursor < bounds.upperBound && index < ranges.count {
            let range = ranges[index]
            if range.lowerBound >= bounds.upperBound { break }
            if range.lowerBound > cursor {
                return cursor..<range.lowerBound
            }
            cursor = max(cursor, range.upperBound)
            index += 1
        }
        return cursor < bounds.upperBound ? cursor..<bounds.upperBound : nil
    }

    /// Whether `[0, size)` is entirely covered.
    public func isComplete(size: Int64) -> Bool {
        contains(0..<size)
    }
}

extension RangeSet: CustomStringConvertible {
    public var description: String {
        "[" + ranges.map { "[\($0.lowerBound), \($0.upperBound))" }.joined(separator: ", ") + "]"
    }
}
