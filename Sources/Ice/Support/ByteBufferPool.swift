import NIOConcurrencyHelpers
import NIOCore

/// Large buffers lent again once nothing references them: inbound messages in a communicator,
/// file chunks in a sender.
///
/// A buffer is handed back with `recycle` as soon as its owner passes it on; the pool lends it
/// again only once nothing else references it (every slice of it — a request's byte sequence
/// waiting in a job queue, say — has been released). Of the free buffers it lends the one
/// recycled last, which is the likeliest to be still in the CPU's caches. Reusing buffers saves
/// a large allocation, and the kernel's fresh zeroed pages behind it, per use; the pool never
/// holds more than `maxBytes`, beyond which buffers are simply freed, and `trim` frees those
/// left unused for a while.
public final class ByteBufferPool: Sendable {
    /// Requests smaller than this get a buffer of their own (a small allocation is cheap).
    public let minimumSize: Int
    /// The most bytes the pool holds, lent and free together.
    public let maxBytes: Int

    private struct Entry {
        var buffer: ByteBuffer
        /// The `trim` period in which the buffer was recycled.
        let recycledIn: Int

        /// Nothing but the pool references it.
        mutating func isFree() -> Bool { buffer.modifyIfUniquelyOwned { _ in true } == true }
    }

    private struct State {
        var entries: [Entry] = []
        var bytes = 0
        /// The number of `trim` calls so far.
        var period = 0
    }

    private let state = NIOLockedValueBox(State())

    public init(maxBytes: Int = 64 << 20, minimumSize: Int = 64 * 1024) {
        self.maxBytes = maxBytes
        self.minimumSize = minimumSize
    }

    /// An empty buffer with room for `capacity` bytes that nothing else references.
    public func take(capacity: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        if capacity >= minimumSize, var reused = takeFree(capacity: capacity) {
            reused.clear()
            return reused
        }
        return allocator.buffer(capacity: capacity)
    }

    /// An empty buffer of exactly `capacity` bytes that nothing else references (a read into it
    /// stops at its end) whose byte at `alignedOffset` lies on a cache line. Buffers of one size
    /// stay aligned when reused; a free buffer with no room to align is let go.
    public func takeAligned(capacity: Int, alignedOffset: Int = 0, allocator: ByteBufferAllocator) -> ByteBuffer {
        if capacity >= minimumSize, var reused = takeFree(capacity: capacity) {
            reused.clear()
            if let exact = reused.alignedSlice(capacity: capacity, alignedOffset: alignedOffset) { return exact }
        }
        return allocator.alignedBuffer(capacity: capacity, alignedOffset: alignedOffset)
    }

    /// Takes a buffer back; it is lent again once nothing else references it.
    public func recycle(_ buffer: ByteBuffer) {
        guard buffer.capacity >= minimumSize else { return }
        state.withLockedValue { s in
            guard s.bytes + buffer.capacity <= maxBytes else { return }
            s.entries.append(Entry(buffer: buffer, recycledIn: s.period))
            s.bytes += buffer.capacity
        }
    }

    /// Lets go of the free buffers that were not lent since the call before, and returns how
    /// many bytes they held. Called periodically (see `Communicator.trimPeriodically`), it gives
    /// back what a burst of traffic left behind once the pool has been idle for a period.
    @discardableResult
    public func trim() -> Int {
        // Removed under the lock, freed after it (unmapping them must not hold up a `take`).
        let (removed, freedBytes) = state.withLockedValue { s in
            var removed: [ByteBuffer] = []
            var freedBytes = 0
            for i in s.entries.indices.reversed() where s.entries[i].recycledIn < s.period && s.entries[i].isFree() {
                let buffer = s.entries.remove(at: i).buffer
                freedBytes += buffer.capacity
                removed.append(buffer)
            }
            s.bytes -= freedBytes
            s.period += 1
            return (removed, freedBytes)
        }
        _ = consume removed
        return freedBytes
    }

    /// Number of buffers the pool holds (lent or free).
    public var count: Int { state.withLockedValue { $0.entries.count } }

    /// The free buffer recycled last among those with room for `capacity` bytes and at most
    /// twice that.
    private func takeFree(capacity: Int) -> ByteBuffer? {
        state.withLockedValue { s in
            for i in s.entries.indices.reversed() {
                let c = s.entries[i].buffer.capacity
                guard c >= capacity, c <= 2 * capacity, s.entries[i].isFree() else { continue }
                s.bytes -= c
                return s.entries.remove(at: i).buffer
            }
            return nil
        }
    }
}
