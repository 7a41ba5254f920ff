import NIOConcurrencyHelpers
import NIOCore

/// Buffers for large inbound messages, shared by a communicator's connections.
///
/// A message's buffer is handed back with `recycle` as soon as the message is passed on; the pool
/// lends it again only once nothing else references it (every slice of the message — a request's
/// byte sequence waiting in a job queue, say — has been released). Reusing buffers saves a
/// large allocation, and the kernel's fresh zeroed pages behind it, per message; the pool never
/// holds more than `maxBytes`, beyond which buffers are simply freed.
final class FrameBufferPool: Sendable {
    /// Messages smaller than this get a buffer of their own (a small allocation is cheap).
    static let minimumSize = 64 * 1024

    private struct State {
        var buffers: [ByteBuffer] = []
        var bytes = 0
    }

    private let state = NIOLockedValueBox(State())
    let maxBytes: Int

    init(maxBytes: Int = 64 << 20) {
        self.maxBytes = maxBytes
    }

    /// An empty buffer with room for `capacity` bytes that nothing else references.
    func take(capacity: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        if capacity >= Self.minimumSize, var reused = takeIdle(capacity: capacity) {
            reused.clear()
            return reused
        }
        return allocator.buffer(capacity: capacity)
    }

    /// Takes the message's buffer back; it is lent again once nothing else references it.
    func recycle(_ buffer: ByteBuffer) {
        guard buffer.capacity >= Self.minimumSize else { return }
        state.withLockedValue { s in
            guard s.bytes + buffer.capacity <= maxBytes else { return }
            s.buffers.append(buffer)
            s.bytes += buffer.capacity
        }
    }

    /// Number of buffers the pool holds (lent or idle), for tests.
    var count: Int { state.withLockedValue { $0.buffers.count } }

    /// The smallest idle buffer with room for `capacity` bytes and at most twice that.
    private func takeIdle(capacity: Int) -> ByteBuffer? {
        state.withLockedValue { s in
            var best: Int?
            for i in s.buffers.indices {
                let c = s.buffers[i].capacity
                guard c >= capacity, c <= 2 * capacity, best.map({ c < s.buffers[$0].capacity }) ?? true else { continue }
                if s.buffers[i].modifyIfUniquelyOwned({ _ in true }) == true { best = i }
            }
            guard let i = best else { return nil }
            s.bytes -= s.buffers[i].capacity
            return s.buffers.remove(at: i)
        }
    }
}
