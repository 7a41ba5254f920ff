import Foundation
import Ice
import NIOCore
import XCTest

@testable import FileTransfer

/// A simulated link in front of the fake store: each `send` dispatch is answered once a
/// bottleneck of `rate` bytes/s has carried its bytes (one chunk after another) plus a fixed
/// `delay` (the rest of the round trip), with `DispatchQueue.asyncAfter` as the clock of the
/// link. It records how many dispatches are outstanding at the server.
final class SimulatedLinkGate: SendGate, @unchecked Sendable {
    let rate: Double?
    let delay: Double
    private let lock = NSLock()
    private var linkFree = DispatchTime.now()
    private var outstanding = 0
    private(set) var maxOutstanding = 0
    private(set) var arrivals = 0
    private let queue = DispatchQueue(label: "simulated-link", attributes: .concurrent)

    /// - Parameters:
    ///   - rate: bottleneck bytes per second (nil: unlimited).
    ///   - delay: seconds added to every reply.
    init(rate: Double?, delay: Double) {
        self.rate = rate
        self.delay = delay
    }

    func arrived(offset: Int64, length: Int, current: Current) -> Future<Void>? {
        let f = Future<Void>()
        let due: DispatchTime = lock.withLock {
            outstanding += 1
            arrivals += 1
            maxOutstanding = max(maxOutstanding, outstanding)
            var done = DispatchTime.now()
            if let rate {
                let start = max(done, linkFree)
                linkFree = start + .nanoseconds(Int(Double(length) / rate * 1e9))
                done = linkFree
            }
            return done + .nanoseconds(Int(delay * 1e9))
        }
        queue.asyncAfter(deadline: due) { [self] in
            lock.withLock { outstanding -= 1 }
            f.setResult(())
        }
        return f
    }

    var snapshot: (max: Int, arrivals: Int) { lock.withLock { (maxOutstanding, arrivals) } }
}

final class ClientAutoWindowTests: FakeStoreTestCase {
    private func autoOptions(chunk: Int, cap: Int) -> SendOptions {
        var o = SendOptions()
        o.chunkSize = chunk
        o.windowSetting = .auto
        o.maxBytesInFlight = cap
        o.initialBackoff = .milliseconds(10)
        o.invocationTimeout = .seconds(30)
        return o
    }

    private func send(_ data: [UInt8], to remote: String, _ options: SendOptions) throws -> SendResult {
        let path = try temp.file(remote, data)
        let sender = Sender(store: try server.storePrx, options: options)
        let result = try runWithDeadline { try sender.send(file: path, to: remote) }
        XCTAssertEqual(server.store.file(remote), data)
        return result
    }

    // MARK: The slot counter

    func testSlotLimitGrowsAndShrinksBetweenRequests() {
        let slots = InFlightWindow(limit: 2)
        XCTAssertTrue(slots.tryAcquire())
        XCTAssertTrue(slots.tryAcquire())
        XCTAssertFalse(slots.tryAcquire(), "2 outstanding with a window of 2")
        slots.setLimit(4)
        XCTAssertTrue(slots.tryAcquire())
        XCTAssertTrue(slots.tryAcquire())
        XCTAssertFalse(slots.tryAcquire())
        XCTAssertEqual(slots.inFlight, 4)
        // Shrinking takes nothing back, but no request starts until fewer than 2 are outstanding.
        slots.setLimit(2)
        XCTAssertEqual(slots.limit, 2)
        XCTAssertEqual(slots.maxLimit, 4)
        slots.complete(error: nil)
        XCTAssertFalse(slots.tryAcquire(), "3 outstanding with a window of 2")
        slots.complete(error: nil)
        XCTAssertFalse(slots.tryAcquire(), "2 outstanding with a window of 2")
        slots.complete(error: nil)
        XCTAssertTrue(slots.tryAcquire(), "1 outstanding with a window of 2")
        XCTAssertEqual(slots.inFlight, 2)
        slots.setLimit(0)
        XCTAssertEqual(slots.limit, 1, "the window is at least 1")
    }

    /// What a test sees of a request started on a sender thread of its own.
    private struct WaitingRequest {
        /// The thread that ran the request's start, once one did.
        let startedOn = ThreadBox()
        /// What `start` threw, if it did.
        let outcome = ErrorBox()
        /// Signalled when `start` returned or threw.
        let returned = DispatchSemaphore(value: 0)
    }

    /// A window of 1 with one request in flight (started at once, on this thread), and a second
    /// request started on a new thread; returns once that sender waits for a slot (its `tick`
    /// ran, which it does only while waiting).
    private func windowWithWaitingRequest() throws -> (InFlightWindow, WaitingRequest) {
        let slots = InFlightWindow(limit: 1)
        let here = Thread.current
        let first = ThreadBox()
        try slots.start({ first.set(Thread.current) }, interval: .seconds(1), tick: {})
        XCTAssertTrue(first.get() === here, "a free slot: started at once, on the sender's thread")

        let request = WaitingRequest()
        let waiting = DispatchSemaphore(value: 0)
        Thread {
            var told = false
            do {
                try slots.start({ request.startedOn.set(Thread.current) }, interval: .milliseconds(5), tick: {
                    if !told { told = true; waiting.signal() }
                })
            } catch {
                request.outcome.set(error)
            }
            request.returned.signal()
        }.start()
        XCTAssertEqual(waiting.wait(timeout: .now() + 10), .success, "the sender waits for a slot")
        XCTAssertNil(request.startedOn.get(), "nothing starts while the window is full")
        return (slots, request)
    }

    /// A request that finds the window full is started by the reply that frees a slot, on the
    /// thread delivering it, so its sender need not be woken first; the sender returns after.
    func testWaitingRequestIsStartedByTheReplyThatFreesASlot() throws {
        let (slots, request) = try windowWithWaitingRequest()
        let replyThread = Thread { slots.complete(error: nil) }
        replyThread.start()
        XCTAssertEqual(request.returned.wait(timeout: .now() + 10), .success)
        XCTAssertTrue(request.startedOn.get() === replyThread, "started by the thread that freed the slot")
        XCTAssertNil(request.outcome.get())
        XCTAssertEqual(slots.inFlight, 1)
    }

    /// A request in flight fails while another waits: the waiting one is not started, and its
    /// sender gets the failure.
    func testWaitingRequestIsNotStartedAfterAFailure() throws {
        let (slots, request) = try windowWithWaitingRequest()
        slots.complete(error: ConnectionLostException("lost"))
        XCTAssertEqual(request.returned.wait(timeout: .now() + 10), .success)
        XCTAssertNil(request.startedOn.get())
        XCTAssertTrue(request.outcome.get() is ConnectionLostException)
        XCTAssertEqual(slots.inFlight, 0)
    }

    /// A larger limit starts a waiting request, on the thread that set it.
    func testGrowingTheLimitStartsAWaitingRequest() throws {
        let (slots, request) = try windowWithWaitingRequest()
        slots.setLimit(2)
        XCTAssertTrue(request.startedOn.get() === Thread.current)
        XCTAssertEqual(request.returned.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(slots.inFlight, 2)
    }

    func testReadAheadPoolFollowsItsSize() {
        let pool = TokenPool(2)
        XCTAssertTrue(pool.acquire())
        XCTAssertTrue(pool.acquire())
        pool.resize(to: 3)
        XCTAssertTrue(pool.acquire())
        XCTAssertEqual(pool.size, 3)
        pool.resize(to: 1)
        pool.release()
        pool.release()
        // One token is still out with a size of 1: the next acquire would wait; cancel instead.
        pool.cancel()
        XCTAssertFalse(pool.acquire())
    }

    // MARK: The sender with --window auto

    /// Replies delayed by 20 ms with an unlimited link: the bandwidth-delay product keeps growing
    /// with the window, so the window climbs to the memory cap and stays there, never beyond.
    func testAutoWindowGrowsToTheCapAndNeverExceedsIt() throws {
        let chunk = 32 * 1024
        let gate = SimulatedLinkGate(rate: nil, delay: 0.02)
        server.store.gate = gate
        let cap = 16 * chunk
        let result = try send(randomBytes(chunk * 160), to: "cap.bin", autoOptions(chunk: chunk, cap: cap))
        XCTAssertTrue(result.autoWindow)
        XCTAssertEqual(result.maxWindow, 16, "the window grows to the cap")
        XCTAssertEqual(result.window, 16)
        XCTAssertEqual(result.maxBytesInFlight, cap)
        XCTAssertLessThanOrEqual(gate.snapshot.max, 16, "never more outstanding than the cap")
        XCTAssertGreaterThan(gate.snapshot.max, 8, "more outstanding than the initial window")
        let rtt = try XCTUnwrap(result.roundTrip)
        XCTAssertGreaterThanOrEqual(rtt, .milliseconds(20))
    }

    /// A cap below the initial window: the window starts, and stays, at the cap.
    func testSmallCapBoundsTheWindowFromTheStart() throws {
        let chunk = 16 * 1024
        let gate = SimulatedLinkGate(rate: nil, delay: 0.005)
        server.store.gate = gate
        let result = try send(randomBytes(chunk * 40 + 3), to: "small-cap.bin", autoOptions(chunk: chunk, cap: 3 * chunk + 100))
        XCTAssertEqual(result.maxWindow, 3)
        XCTAssertEqual(result.window, 3)
        XCTAssertLessThanOrEqual(gate.snapshot.max, 3)
        // A cap below one chunk still sends, one request at a time.
        server.store.gate = SimulatedLinkGate(rate: nil, delay: 0)
        let tiny = try send(randomBytes(chunk * 3), to: "tiny-cap.bin", autoOptions(chunk: chunk, cap: 1000))
        XCTAssertEqual(tiny.maxWindow, 1)
    }

    /// A bottleneck of 4 MB/s and 50 ms more per reply (a WAN link, scaled down so that the
    /// in-test server is never what limits): the window grows past its start while throughput
    /// rises, settles near twice the bandwidth-delay product plus one (the BDP is about 13
    /// chunks of 16 KiB here), far below the cap, and keeps the link busy (a fixed window of 8
    /// would reach about 60 % of the rate).
    func testAutoWindowSettlesNearTheBandwidthDelayProduct() throws {
        let chunk = 16 * 1024
        let rate = 4e6
        let gate = SimulatedLinkGate(rate: rate, delay: 0.05)
        server.store.gate = gate
        let data = randomBytes(chunk * 200)  // 3.3 MB: about 0.8 s on the link
        let result = try send(data, to: "bdp.bin", autoOptions(chunk: chunk, cap: 64 << 20))
        let maxWindow = try XCTUnwrap(result.maxWindow)
        XCTAssertGreaterThan(maxWindow, 8, "the window grew while throughput rose")
        XCTAssertLessThan(maxWindow, 64, "the window stays near 2 x BDP, far below the cap of 4096 chunks")
        XCTAssertGreaterThanOrEqual(result.window, 10)
        XCTAssertLessThanOrEqual(gate.snapshot.max, maxWindow)
        // The link was kept busy: at least 75 % of the simulated rate over the data phase, ramp
        // and last round trip included.
        let dataSeconds = try XCTUnwrap(result.dataSeconds)
        XCTAssertGreaterThan(Double(data.count) / dataSeconds, 0.75 * rate, "window \(result.window), max \(maxWindow)")
    }

    /// `--window 1` stays stop-and-wait whatever the link: auto never applies to a fixed window.
    func testFixedWindowOneStaysHonestOnADelayedLink() throws {
        let chunk = 16 * 1024
        let gate = SimulatedLinkGate(rate: nil, delay: 0.002)
        server.store.gate = gate
        var o = autoOptions(chunk: chunk, cap: 64 << 20)
        o.windowSetting = 1
        let result = try send(randomBytes(chunk * 30), to: "w1.bin", o)
        XCTAssertEqual(gate.snapshot.max, 1)
        XCTAssertEqual(result.window, 1)
        XCTAssertFalse(result.autoWindow)
        XCTAssertNil(result.maxWindow)
    }

    func testDownloadWithAutoWindow() throws {
        let data = randomBytes(600_000)
        server.store.put("dl.bin", data)
        var o = DownloadOptions()
        o.chunkSize = 20_000
        o.windowSetting = .auto
        o.maxBytesInFlight = 100_000
        let d = Downloader(store: try server.storePrx, options: o)
        let target = temp.path + "/dl.bin"
        let got = try runWithDeadline { try d.download("dl.bin", to: target) }
        XCTAssertEqual(try temp.read("dl.bin"), data)
        XCTAssertTrue(got.autoWindow)
        XCTAssertLessThanOrEqual(try XCTUnwrap(got.maxWindow), 5)
        XCTAssertNotNil(got.roundTrip)
    }

    // MARK: Settings and output

    func testWindowSettingFromFlagsAndProperties() throws {
        func resolve(_ props: [String], _ flags: ClientSettings.Flags = .init()) throws -> ClientSettings {
            var args = ["ftclient"] + props
            return try ClientSettings.resolve(try Properties(arguments: &args), flags: flags)
        }
        XCTAssertEqual(try resolve([]).window, ClientSettings.defaultWindow)
        XCTAssertEqual(try resolve(["--FileClient.Window=auto"]).window, .auto)
        XCTAssertEqual(try resolve(["--FileClient.Window=AUTO"]).window, .auto)
        XCTAssertEqual(try resolve(["--FileClient.Window=3"]).window, 3)
        var flags = ClientSettings.Flags()
        flags.window = 1
        XCTAssertEqual(try resolve(["--FileClient.Window=auto"], flags).window, 1, "the flag wins")
        flags.window = .auto
        let auto = try resolve(["--FileClient.Window=6", "--FileClient.MaxInFlight=8MiB"], flags)
        XCTAssertEqual(auto.window, .auto)
        XCTAssertEqual(auto.maxInFlight, 8 << 20)
        XCTAssertTrue(auto.sendOptions.autoWindow)
        XCTAssertEqual(auto.sendOptions.maxBytesInFlight, 8 << 20)
        XCTAssertTrue(auto.downloadOptions.autoWindow)
        XCTAssertEqual(try resolve([]).maxInFlight, 64 << 20)
        var capFlag = ClientSettings.Flags()
        capFlag.maxInFlight = "1MiB"
        XCTAssertEqual(try resolve(["--FileClient.MaxInFlight=8MiB"], capFlag).maxInFlight, 1 << 20)
        let fixed = try resolve(["--FileClient.Window=5"])
        XCTAssertFalse(fixed.sendOptions.autoWindow)
        XCTAssertEqual(fixed.sendOptions.window, 5)

        for bad in ["--FileClient.Window=0", "--FileClient.Window=1025", "--FileClient.Window=fast", "--FileClient.MaxInFlight=lots"] {
            XCTAssertThrowsError(try resolve([bad]), bad) { XCTAssertTrue($0 is UsageError, "\(bad): \($0)") }
        }
        XCTAssertEqual(WindowSetting.parse(" auto "), .auto)
        XCTAssertEqual(WindowSetting.parse("12"), .fixed(12))
        XCTAssertNil(WindowSetting.parse("12x"))
        XCTAssertEqual(WindowSetting.auto.description, "auto")
    }

    /// config/ftclient.conf lists the defaults, `Window = auto`, `MaxInFlight = 64MiB` and
    /// `Checksum = xxh3` included.
    func testShippedConfigListsTheDefaults() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let config = repo.appendingPathComponent("config/ftclient.conf").path
        var args = ["ftclient", "--Ice.Config=\(config)"]
        let properties = try Properties(arguments: &args)
        XCTAssertEqual(properties.getProperty("FileClient.Window"), "auto")
        XCTAssertEqual(properties.getProperty("FileClient.MaxInFlight"), "64MiB")
        XCTAssertEqual(properties.getProperty("FileClient.Checksum"), "xxh3")
        XCTAssertEqual(try ClientSettings.resolve(properties, flags: .init()), ClientSettings())
    }

    private func sampleResult(auto: Bool) -> SendResult {
        var r = SendResult(
            info: FileInfo(path: "a.bin", size: 1 << 20, checksum: "xxh64:" + String(repeating: "cd", count: 8), modified: 1_700_000_000),
            localPath: "/tmp/a.bin", remotePath: "a.bin", bytes: 1 << 20, sentBytes: 1 << 20, wireBytes: 1 << 20,
            resumedBytes: 0, chunks: 4, compressedChunks: 0, reconnects: 0, seconds: 0.5,
            checksum: Checksum(xxh64: 0xcdcd_cdcd_cdcd_cdcd), chunkSize: 262_144, window: auto ? 13 : 8, compression: .off)
        if auto {
            r.autoWindow = true
            r.roundTrip = .microseconds(20_345)
            r.maxWindow = 15
            r.maxBytesInFlight = 64 << 20
        }
        r.dataSeconds = 0.4
        return r
    }

    func testSummariesReportTheAutoWindow() throws {
        let text = try ClientOutput.json(SendSummary(sampleResult(auto: true)))
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        XCTAssertEqual(object["window"] as? Int, 13)
        XCTAssertEqual(object["windowMode"] as? String, "auto")
        XCTAssertEqual(try XCTUnwrap(object["rttMs"] as? Double), 20.345, accuracy: 1e-9)
        XCTAssertEqual(object["maxWindow"] as? Int, 15)
        XCTAssertEqual(object["maxInFlight"] as? Int, 64 << 20)

        let fixed = try ClientOutput.json(SendSummary(sampleResult(auto: false)))
        let fixedObject = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(fixed.utf8)) as? [String: Any])
        for key in ["windowMode", "rttMs", "maxWindow", "maxInFlight"] {
            XCTAssertNil(fixedObject[key], "\(key) only with auto")
        }

        let summary = ClientOutput.summary(sampleResult(auto: true))
        XCTAssertTrue(summary.contains("window 13 (auto: RTT 20.3 ms, max 15, cap 64.0 MiB)"), summary)
        XCTAssertTrue(summary.contains("(data 0.40 s at 2.62 MB/s)"), summary)
        XCTAssertFalse(ClientOutput.summary(sampleResult(auto: false)).contains("auto"))
    }
}

final class ThreadBox: @unchecked Sendable {
    private let lock = NSLock()
    private var thread: Thread?
    func set(_ t: Thread) { lock.withLock { thread = t } }
    func get() -> Thread? { lock.withLock { thread } }
}

final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var error: (any Error)?
    func set(_ e: any Error) { lock.withLock { error = e } }
    func get() -> (any Error)? { lock.withLock { error } }
}
