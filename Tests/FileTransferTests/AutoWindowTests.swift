import XCTest

@testable import FileTransfer

/// `AutoWindow` against a simulated link: a pipe of `rate` bytes/s with a fixed round trip, fed
/// by a sender that keeps `window` chunks outstanding.
final class AutoWindowTests: XCTestCase {
    /// Simulates a pipelined transfer over a link and returns the final window and the
    /// throughput of the last half of the transfer (bytes/s).
    func simulate(rate: Double, rtt: Double, chunk: Int, chunks: Int, cap: Int = 64 << 20) -> (window: Int, throughput: Double) {
        var auto = AutoWindow(chunkSize: chunk, maxBytesInFlight: cap)
        let origin = ContinuousClock.now
        func instant(_ t: Double) -> ContinuousClock.Instant { origin + .nanoseconds(Int64(t * 1e9)) }
        var now = 0.0
        var linkFree = 0.0  // when the link finishes serialising what it has
        var outstanding: [(done: Double, mark: AutoWindow.SendMark)] = []
        var sent = 0
        var halfTime = 0.0
        while sent < chunks || !outstanding.isEmpty {
            if sent < chunks && outstanding.count < auto.window {
                let start = max(now, linkFree)
                linkFree = start + Double(chunk) / rate
                outstanding.append((done: linkFree + rtt, mark: auto.mark(at: instant(now))))
                sent += 1
                if sent == chunks / 2 { halfTime = now }
                continue
            }
            outstanding.sort { $0.done < $1.done }
            let first = outstanding.removeFirst()
            now = max(now, first.done)
            auto.replied(first.mark, bytes: chunk, at: instant(now))
        }
        return (auto.window, Double(chunks - chunks / 2) * Double(chunk) / (now - halfTime))
    }

    func testFillsAWideLongLinkWithoutTuning() {
        // RTT 50 ms at 200 Mbit/s, chunk 256 KiB: needs ≥ 6 chunks in flight.
        let r = simulate(rate: 25e6, rtt: 0.05, chunk: 256 << 10, chunks: 2000)
        XCTAssertGreaterThanOrEqual(r.throughput, 0.97 * 25e6)
        XCTAssertGreaterThanOrEqual(r.window, 6)
        XCTAssertLessThanOrEqual(r.window, 16)
    }

    func testFillsAShortFastLink() {
        let r = simulate(rate: 62.5e6, rtt: 0.02, chunk: 256 << 10, chunks: 2000)
        XCTAssertGreaterThanOrEqual(r.throughput, 0.97 * 62.5e6)
    }

    func testStaysSmallWhenTheRoundTripIsShort() {
        let r = simulate(rate: 1e9, rtt: 0.0002, chunk: 1 << 20, chunks: 500)
        XCTAssertLessThanOrEqual(r.window, 5)
    }

    func testNeverExceedsTheMemoryCap() {
        let r = simulate(rate: 125e6, rtt: 0.2, chunk: 1 << 20, chunks: 400, cap: 8 << 20)
        XCTAssertEqual(r.window, 8)
    }
}
