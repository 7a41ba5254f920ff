#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Checksums of stored files, streamed over a file descriptor.
enum FileChecksum {
    /// Size of each read while hashing a file.
    static let chunkSize = 1 << 20

    /// The checksum with `algorithm` of everything from offset 0 to end of file, read in
    /// `chunkSize` pieces with pread (the descriptor's offset is not used).
    static func checksum(_ algorithm: ChecksumAlgorithm, fd: Int32, path: String) throws(SystemCallError) -> Checksum {
        try checksums([algorithm], fd: fd, path: path)[0]
    }

    /// One checksum per entry of `algorithms` (in that order), computed in a single read of
    /// the file from offset 0 to its end.
    static func checksums(_ algorithms: [ChecksumAlgorithm], fd: Int32, path: String) throws(SystemCallError) -> [Checksum] {
        var hashers = algorithms.map(ChecksumHasher.init)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var offset: Int64 = 0
        while true {
            let count = try StorageIO.preadFully(fd, into: buffer, at: offset, path: path)
            if count == 0 { break }
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[..<count])
            for i in hashers.indices { hashers[i].update(bytes) }
            offset += Int64(count)
            if count < chunkSize { break }
        }
        return hashers.map { $0.finalize() }
    }
}
