import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading the file being sent.
enum LocalFileRead {
    /// Appends exactly `count` bytes of `fd`, from `offset`, to `buffer` (pread: the
    /// descriptor's offset is not used). A file that ends sooner shrank while being sent.
    static func append(count: Int, at offset: Int64, of fd: Int32, path: String, to buffer: inout ByteBuffer) throws {
        var done = 0
        while done < count {
            var failure: Int32 = 0
            let n = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count - done) { ptr -> Int in
                let r = pread(fd, ptr.baseAddress, count - done, off_t(offset + Int64(done)))
                if r < 0 { failure = errno; return 0 }
                return r
            }
            if failure == EINTR { continue }
            if failure != 0 {
                throw LocalFileError(.unreadable, path: path, reason: String(cString: strerror(failure)))
            }
            if n == 0 {
                throw LocalFileError(
                    .changed, path: path,
                    reason: "it shrank to \(offset + Int64(done)) bytes while being sent; send it again once it is complete")
            }
            done += n
        }
    }
}
