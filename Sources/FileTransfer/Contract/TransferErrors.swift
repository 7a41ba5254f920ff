import Ice

// Mapping of the exceptions of slice/FileTransfer.ice. Each class writes its own slice, then
// its base's, so a peer that knows only `TransferError` can still read a derived error (the
// interfaces use the sliced format).

/// Base of every error the service reports; `reason` says what went wrong and what to do.
public class TransferError: UserException, @unchecked Sendable {
    public var reason: String

    public required init() { reason = "" }
    public init(reason: String) { self.reason = reason }

    public override class var ice_staticId: String { "::FileTransfer::TransferError" }
    public override var description: String { "\(ice_id): \(reason)" }

    public override func _writeSlices(to ostr: inout OutputStream) {
        ostr.startSlice(typeId: TransferError.ice_staticId, isLast: true)
        ostr.write(reason)
        ostr.endSlice()
    }

    public override func _readSlices(from istr: inout InputStream) throws {
        try istr.startSlice()
        reason = try istr.read()
        try istr.endSlice()
    }
}

/// The path is absolute, contains "..", NUL, or escapes the root.
public final class PathError: TransferError, @unchecked Sendable {
    public var path = ""

    public required init() { super.init() }
    public init(reason: String, path: String) {
        self.path = path
        super.init(reason: reason)
    }

    public override class var ice_staticId: String { "::FileTransfer::PathError" }

    public override func _writeSlices(to ostr: inout OutputStream) {
        ostr.startSlice(typeId: PathError.ice_staticId, isLast: false)
        ostr.write(path)
        ostr.endSlice()
        super._writeSlices(to: &ostr)
    }

    public override func _readSlices(from istr: inout InputStream) throws {
        try istr.startSlice()
        path = try istr.read()
        try istr.endSlice()
        try super._readSlices(from: &istr)
    }
}

/// The path exists and overwrite was not asked, or another client is uploading it.
public final class ConflictError: TransferError, @unchecked Sendable {
    public var path = ""

    public required init() { super.init() }
    public init(reason: String, path: String) {
        self.path = path
        super.init(reason: reason)
    }

    public override class var ice_staticId: String { "::FileTransfer::ConflictError" }

    public override func _writeSlices(to ostr: inout OutputStream) {
        ostr.startSlice(typeId: ConflictError.ice_staticId, isLast: false)
        ostr.write(path)
        ostr.endSlice()
        super._writeSlices(to: &ostr)
    }

    public override func _readSlices(from istr: inout InputStream) throws {
        try istr.startSlice()
        path = try istr.read()
        try istr.endSlice()
        try super._readSlices(from: &istr)
    }
}

/// A chunk lies outside the declared size.
public final class RangeError: TransferError, @unchecked Sendable {
    public var offset: Int64 = 0
    public var length: Int32 = 0
    public var size: Int64 = 0

    public required init() { super.init() }
    public init(reason: String, offset: Int64, length: Int32, size: Int64) {
        self.offset = offset
        self.length = length
        self.size = size
        super.init(reason: reason)
    }

    public override class var ice_staticId: String { "::FileTransfer::RangeError" }

    public override func _writeSlices(to ostr: inout OutputStream) {
        ostr.startSlice(typeId: RangeError.ice_staticId, isLast: false)
        ostr.write(offset)
        ostr.write(length)
        ostr.write(size)
        ostr.endSlice()
        super._writeSlices(to: &ostr)
    }

    public override func _readSlices(from istr: inout InputStream) throws {
        try istr.startSlice()
        offset = try istr.read()
        length = try istr.read()
        size = try istr.read()
        try istr.endSlice()
        try super._readSlices(from: &istr)
    }
}

/// The data does not match its checksum, or a chunk does not inflate.
public final class IntegrityError: TransferError, @unchecked Sendable {
    public var expected = ""
    public var actual = ""

    public required init() { super.init() }
    public init(reason: String, expected: String, actual: String) {
        self.expected = expected
        self.actual = actual
        super.init(reason: reason)
    }

    public override class var ice_staticId: String { "::FileTransfer::IntegrityError" }

    public override func _writeSlices(to ostr: inout OutputStream) {
        ostr.startSlice(typeId: IntegrityError.ice_staticId, isLast: false)
        ostr.write(expected)
        ostr.write(actual)
        ostr.endSlice()
        super._writeSlices(to: &ostr)
    }

    public override func _readSlices(from istr: inout InputStream) throws {
        try istr.startSlice()
        expected = try istr.read()
        actual = try istr.read()
        try istr.endSlice()
        try super._readSlices(from: &istr)
    }
}

/// No space, quota exceeded, or an I/O error on the server.
public final class StorageError: TransferError, @unchecked Sendable {
    public required init() { super.init() }
    public override init(reason: String) { super.init(reason: reason) }

    public override class var ice_staticId: String { "::FileTransfer::StorageError" }

    public override func _writeSlices(to ostr: inout OutputStream) {
        ostr.startSlice(typeId: StorageError.ice_staticId, isLast: false)
        ostr.endSlice()
        super._writeSlices(to: &ostr)
    }

    public override func _readSlices(from istr: inout InputStream) throws {
        try istr.startSlice()
        try istr.endSlice()
        try super._readSlices(from: &istr)
    }
}

/// The exceptions the contract's operations declare (`throws TransferError`), most-derived first.
public let transferErrorTypes: [UserException.Type] = [
    PathError.self, ConflictError.self, RangeError.self, IntegrityError.self, StorageError.self,
    TransferError.self,
]
