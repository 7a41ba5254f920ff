/// The identity of an Ice object: a name and an optional category.
public struct Identity: Hashable, Sendable, Comparable {
    public var name: String
    public var category: String

    public init(name: String, category: String = "") {
        self.name = name
        self.category = category
    }

    public static func < (lhs: Identity, rhs: Identity) -> Bool {
        (lhs.category, lhs.name) < (rhs.category, rhs.name)
    }
}

/// A request context: string key/value pairs carried with each request.
public typealias Context = [String: String]
