/// Chooses the window for `--window auto`: how many chunk requests may be outstanding so the
/// pipe to the server stays full, from what the transfer itself measures.
///
/// Every reply gives a delivery-rate sample (bytes acknowledged between the request's send and
/// its reply, over that time) and a round-trip sample (send to reply). The window is twice the
/// bandwidth-delay product they imply, in chunks, plus one: while the link is not yet full the
/// rate samples grow with the window, so it doubles every round trip; once the link is full the
/// rate stops growing and the window settles. It never exceeds `maxBytesInFlight`.
public struct AutoWindow: Sendable {
    public let chunkSize: Int
    public let minimum: Int
    public let maximum: Int
    public private(set) var window: Int

    private var delivered: Int64 = 0
    private var minRTT: Duration?
    private var rateSamples: [Double] = []  // bytes per second, most recent last
    private static let sampleCount = 64

    /// - Parameters:
    ///   - maxBytesInFlight: memory cap; the window stays at or below this many bytes of chunks.
    public init(chunkSize: Int, initial: Int = 2, maxBytesInFlight: Int = 64 << 20) {
        self.chunkSize = max(1, chunkSize)
        self.minimum = 1
        self.maximum = max(1, maxBytesInFlight / max(1, chunkSize))
        self.window = min(max(1, initial), maximum)
    }

    /// What the sender remembers about a request when it is sent.
    public struct SendMark: Sendable {
        let time: ContinuousClock.Instant
        let deliveredAtSend: Int64
    }

    /// Call when a request is sent.
    public func mark(at time: ContinuousClock.Instant = .now) -> SendMark {
        SendMark(time: time, deliveredAtSend: delivered)
    }

    /// Call when the reply to a request of `bytes` arrives; updates `window`.
    public mutating func replied(_ mark: SendMark, bytes: Int, at time: ContinuousClock.Instant = .now) {
        delivered += Int64(bytes)
        let elapsed = time - mark.time
        guard elapsed > .zero else { return }
        if minRTT.map({ elapsed < $0 }) ?? true { minRTT = elapsed }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        rateSamples.append(Double(delivered - mark.deliveredAtSend) / seconds)
        if rateSamples.count > Self.sampleCount { rateSamples.removeFirst(rateSamples.count - Self.sampleCount) }
        guard let rtt = minRTT, let rate = rateSamples.max() else { return }
        let rttSeconds = Double(rtt.components.seconds) + Double(rtt.components.attoseconds) / 1e18
        let bdpChunks = rate * rttSeconds / Double(chunkSize)
        let target = Int((2 * bdpChunks).rounded(.up)) + 1
        window = min(maximum, max(minimum, target))
    }

    /// The measured minimum round trip (send to reply of one chunk), if any.
    public var roundTrip: Duration? { minRTT }

    /// The highest delivery rate measured recently, in bytes per second.
    public var deliveryRate: Double? { rateSamples.max() }
}
