import Ice

/// `FileTransfer::FileInfo` on the wire: path, size, checksum, modified.
extension FileInfo: IceStreamable {
    public init(from istr: inout InputStream) throws {
        let path = try istr.read(String.self)
        let size = try istr.read(Int64.self)
        let checksum = try istr.read(String.self)
        let modified = try istr.read(Int64.self)
        self.init(path: path, size: size, checksum: checksum, modified: modified)
    }

    public func write(to ostr: inout OutputStream) {
        ostr.write(path)
        ostr.write(size)
        ostr.write(checksum)
        ostr.write(modified)
    }

    public static var minWireSize: Int { 18 }
}
