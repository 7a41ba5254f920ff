import Foundation
import NIOCore

/// The standard checksum (XXH3) of an upload's contiguous prefix `[0, hashedUpTo)`, advanced by the workers as
/// chunks are written, so that `commit` does not have to read the whole file back.
///
/// A chunk that starts exactly at `hashedUpTo` is hashed from the bytes in hand; the upload's
/// writes run in arrival order, so with a client that sends in order every chunk is. One written
/// ahead of it (sent out of order, or after a lost one) is held in memory, up to `maxHeldBytes`,
/// and hashed once the gap before it fills; whatever was not held is read back from the part
/// file (it was recorded only after its write completed). A write over bytes already received
/// (a resend) may change hashed data, so it invalidates the digest and commit hashes the file
/// instead. A client that commits with another algorithm (XXH64, SHA-256) has the file hashed
/// at commit instead.
final class PrefixDigest: @unchecked Sendable {
    /// Bytes of chunks written ahead of the prefix that are kept for hashing.
    static let maxHeldBytes = 8 << 20

    private let lock = NSLock()
    private var hasher = XXH3()
    private var hashedUpTo: Int64 = 0
    private var valid = true
    /// Chunks written ahead of `hashedUpTo`, by offset.
    private var held: [Int64: ByteBuffer] = [:]
    private var heldBytes = 0

    /// A resend overwrote received bytes: the digest can no longer be trusted.
    func invalidate() {
        lock.lock()
        valid = false
        held = [:]
        heldBytes = 0
        lock.unlock()
    }

    /// Called after `bytes` were written at `range.lowerBound` and recorded as received;
    /// `contiguousEnd` is the end of the received prefix `[0, …)` now.
    func wrote(_ range: Range<Int64>, bytes: ByteBuffer, contiguousEnd: Int64, fd: Int32, path: String) throws(SystemCallError) {
        lock.lock()
        defer { lock.unlock() }
        guard valid else { return }
        if range.lowerBound == hashedUpTo {
            hash(bytes)
        } else if range.lowerBound > hashedUpTo, heldBytes + bytes.readableBytes <= Self.maxHeldBytes {
            held[range.lowerBound] = bytes
            heldBytes += bytes.readableBytes
        }
        // Catch up with chunks that were written ahead of this one.
        var scratch: UnsafeMutableRawBufferPointer?
        defer { scratch?.deallocate() }
        while hashedUpTo < contiguousEnd {
            if let next = held.removeValue(forKey: hashedUpTo) {
                heldBytes -= next.readableBytes
                hash(next)
                continue
            }
            let buffer = scratch ?? UnsafeMutableRawBufferPointer.allocate(byteCount: FileChecksum.chunkSize, alignment: 16)
            scratch = buffer
            let nextHeld = held.keys.filter { $0 > hashedUpTo }.min() ?? contiguousEnd
            let want = Int(min(Int64(buffer.count), min(contiguousEnd, nextHeld) - hashedUpTo))
            let got = try StorageIO.preadFully(fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]), at: hashedUpTo, path: path)
            guard got == want else {
                valid = false
                return
            }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[..<got]))
            hashedUpTo += Int64(got)
        }
    }

    /// The XXH3 of the file if the whole `size` bytes were hashed and no resend invalidated it.
    func final(size: Int64) -> Checksum? {
        lock.lock()
        defer { lock.unlock() }
        guard valid, hashedUpTo == size else { return nil }
        return Checksum(xxh3: hasher.finalize())
    }

    private func hash(_ bytes: ByteBuffer) {
        bytes.withUnsafeReadableBytes { hasher.update($0) }
        hashedUpTo += Int64(bytes.readableBytes)
    }
}
