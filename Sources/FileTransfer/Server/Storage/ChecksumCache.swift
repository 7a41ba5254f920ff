#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// In-memory cache of file checksums (the standard one, what `stat` and `list` report), keyed by
/// what changes whenever the content can have changed: device, inode, size, modification
/// and status-change times (the latter cannot be set back by users).
final class ChecksumCache: Sendable {
    struct Key: Hashable, Sendable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modifiedSeconds: Int64
        var modifiedNanoseconds: Int64
        var changedSeconds: Int64
        var changedNanoseconds: Int64

        init(_ status: stat) {
            device = UInt64(status.st_dev)
            inode = UInt64(status.st_ino)
            size = Int64(status.st_size)
            modifiedSeconds = StorageIO.modificationSeconds(status)
            modifiedNanoseconds = StorageIO.modificationNanoseconds(status)
            #if os(Linux)
            changedSeconds = Int64(status.st_ctim.tv_sec)
            changedNanoseconds = Int64(status.st_ctim.tv_nsec)
            #else
            changedSeconds = Int64(status.st_ctimespec.tv_sec)
            changedNanoseconds = Int64(status.st_ctimespec.tv_nsec)
            #endif
        }
    }

    private let entries = StoreLocked<[Key: Checksum]>([:])
    let capacity: Int

    init(capacity: Int = 16_384) {
        self.capacity = capacity
    }

    func lookup(_ key: Key) -> Checksum? {
        entries.withLock { $0[key] }
    }

    func store(_ key: Key, _ checksum: Checksum) {
        entries.withLock { entries in
            if entries.count >= capacity && entries[key] == nil {
                entries.removeAll(keepingCapacity: true)  // crude, but bounded and rare
            }
            entries[key] = checksum
        }
    }

    var count: Int { entries.withLock { $0.count } }
}
