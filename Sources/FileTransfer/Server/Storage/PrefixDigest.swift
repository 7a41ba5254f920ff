import Foundation

/// The XXH64 of an upload's contiguous prefix `[0, hashedUpTo)`, advanced by the workers as
/// chunks are written, so that `commit` does not have to read the whole file back.
///
/// A chunk that starts exactly at `hashedUpTo` is hashed from the bytes in hand; chunks that
/// arrived earlier out of order are then read back from the part file (they were recorded
/// only after their write completed). A write over bytes already received (a resend) may
/// change hashed data, so it invalidates the digest and commit hashes the file instead.
/// XXH64 is the default checksum of the contract; a client that commits with SHA-256 has the
/// file hashed at commit instead.
final class PrefixDigest: @unchecked Sendable {
    private let lock = NSLock()
    private var hasher = XXH64()
    private var hashedUpTo: Int64 = 0
    private var valid = true

    /// A resend overwrote received bytes: the digest can no longer be trusted.
    func invalidate() {
        lock.lock()
        valid = false
        lock.unlock()
    }

    /// Called after `bytes` were written at `range.lowerBound` and recorded as received;
    /// `contiguousEnd` is the end of the received prefix `[0, …)` now.
    func wrote(
        _ range: Range<Int64>, bytes: UnsafeRawBufferPointer, contiguousEnd: Int64, fd: Int32, path: String
    ) throws(SystemCallError) {
        lock.lock()
        defer { lock.unlock() }
        guard valid else { return }
        if range.lowerBound == hashedUpTo {
            hasher.update(bytes)
            hashedUpTo = range.upperBound
        }
        guard hashedUpTo < contiguousEnd else { return }
        // Catch up with chunks that arrived ahead of this one.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: FileChecksum.chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while hashedUpTo < contiguousEnd {
            let want = Int(min(Int64(buffer.count), contiguousEnd - hashedUpTo))
            let got = try StorageIO.preadFully(fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]), at: hashedUpTo, path: path)
            guard got == want else {
                valid = false
                return
            }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[..<got]))
            hashedUpTo += Int64(got)
        }
    }

    /// The XXH64 of the file if the whole `size` bytes were hashed and no resend invalidated it.
    func final(size: Int64) -> Checksum? {
        lock.lock()
        defer { lock.unlock() }
        guard valid, hashedUpTo == size else { return nil }
        return Checksum(xxh64: hasher.finalize())
    }
}
