/// Base of the exceptions an operation declares in its Slice `throws` clause.
///
/// A mapped exception overrides `ice_staticId`, `_writeSlices(to:)` and `_readSlices(from:)`:
/// each class writes/reads its own slice and then calls `super` for its base's slice, so a
/// derived exception travels with all its bases and a peer that knows only a base can read it
/// (sliced format).
open class UserException: Error, CustomStringConvertible, @unchecked Sendable {
    public required init() {}

    /// The Slice type id, e.g. `::FileTransfer::PathError`.
    open class var ice_staticId: String { "::Ice::UserException" }

    /// The most-derived type id of this exception.
    public var ice_id: String { Self.ice_staticId }

    /// Writes this exception's slices, most-derived first.
    open func _writeSlices(to ostr: inout OutputStream) {}

    /// Reads this exception's slices, most-derived first.
    open func _readSlices(from istr: inout InputStream) throws {}

    open var description: String { ice_id }
}

extension OutputStream {
    /// Writes a user exception (all its slices) as the body of a reply encapsulation.
    public mutating func write(userException ex: UserException) {
        ex._writeSlices(to: &self)
    }
}
