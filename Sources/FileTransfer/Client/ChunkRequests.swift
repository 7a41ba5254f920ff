import Foundation
import Ice
import NIOCore

/// How many requests a transfer keeps outstanding: a fixed number (`--window 8`; 1 is
/// stop-and-wait) or `auto`, which follows the bandwidth-delay product the transfer measures
/// (see `AutoWindow`).
public enum WindowSetting: Sendable, Hashable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    case fixed(Int)
    case auto

    public init(integerLiteral value: Int) { self = .fixed(value) }

    /// `auto` (any case) or a decimal count; nil for anything else. The count is not range
    /// checked here (`ClientSettings.resolve` does that).
    public static func parse(_ text: String) -> WindowSetting? {
        let t = text.trimmingASCIIWhitespace()
        if t.lowercased() == "auto" { return .auto }
        return Int(t).map(WindowSetting.fixed)
    }

    public var description: String {
        switch self {
        case .fixed(let n): return String(n)
        case .auto: return "auto"
        }
    }

    /// The fixed count; nil for `auto`.
    public var fixedCount: Int? {
        if case .fixed(let n) = self { return n }
        return nil
    }
}

/// Options of a transfer whose window is fixed (`window`) or measured (`autoWindow`).
public protocol WindowedTransferOptions {
    var window: Int { get set }
    var autoWindow: Bool { get set }
}

extension WindowedTransferOptions {
    /// The window setting these options describe.
    public var windowSetting: WindowSetting {
        get { autoWindow ? .auto : .fixed(window) }
        set {
            switch newValue {
            case .auto: autoWindow = true
            case .fixed(let n):
                autoWindow = false
                window = n
            }
        }
    }
}

/// `AutoWindow` shared by the thread that sends and the threads that deliver sent callbacks and
/// replies; also remembers the largest window it chose.
final class AutoWindowController: @unchecked Sendable {
    private let lock = NSLock()
    private var auto: AutoWindow
    private var largest: Int

    /// The window `auto` starts with (within the cap): the fixed default it replaces, so that
    /// the first round trip already sends as much as `--window 8` would; the first replies
    /// then shrink or grow it to what the link needs.
    static let initialWindow = 8

    init(chunkSize: Int, maxBytesInFlight: Int, initial: Int = AutoWindowController.initialWindow) {
        auto = AutoWindow(chunkSize: chunkSize, initial: initial, maxBytesInFlight: maxBytesInFlight)
        largest = auto.window
    }

    var window: Int { lock.withLock { auto.window } }
    /// The largest window chosen so far.
    var maxWindow: Int { lock.withLock { largest } }
    /// The memory cap, in chunks.
    var maximum: Int { auto.maximum }
    var roundTrip: Duration? { lock.withLock { auto.roundTrip } }

    func mark() -> AutoWindow.SendMark {
        lock.withLock { auto.mark() }
    }

    /// Records a reply; returns the new window.
    func replied(_ mark: AutoWindow.SendMark, bytes: Int) -> Int {
        lock.withLock {
            auto.replied(mark, bytes: bytes)
            largest = max(largest, auto.window)
            return auto.window
        }
    }
}

/// The request side of an upload, shared by `Sender` and `Tuner`: invokes `send`/`sendCompressed`
/// in a slot of the window and waits until the request is *sent* before returning; the slot comes
/// back when that request's reply arrives. When the window is full, the reply that frees a slot
/// invokes the waiting request on the thread delivering it (the client's event loop), so the
/// request goes out without the sending thread being woken first, and the event loop being woken
/// again by it.
///
/// With an `AutoWindowController`, each request is marked when it is sent and the reply feeds
/// the measured delivery rate and round trip back into the controller, whose new window becomes
/// the slot limit (set before the slot is released, so a waiting sender sees it). The mark is
/// taken by the sent callback of a request the runtime queued and sent later; for one sent on
/// the calling path (the callback's `synchronously`), it is the instant just before the
/// invocation. That flag is also what the runtime reports when a reply arrives before the
/// notification that its request was written (a preempted thread on a busy machine): the
/// earlier instant then keeps such a request from yielding a near-zero round trip.
final class ChunkRequests: @unchecked Sendable {
    let slots: InFlightWindow
    let auto: AutoWindowController?
    let counters = TransferCounters()
    /// Called on the reply thread with the file bytes of each successful reply and its time.
    let onReply: (@Sendable (_ bytes: Int, _ at: ContinuousClock.Instant) -> Void)?

    init(window: Int, auto: AutoWindowController?,
         onReply: (@Sendable (_ bytes: Int, _ at: ContinuousClock.Instant) -> Void)? = nil) {
        self.auto = auto
        self.slots = InFlightWindow(limit: auto?.window ?? max(1, window))
        self.onReply = onReply
    }

    /// The current window.
    var window: Int { slots.limit }

    /// Invokes the request in a slot of the window (throwing the first failure of a request in
    /// flight instead), runs `afterSlot` and waits until the request is sent. When the window is
    /// full the request is started by the reply that frees a slot, on the thread delivering it.
    /// `tick` runs at least every `interval` while waiting for a slot.
    func send(
        _ piece: PreparedChunk, on upload: UploadPrx, interval: Duration, tick: () -> Void, afterSlot: () -> Void = {}
    ) throws {
        let invocation = StartedInvocation()
        let (counters, slots, onReply, auto) = (self.counters, self.slots, self.onReply, self.auto)
        try slots.start({
            // Taken just before the invocation: the send time of a request sent on this path.
            let early = auto?.mark()
            let future: InvocationFuture<Void>
            do {
                if piece.compressed {
                    future = try upload.sendCompressedAsync(offset: piece.offset, length: Int32(piece.length), zlibData: piece.payload)
                } else {
                    future = try upload.sendAsync(offset: piece.offset, bytes: piece.payload)
                }
            } catch {
                invocation.set(.failure(error))
                slots.complete(error: error)
                return
            }
            let length = piece.length
            // With --window auto: when the request went out (the sent callback is registered
            // first, so it runs before the reply callback).
            let mark = auto.map { _ in SentMark() }
            if let auto, let mark, let early {
                future.addSentCallback { _, synchronously in mark.set(synchronously ? early : auto.mark()) }
            }
            future.addDoneCallback { f in
                let error = (try? f.exception()) ?? nil
                if error == nil {
                    counters.ack(length)
                    if let auto, let sent = mark?.get() { slots.setLimit(auto.replied(sent, bytes: length)) }
                    onReply?(length, .now)
                }
                slots.complete(error: error)
            }
            invocation.set(.success(future))
        }, interval: interval, tick: tick)
        afterSlot()
        _ = try invocation.get().sent()
    }

    /// Waits until no request is outstanding; returns the first failure, if any.
    func drain(interval: Duration, tick: () -> Void) -> (any Error)? {
        slots.drain(interval: interval, tick: tick)
    }
}

/// The outcome of a request's invocation, handed from the thread that started it to its sender.
private final class StartedInvocation: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<InvocationFuture<Void>, any Error>?

    func set(_ result: Result<InvocationFuture<Void>, any Error>) {
        lock.withLock { self.result = result }
    }

    /// The started request's future, or the error its invocation threw.
    func get() throws -> InvocationFuture<Void> {
        guard let result = lock.withLock({ self.result }) else {
            preconditionFailure("a request's start returned without an outcome")
        }
        return try result.get()
    }
}
