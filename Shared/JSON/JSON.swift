/// A JSON value.
///
/// Numbers that are plain integers fitting in `Int64` are `.integer`; every other number
/// (a fraction, an exponent, or an integer too large for `Int64`) is `.double`.
/// Equality is structural and order-sensitive for objects (`.integer(1) != .double(1)`).
public enum JSON: Sendable, Hashable {
    case null
    case bool(Bool)
    case integer(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object(JSONObject)
}

// MARK: - Convenience accessors

extension JSON {
    /// The member `key` of an object (the last one when the key is duplicated); nil otherwise.
    @inlinable
    public subscript(key: String) -> JSON? {
        guard case .object(let object) = self else { return nil }
        return object[key]
    }

    /// The element at `index` of an array; nil when not an array or out of range.
    @inlinable
    public subscript(index: Int) -> JSON? {
        guard case .array(let array) = self, array.indices.contains(index) else { return nil }
        return array[index]
    }

    @inlinable public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    @inlinable public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    @inlinable public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// An `.integer`, or a `.double` holding an integral value exactly representable as `Int64`.
    @inlinable public var int64Value: Int64? {
        switch self {
        case .integer(let value): return value
        case .double(let value): return Int64(exactly: value)
        default: return nil
        }
    }

    @inlinable public var intValue: Int? {
        int64Value.flatMap { Int(exactly: $0) }
    }

    /// A `.double`, or an `.integer` converted to `Double`.
    @inlinable public var doubleValue: Double? {
        switch self {
        case .double(let value): return value
        case .integer(let value): return Double(value)
        default: return nil
        }
    }

    @inlinable public var objectValue: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    @inlinable public var arrayValue: [JSON]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// "null", "a boolean", "a number", "a string", "an array" or "an object" (for messages).
    public var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

// MARK: - Literals

extension JSON: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    @inlinable public init(nilLiteral: ()) { self = .null }
    @inlinable public init(booleanLiteral value: Bool) { self = .bool(value) }
    @inlinable public init(integerLiteral value: Int64) { self = .integer(value) }
    @inlinable public init(floatLiteral value: Double) { self = .double(value) }
    @inlinable public init(stringLiteral value: String) { self = .string(value) }
    @inlinable public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    @inlinable public init(dictionaryLiteral elements: (String, JSON)...) {
        var object = JSONObject(minimumCapacity: elements.count)
        for (key, value) in elements { object[key] = value }
        self = .object(object)
    }
}

extension JSON: CustomStringConvertible, CustomDebugStringConvertible {
    /// The compact JSON text.
    public var description: String { jsonString }
    public var debugDescription: String { "JSON(\(jsonString))" }
}

// MARK: - JSONObject

/// The members of a JSON object, in order. Lookup by key is a linear scan (fast for the small
/// objects of an RPC message); when a key occurs more than once, the last occurrence wins.
/// Equality and hashing are order-sensitive.
public struct JSONObject: Sendable, Hashable, RandomAccessCollection, ExpressibleByDictionaryLiteral {
    public typealias Element = (key: String, value: JSON)
    public typealias Index = Int

    @usableFromInline
    internal var members: [Element]

    @inlinable public init() { members = [] }

    @inlinable public init(minimumCapacity: Int) {
        members = []
        members.reserveCapacity(minimumCapacity)
    }

    /// Keeps the pairs as given, duplicates included.
    @inlinable public init(_ pairs: some Sequence<(String, JSON)>) {
        members = pairs.map { (key: $0.0, value: $0.1) }
    }

    @inlinable internal init(members: [Element]) { self.members = members }

    /// Later duplicates replace earlier ones (keeping the position of the first).
    @inlinable public init(dictionaryLiteral elements: (String, JSON)...) {
        members = []
        members.reserveCapacity(elements.count)
        for (key, value) in elements { self[key] = value }
    }

    // Collection
    @inlinable public var startIndex: Int { 0 }
    @inlinable public var endIndex: Int { members.count }
    @inlinable public var count: Int { members.count }
    @inlinable public var isEmpty: Bool { members.isEmpty }
    @inlinable public subscript(position: Int) -> Element { members[position] }
    @inlinable public func makeIterator() -> IndexingIterator<[Element]> { members.makeIterator() }

    @inlinable public var keys: [String] { members.map(\.key) }
    @inlinable public var values: [JSON] { members.map(\.value) }

    /// The index of the last member named `key`.
    @inlinable public func lastIndex(forKey key: String) -> Int? {
        var i = members.count
        while i > 0 {
            i -= 1
            if members[i].key == key { return i }
        }
        return nil
    }

    /// Get: the value of the last member named `key`. Set: replaces that value in place (or
    /// appends a new member); setting nil removes every member named `key`.
    @inlinable public subscript(key: String) -> JSON? {
        get {
            guard let i = lastIndex(forKey: key) else { return nil }
            return members[i].value
        }
        set {
            if let newValue {
                if let i = lastIndex(forKey: key) {
                    members[i].value = newValue
                } else {
                    members.append((key: key, value: newValue))
                }
            } else {
                removeValue(forKey: key)
            }
        }
    }

    @inlinable public func contains(key: String) -> Bool { lastIndex(forKey: key) != nil }

    /// Appends a member without looking for an existing one (fast; may create a duplicate).
    @inlinable public mutating func append(key: String, value: JSON) {
        members.append((key: key, value: value))
    }

    @inlinable public mutating func reserveCapacity(_ n: Int) { members.reserveCapacity(n) }

    /// Removes every member named `key`; returns the value that lookup would have returned.
    @inlinable @discardableResult
    public mutating func removeValue(forKey key: String) -> JSON? {
        guard let i = lastIndex(forKey: key) else { return nil }
        let value = members[i].value
        members.removeAll { $0.key == key }
        return value
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.members.count == rhs.members.count else { return false }
        for i in lhs.members.indices {
            guard lhs.members[i].key == rhs.members[i].key, lhs.members[i].value == rhs.members[i].value else { return false }
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(members.count)
        for member in members {
            hasher.combine(member.key)
            hasher.combine(member.value)
        }
    }
}

extension JSONObject: CustomStringConvertible {
    public var description: String { JSON.object(self).jsonString }
}
