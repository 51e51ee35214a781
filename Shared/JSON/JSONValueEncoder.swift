#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Encodes `Encodable` values into a `JSON` tree.
///
/// - Keys keep the order in which they are encoded; nil optionals (`encodeIfPresent`) are omitted.
/// - Non-finite `Double`/`Float` → `EncodingError.invalidValue`.
/// - `Date`: ISO 8601 UTC with milliseconds (`2026-11-23T13:05:00.123Z`); `Data`: base64;
///   `URL`: `absoluteString`; `UUID`: `uuidString`; `Decimal`: a number (`.integer` when integral
///   and in range, else `.double`, so beyond ~15 significant digits precision is lost);
///   `JSON`/`JSONObject`: inserted as is.
/// - `UInt`/`UInt64` above `Int64.max` become `.double` (approximate).
/// - Encoding the same key twice in one keyed container keeps both members (lookup sees the last).
public struct JSONValueEncoder: Sendable {
    public var userInfo: [CodingUserInfoKey: any Sendable] = [:]

    public init() {}

    public func encode<T: Encodable>(_ value: T) throws -> JSON {
        let root = _JSONValueEncoder(parent: nil, key: nil, userInfo: userInfo)
        if let special = try root.boxSpecial(value, key: _NoKey()) { return special }
        try value.encode(to: root)
        guard let result = root.finish() else {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "Top-level \(T.self) did not encode any values."))
        }
        return result
    }

    /// Encodes and serializes (compact, no trailing newline).
    public func encodeToBytes<T: Encodable>(_ value: T) throws -> [UInt8] {
        try encode(value).serialized()
    }

    /// Encodes and serializes, appending to `buffer`.
    public func encode<T: Encodable>(_ value: T, into buffer: inout [UInt8]) throws {
        try encode(value).serialize(into: &buffer)
    }
}

final class _JSONValueEncoder: Encoder, SingleValueEncodingContainer {
    enum Kind { case empty, single, object, array }

    let parent: _JSONValueEncoder?
    let key: (any CodingKey)?
    let userInfoStorage: [CodingUserInfoKey: any Sendable]

    // Unchecked: an encoder is only used from one thread, and the runtime exclusivity checks on
    // these class properties would otherwise cost a large share of the encoding time.
    @exclusivity(unchecked) var kind = Kind.empty
    @exclusivity(unchecked) var single = JSON.null
    @exclusivity(unchecked) var members: [JSONObject.Element] = []
    @exclusivity(unchecked) var items: [JSON] = []
    /// Nested containers and super encoders, filled in by `finish()`.
    @exclusivity(unchecked) var pending: [(index: Int, encoder: _JSONValueEncoder)] = []

    init(parent: _JSONValueEncoder?, key: (any CodingKey)?, userInfo: [CodingUserInfoKey: any Sendable]) {
        self.parent = parent
        self.key = key
        self.userInfoStorage = userInfo
    }

    var codingPath: [any CodingKey] {
        var path: [any CodingKey] = []
        var node: _JSONValueEncoder? = self
        while let current = node {
            if let key = current.key { path.append(key) }
            node = current.parent
        }
        return path.reversed()
    }

    var userInfo: [CodingUserInfoKey: Any] { userInfoStorage }

    func child<K: CodingKey>(key: K) -> _JSONValueEncoder {
        _JSONValueEncoder(parent: self, key: K.self == _NoKey.self ? nil : key, userInfo: userInfoStorage)
    }

    /// The encoded value; nil when nothing was encoded.
    func finish() -> JSON? {
        switch kind {
        case .empty:
            return nil
        case .single:
            return single
        case .object:
            for (index, encoder) in pending { members[index].value = encoder.finish() ?? .object(JSONObject()) }
            return .object(JSONObject(members: members))
        case .array:
            for (index, encoder) in pending { items[index] = encoder.finish() ?? .object(JSONObject()) }
            return .array(items)
        }
    }

    func become(_ newKind: Kind) {
        guard kind != newKind else { return }
        // Switching kinds discards what was there (Foundation traps instead).
        kind = newKind
        members = []
        items = []
        pending = []
        if newKind == .object { members.reserveCapacity(8) }
    }

    // MARK: Containers

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        become(.object)
        return KeyedEncodingContainer(_JSONKeyedEncodingContainer<Key>(encoder: self))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        become(.array)
        return _JSONUnkeyedEncodingContainer(encoder: self)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    // MARK: Single value

    func set(_ value: JSON) {
        kind = .single
        single = value
    }

    func encodeNil() { set(.null) }
    func encode(_ value: Bool) { set(.bool(value)) }
    func encode(_ value: String) { set(.string(value)) }
    func encode(_ value: Double) throws { set(try boxDouble(value, _NoKey())) }
    func encode(_ value: Float) throws { set(try boxFloat(value, _NoKey())) }
    func encode(_ value: Int) { set(.integer(Int64(value))) }
    func encode(_ value: Int8) { set(.integer(Int64(value))) }
    func encode(_ value: Int16) { set(.integer(Int64(value))) }
    func encode(_ value: Int32) { set(.integer(Int64(value))) }
    func encode(_ value: Int64) { set(.integer(value)) }
    func encode(_ value: UInt) { set(Self.boxUnsigned(UInt64(value))) }
    func encode(_ value: UInt8) { set(.integer(Int64(value))) }
    func encode(_ value: UInt16) { set(.integer(Int64(value))) }
    func encode(_ value: UInt32) { set(.integer(Int64(value))) }
    func encode(_ value: UInt64) { set(Self.boxUnsigned(value)) }
    func encode<T: Encodable>(_ value: T) throws { set(try box(value, key: _NoKey())) }

    // MARK: Boxing

    func path<K: CodingKey>(_ key: K) -> [any CodingKey] {
        if K.self == _NoKey.self { return codingPath }
        return codingPath + [key]
    }

    @inline(__always)
    static func boxUnsigned(_ value: UInt64) -> JSON {
        value <= UInt64(Int64.max) ? .integer(Int64(value)) : .double(Double(value))
    }

    @inline(__always)
    func boxDouble<K: CodingKey>(_ value: Double, _ key: K) throws -> JSON {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: path(key), debugDescription: "\(value) cannot be encoded in JSON"))
        }
        return .double(value)
    }

    func boxFloat<K: CodingKey>(_ value: Float, _ key: K) throws -> JSON {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: path(key), debugDescription: "\(value) cannot be encoded in JSON"))
        }
        // Through the Float's own shortest text, so 0.1 stays 0.1.
        return .double(Double(value.description) ?? Double(value))
    }

    @inline(__always)
    func box<T: Encodable, K: CodingKey>(_ value: T, key: K) throws -> JSON {
        if let special = try boxSpecial(value, key: key) { return special }
        let encoder = child(key: key)
        try value.encode(to: encoder)
        return encoder.finish() ?? .object(JSONObject())
    }

    func boxSpecial<T: Encodable, K: CodingKey>(_ value: T, key: K) throws -> JSON? {
        if T.self == String.self { return .string(reinterpret(value, as: String.self)) }
        if T.self == Int.self { return .integer(Int64(reinterpret(value, as: Int.self))) }
        if T.self == Double.self { return try boxDouble(reinterpret(value, as: Double.self), key) }
        if T.self == Bool.self { return .bool(reinterpret(value, as: Bool.self)) }
        if T.self == JSON.self { return reinterpret(value, as: JSON.self) }
        if T.self == Int64.self { return .integer(reinterpret(value, as: Int64.self)) }
        if T.self == Date.self {
            let date = reinterpret(value, as: Date.self)
            guard let string = JSONDateFormat.string(from: date) else {
                throw EncodingError.invalidValue(date, .init(codingPath: path(key), debugDescription: "date \(date.timeIntervalSince1970) is outside years 0…9999"))
            }
            return .string(string)
        }
        if T.self == UUID.self { return .string(reinterpret(value, as: UUID.self).uuidString) }
        if T.self == Decimal.self { return try boxDecimal(reinterpret(value, as: Decimal.self), key) }
        if T.self == URL.self { return .string(reinterpret(value, as: URL.self).absoluteString) }
        if T.self == Data.self { return .string(reinterpret(value, as: Data.self).base64EncodedString()) }
        if T.self == Int32.self { return .integer(Int64(reinterpret(value, as: Int32.self))) }
        if T.self == UInt.self { return Self.boxUnsigned(UInt64(reinterpret(value, as: UInt.self))) }
        if T.self == UInt64.self { return Self.boxUnsigned(reinterpret(value, as: UInt64.self)) }
        if T.self == UInt32.self { return .integer(Int64(reinterpret(value, as: UInt32.self))) }
        if T.self == Int16.self { return .integer(Int64(reinterpret(value, as: Int16.self))) }
        if T.self == UInt16.self { return .integer(Int64(reinterpret(value, as: UInt16.self))) }
        if T.self == Int8.self { return .integer(Int64(reinterpret(value, as: Int8.self))) }
        if T.self == UInt8.self { return .integer(Int64(reinterpret(value, as: UInt8.self))) }
        if T.self == Float.self { return try boxFloat(reinterpret(value, as: Float.self), key) }
        if T.self == [String].self { return .array(reinterpret(value, as: [String].self).map { .string($0) }) }
        if T.self == [Int].self { return .array(reinterpret(value, as: [Int].self).map { .integer(Int64($0)) }) }
        if T.self == [JSON].self { return .array(reinterpret(value, as: [JSON].self)) }
        if T.self == [Int64].self { return .array(reinterpret(value, as: [Int64].self).map { .integer($0) }) }
        if T.self == [Double].self {
            let doubles = reinterpret(value, as: [Double].self)
            if let i = doubles.firstIndex(where: { !$0.isFinite }) {
                _ = try child(key: key).boxDouble(doubles[i], JSONIndexKey(i))
            }
            return .array(doubles.map { .double($0) })
        }
        if T.self == [Bool].self { return .array(reinterpret(value, as: [Bool].self).map { .bool($0) }) }
        if T.self == [UUID].self { return .array(reinterpret(value, as: [UUID].self).map { .string($0.uuidString) }) }
        if T.self == [String: String].self {
            return .object(JSONObject(members: reinterpret(value, as: [String: String].self).map { (key: $0.key, value: .string($0.value)) }))
        }
        if T.self == [String: JSON].self {
            return .object(JSONObject(members: reinterpret(value, as: [String: JSON].self).map { (key: $0.key, value: $0.value) }))
        }
        if T.self == JSONObject.self { return .object(reinterpret(value, as: JSONObject.self)) }
        return nil
    }

    func boxDecimal<K: CodingKey>(_ value: Decimal, _ key: K) throws -> JSON {
        let text = value.description
        if let integer = Int64(text) { return .integer(integer) }
        guard !value.isNaN, let double = Double(text), double.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: path(key), debugDescription: "decimal \(text) cannot be encoded in JSON"))
        }
        return .double(double)
    }
}

// MARK: - Keyed

struct _JSONKeyedEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: _JSONValueEncoder

    var codingPath: [any CodingKey] { encoder.codingPath }

    @inline(__always)
    func put(_ value: JSON, _ key: Key) {
        encoder.members.append((key: key.stringValue, value: value))
    }

    mutating func encodeNil(forKey key: Key) { put(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) { put(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) { put(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { put(try encoder.boxDouble(value, key), key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { put(try encoder.boxFloat(value, key), key) }
    mutating func encode(_ value: Int, forKey key: Key) { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int8, forKey key: Key) { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int16, forKey key: Key) { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int32, forKey key: Key) { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int64, forKey key: Key) { put(.integer(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) { put(_JSONValueEncoder.boxUnsigned(UInt64(value)), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) { put(_JSONValueEncoder.boxUnsigned(value), key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { put(try encoder.box(value, key: key), key) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let nested = pendingChild(key)
        nested.become(.object)
        return KeyedEncodingContainer(_JSONKeyedEncodingContainer<NestedKey>(encoder: nested))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = pendingChild(key)
        nested.become(.array)
        return _JSONUnkeyedEncodingContainer(encoder: nested)
    }

    mutating func superEncoder() -> any Encoder { pendingChild(JSONStringKey("super")) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { pendingChild(key) }

    func pendingChild(_ key: some CodingKey) -> _JSONValueEncoder {
        let nested = encoder.child(key: key)
        encoder.members.append((key: key.stringValue, value: .null))
        encoder.pending.append((encoder.members.count - 1, nested))
        return nested
    }
}

// MARK: - Unkeyed

struct _JSONUnkeyedEncodingContainer: UnkeyedEncodingContainer {
    let encoder: _JSONValueEncoder

    var codingPath: [any CodingKey] { encoder.codingPath }
    var count: Int { encoder.items.count }

    @inline(__always)
    func put(_ value: JSON) { encoder.items.append(value) }
    var nextKey: JSONIndexKey { JSONIndexKey(encoder.items.count) }

    mutating func encodeNil() { put(.null) }
    mutating func encode(_ value: Bool) { put(.bool(value)) }
    mutating func encode(_ value: String) { put(.string(value)) }
    mutating func encode(_ value: Double) throws { put(try encoder.boxDouble(value, nextKey)) }
    mutating func encode(_ value: Float) throws { put(try encoder.boxFloat(value, nextKey)) }
    mutating func encode(_ value: Int) { put(.integer(Int64(value))) }
    mutating func encode(_ value: Int8) { put(.integer(Int64(value))) }
    mutating func encode(_ value: Int16) { put(.integer(Int64(value))) }
    mutating func encode(_ value: Int32) { put(.integer(Int64(value))) }
    mutating func encode(_ value: Int64) { put(.integer(value)) }
    mutating func encode(_ value: UInt) { put(_JSONValueEncoder.boxUnsigned(UInt64(value))) }
    mutating func encode(_ value: UInt8) { put(.integer(Int64(value))) }
    mutating func encode(_ value: UInt16) { put(.integer(Int64(value))) }
    mutating func encode(_ value: UInt32) { put(.integer(Int64(value))) }
    mutating func encode(_ value: UInt64) { put(_JSONValueEncoder.boxUnsigned(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws { put(try encoder.box(value, key: nextKey)) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let nested = pendingChild()
        nested.become(.object)
        return KeyedEncodingContainer(_JSONKeyedEncodingContainer<NestedKey>(encoder: nested))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nested = pendingChild()
        nested.become(.array)
        return _JSONUnkeyedEncodingContainer(encoder: nested)
    }

    mutating func superEncoder() -> any Encoder { pendingChild() }

    func pendingChild() -> _JSONValueEncoder {
        let nested = encoder.child(key: nextKey)
        encoder.items.append(.null)
        encoder.pending.append((encoder.items.count - 1, nested))
        return nested
    }
}
