#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Decodes `Decodable` values from a parsed `JSON` tree.
///
/// - Missing key → `DecodingError.keyNotFound`; `null` for a non-optional → `valueNotFound`;
///   wrong kind → `typeMismatch`; integer out of range → `dataCorrupted` (all with the coding path;
///   `JSONValueDecoder.describe(_:)` turns them into "customer.phone: expected a string but found a number").
/// - Unknown keys are ignored; for duplicated keys the last one wins.
/// - Integers accept `.integer` in range, and `.double` when integral and in range.
/// - `Date`: ISO 8601 string (see `JSONDateFormat`); `Data`: base64 string; `URL`, `UUID`: strings;
///   `Decimal`: a number (or a numeric string); `JSON`: passed through as is.
public struct JSONValueDecoder: Sendable {
    public var userInfo: [CodingUserInfoKey: any Sendable] = [:]

    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from json: JSON) throws -> T {
        let root = _JSONValueDecoder(value: json, parent: nil, key: nil, userInfo: userInfo)
        return try root.unbox(json, as: T.self, key: _NoKey(), root: true)
    }

    /// Parses then decodes. Parse failures are thrown as `JSONParseError`.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>) throws -> T {
        try decode(type, from: JSON.parse(bytes))
    }

    /// A one-line message for a decoding error: "params.customer.phone: expected a string but found
    /// a number" (the path is prefixed with `pathPrefix`, if any). Other errors: their description.
    public static func describe(_ error: any Error, pathPrefix: String? = nil) -> String {
        guard let error = error as? DecodingError else { return String(describing: error) }
        let path: [any CodingKey]
        let message: String
        switch error {
        case .keyNotFound(let key, let context):
            path = context.codingPath + [key]
            message = "is required"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            path = context.codingPath
            message = context.debugDescription
        @unknown default:
            return String(describing: error)
        }
        let text = pathString(path, prefix: pathPrefix)
        return text.isEmpty ? message : "\(text): \(message)"
    }

    /// "customer.items[2].name" for a coding path.
    public static func pathString(_ path: [any CodingKey], prefix: String? = nil) -> String {
        var text = prefix ?? ""
        for key in path {
            if let index = key.intValue, key is JSONIndexKey || key.stringValue == "Index \(index)" {
                text += "[\(index)]"
            } else {
                if !text.isEmpty { text += "." }
                text += key.stringValue
            }
        }
        return text
    }
}

/// The coding key of an array element.
public struct JSONIndexKey: CodingKey, Sendable {
    public let index: Int
    public init(_ index: Int) { self.index = index }
    public init?(stringValue: String) { return nil }
    public init?(intValue: Int) { self.index = intValue }
    public var stringValue: String { "Index \(index)" }
    public var intValue: Int? { index }
}

/// A coding key with any name.
public struct JSONStringKey: CodingKey, Sendable {
    public let stringValue: String
    public init(_ string: String) { stringValue = string }
    public init(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { stringValue = String(intValue) }
    public var intValue: Int? { nil }
}

/// "No key": a value decoded through a single-value container sits at its decoder's own path.
struct _NoKey: CodingKey {
    init() {}
    init?(stringValue: String) { nil }
    init?(intValue: Int) { nil }
    var stringValue: String { "" }
    var intValue: Int? { nil }
}

@inline(__always)
func reinterpret<T, U>(_ value: U, as type: T.Type) -> T {
    withUnsafePointer(to: value) { UnsafeRawPointer($0).load(as: T.self) }
}

final class _JSONValueDecoder: Decoder, SingleValueDecodingContainer {
    let value: JSON
    let parent: _JSONValueDecoder?
    let key: (any CodingKey)?
    let userInfoStorage: [CodingUserInfoKey: any Sendable]

    init(value: JSON, parent: _JSONValueDecoder?, key: (any CodingKey)?, userInfo: [CodingUserInfoKey: any Sendable]) {
        self.value = value
        self.parent = parent
        self.key = key
        self.userInfoStorage = userInfo
    }

    var codingPath: [any CodingKey] {
        var path: [any CodingKey] = []
        var node: _JSONValueDecoder? = self
        while let current = node {
            if let key = current.key { path.append(key) }
            node = current.parent
        }
        return path.reversed()
    }

    var userInfo: [CodingUserInfoKey: Any] { userInfoStorage }

    func child<K: CodingKey>(_ value: JSON, key: K) -> _JSONValueDecoder {
        _JSONValueDecoder(value: value, parent: self, key: K.self == _NoKey.self ? nil : key, userInfo: userInfoStorage)
    }

    // MARK: Errors

    func path<K: CodingKey>(_ key: K) -> [any CodingKey] {
        if K.self == _NoKey.self { return codingPath }
        return codingPath + [key]
    }

    func mismatch<K: CodingKey>(_ type: Any.Type, _ expected: String, _ value: JSON, _ key: K) -> DecodingError {
        if case .null = value {
            return .valueNotFound(type, .init(codingPath: path(key), debugDescription: "expected \(expected) but found null"))
        }
        return .typeMismatch(type, .init(codingPath: path(key), debugDescription: "expected \(expected) but found \(value.kindDescription)"))
    }

    func corrupted<K: CodingKey>(_ message: String, _ key: K) -> DecodingError {
        .dataCorrupted(.init(codingPath: path(key), debugDescription: message))
    }

    // MARK: Containers

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let object) = value else {
            throw mismatch(JSONObject.self, "an object", value, _NoKey())
        }
        return KeyedDecodingContainer(_JSONKeyedDecodingContainer<Key>(decoder: self, object: object))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let array) = value else {
            throw mismatch([JSON].self, "an array", value, _NoKey())
        }
        return _JSONUnkeyedDecodingContainer(decoder: self, array: array)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    // MARK: Single value

    func decodeNil() -> Bool { value.isNull }
    func decode(_ type: Bool.Type) throws -> Bool { try unboxBool(value, _NoKey()) }
    func decode(_ type: String.Type) throws -> String { try unboxString(value, _NoKey()) }
    func decode(_ type: Double.Type) throws -> Double { try unboxDouble(value, _NoKey()) }
    func decode(_ type: Float.Type) throws -> Float { try unboxFloat(value, _NoKey()) }
    func decode(_ type: Int.Type) throws -> Int { try unboxInteger(value, Int.self, _NoKey()) }
    func decode(_ type: Int8.Type) throws -> Int8 { try unboxInteger(value, Int8.self, _NoKey()) }
    func decode(_ type: Int16.Type) throws -> Int16 { try unboxInteger(value, Int16.self, _NoKey()) }
    func decode(_ type: Int32.Type) throws -> Int32 { try unboxInteger(value, Int32.self, _NoKey()) }
    func decode(_ type: Int64.Type) throws -> Int64 { try unboxInteger(value, Int64.self, _NoKey()) }
    func decode(_ type: UInt.Type) throws -> UInt { try unboxInteger(value, UInt.self, _NoKey()) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try unboxInteger(value, UInt8.self, _NoKey()) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try unboxInteger(value, UInt16.self, _NoKey()) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try unboxInteger(value, UInt32.self, _NoKey()) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try unboxInteger(value, UInt64.self, _NoKey()) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try unbox(value, as: T.self, key: _NoKey()) }

    // MARK: Unboxing

    @inline(__always)
    func unboxBool<K: CodingKey>(_ value: JSON, _ key: K) throws -> Bool {
        guard case .bool(let v) = value else { throw mismatch(Bool.self, "a boolean", value, key) }
        return v
    }

    @inline(__always)
    func unboxString<K: CodingKey>(_ value: JSON, _ key: K) throws -> String {
        guard case .string(let v) = value else { throw mismatch(String.self, "a string", value, key) }
        return v
    }

    @inline(__always)
    func unboxDouble<K: CodingKey>(_ value: JSON, _ key: K) throws -> Double {
        switch value {
        case .double(let v): return v
        case .integer(let v): return Double(v)
        default: throw mismatch(Double.self, "a number", value, key)
        }
    }

    func unboxFloat<K: CodingKey>(_ value: JSON, _ key: K) throws -> Float {
        let d = try unboxDouble(value, key)
        let f = Float(d)
        guard f.isFinite || !d.isFinite else { throw corrupted("number \(d) does not fit in Float", key) }
        return f
    }

    @inline(__always)
    func unboxInteger<I: FixedWidthInteger, K: CodingKey>(_ value: JSON, _ type: I.Type, _ key: K) throws -> I {
        switch value {
        case .integer(let v):
            guard let r = I(exactly: v) else { throw corrupted("number \(v) does not fit in \(I.self)", key) }
            return r
        case .double(let v):
            guard let r = I(exactly: v) else {
                throw corrupted(v.rounded() == v ? "number \(v) does not fit in \(I.self)" : "expected an integer but found \(v)", key)
            }
            return r
        default:
            throw mismatch(I.self, "an integer", value, key)
        }
    }

    /// Decodes any `T`, with fast paths for primitives and the special types. `root`: decode with
    /// `self` rather than a child decoder.
    func unbox<T: Decodable, K: CodingKey>(_ value: JSON, as type: T.Type, key: K, root: Bool = false) throws -> T {
        if T.self == String.self { return reinterpret(try unboxString(value, key), as: T.self) }
        if T.self == Int.self { return reinterpret(try unboxInteger(value, Int.self, key), as: T.self) }
        if T.self == Double.self { return reinterpret(try unboxDouble(value, key), as: T.self) }
        if T.self == Bool.self { return reinterpret(try unboxBool(value, key), as: T.self) }
        if T.self == JSON.self { return reinterpret(value, as: T.self) }
        if T.self == Int64.self { return reinterpret(try unboxInteger(value, Int64.self, key), as: T.self) }
        if T.self == Date.self { return reinterpret(try unboxDate(value, key), as: T.self) }
        if T.self == UUID.self { return reinterpret(try unboxUUID(value, key), as: T.self) }
        if T.self == Decimal.self { return reinterpret(try unboxDecimal(value, key), as: T.self) }
        if T.self == URL.self { return reinterpret(try unboxURL(value, key), as: T.self) }
        if T.self == Data.self { return reinterpret(try unboxData(value, key), as: T.self) }
        if T.self == Int32.self { return reinterpret(try unboxInteger(value, Int32.self, key), as: T.self) }
        if T.self == UInt.self { return reinterpret(try unboxInteger(value, UInt.self, key), as: T.self) }
        if T.self == UInt64.self { return reinterpret(try unboxInteger(value, UInt64.self, key), as: T.self) }
        if T.self == UInt32.self { return reinterpret(try unboxInteger(value, UInt32.self, key), as: T.self) }
        if T.self == Int16.self { return reinterpret(try unboxInteger(value, Int16.self, key), as: T.self) }
        if T.self == UInt16.self { return reinterpret(try unboxInteger(value, UInt16.self, key), as: T.self) }
        if T.self == Int8.self { return reinterpret(try unboxInteger(value, Int8.self, key), as: T.self) }
        if T.self == UInt8.self { return reinterpret(try unboxInteger(value, UInt8.self, key), as: T.self) }
        if T.self == Float.self { return reinterpret(try unboxFloat(value, key), as: T.self) }
        if T.self == [String].self { return reinterpret(try unboxArray(arrayValue(value, key), { self.child(value, key: key) }) { try $0.unboxString($1, $2) }, as: T.self) }
        if T.self == [Int].self { return reinterpret(try unboxArray(arrayValue(value, key), { self.child(value, key: key) }) { try $0.unboxInteger($1, Int.self, $2) }, as: T.self) }
        if T.self == [JSON].self { return reinterpret(try unboxArray(arrayValue(value, key), { self.child(value, key: key) }) { _, v, _ in v }, as: T.self) }
        if T.self == [Int64].self { return reinterpret(try unboxArray(arrayValue(value, key), { self.child(value, key: key) }) { try $0.unboxInteger($1, Int64.self, $2) }, as: T.self) }
        if T.self == [Double].self { return reinterpret(try unboxArray(arrayValue(value, key), { self.child(value, key: key) }) { try $0.unboxDouble($1, $2) }, as: T.self) }
        if T.self == [Bool].self { return reinterpret(try unboxArray(arrayValue(value, key), { self.child(value, key: key) }) { try $0.unboxBool($1, $2) }, as: T.self) }
        if T.self == [UUID].self { return reinterpret(try unboxArray(arrayValue(value, key), { self.child(value, key: key) }) { try $0.unboxUUID($1, $2) }, as: T.self) }
        if T.self == [String: String].self {
            return reinterpret(try unboxDictionary(objectValue(value, key), { self.child(value, key: key) }) { try $0.unboxString($1, $2) }, as: T.self)
        }
        if T.self == [String: JSON].self { return reinterpret(try unboxDictionary(objectValue(value, key), { self.child(value, key: key) }) { _, v, _ in v }, as: T.self) }
        if T.self == JSONObject.self {
            guard case .object(let object) = value else { throw mismatch(JSONObject.self, "an object", value, key) }
            return reinterpret(object, as: T.self)
        }
        return try T(from: root ? self : child(value, key: key))
    }

    @inline(__always)
    func arrayValue<K: CodingKey>(_ value: JSON, _ key: K) throws -> [JSON] {
        guard case .array(let array) = value else { throw mismatch([JSON].self, "an array", value, key) }
        return array
    }

    @inline(__always)
    func objectValue<K: CodingKey>(_ value: JSON, _ key: K) throws -> JSONObject {
        guard case .object(let object) = value else { throw mismatch(JSONObject.self, "an object", value, key) }
        return object
    }

    /// Arrays of primitives without going through `Array.init(from:)` (unspecialized, slow).
    /// `element` runs against `self`; on failure it is re-run against the array's own decoder
    /// (`makeChild()`), so the error it throws carries the full path.
    func unboxArray<E>(_ array: [JSON], _ makeChild: () -> _JSONValueDecoder, _ element: (_JSONValueDecoder, JSON, JSONIndexKey) throws -> E) throws -> [E] {
        if array.isEmpty { return [] }
        var result: [E] = []
        result.reserveCapacity(array.count)
        for (i, v) in array.enumerated() {
            do {
                result.append(try element(self, v, JSONIndexKey(i)))
            } catch {
                _ = try element(makeChild(), v, JSONIndexKey(i))
                throw error
            }
        }
        return result
    }

    func unboxDictionary<E>(_ object: JSONObject, _ makeChild: () -> _JSONValueDecoder, _ element: (_JSONValueDecoder, JSON, JSONStringKey) throws -> E) throws -> [String: E] {
        var result: [String: E] = [:]
        result.reserveCapacity(object.count)
        for (k, v) in object {
            do {
                result[k] = try element(self, v, JSONStringKey(k))
            } catch {
                _ = try element(makeChild(), v, JSONStringKey(k))
                throw error
            }
        }
        return result
    }

    func unboxDate<K: CodingKey>(_ value: JSON, _ key: K) throws -> Date {
        let string = try unboxStringOf(Date.self, "an ISO 8601 date string", value, key)
        guard let date = JSONDateFormat.date(from: string) else {
            throw corrupted("expected an ISO 8601 date-time with a zone (like 2026-11-23T13:05:00.123Z) but found \"\(string)\"", key)
        }
        return date
    }

    func unboxUUID<K: CodingKey>(_ value: JSON, _ key: K) throws -> UUID {
        let string = try unboxStringOf(UUID.self, "a UUID string", value, key)
        guard let uuid = UUID(uuidString: string) else { throw corrupted("expected a UUID but found \"\(string)\"", key) }
        return uuid
    }

    func unboxURL<K: CodingKey>(_ value: JSON, _ key: K) throws -> URL {
        let string = try unboxStringOf(URL.self, "a URL string", value, key)
        guard let url = URL(string: string) else { throw corrupted("expected a URL but found \"\(string)\"", key) }
        return url
    }

    func unboxData<K: CodingKey>(_ value: JSON, _ key: K) throws -> Data {
        let string = try unboxStringOf(Data.self, "a base64 string", value, key)
        guard let data = Data(base64Encoded: string) else { throw corrupted("expected base64 data", key) }
        return data
    }

    func unboxDecimal<K: CodingKey>(_ value: JSON, _ key: K) throws -> Decimal {
        switch value {
        case .integer(let v):
            return Decimal(v)
        case .double(let v):
            // The shortest round-trip text of the double: exact for numbers written with up to
            // 15 significant digits.
            guard let d = Decimal(string: v.description) else { throw corrupted("number \(v) is not a decimal", key) }
            return d
        case .string(let s):
            guard let d = Decimal(string: s), !d.isNaN else { throw corrupted("expected a decimal number but found \"\(s)\"", key) }
            return d
        default:
            throw mismatch(Decimal.self, "a number", value, key)
        }
    }

    @inline(__always)
    func unboxStringOf<K: CodingKey>(_ type: Any.Type, _ expected: String, _ value: JSON, _ key: K) throws -> String {
        guard case .string(let v) = value else { throw mismatch(type, expected, value, key) }
        return v
    }
}

// MARK: - Keyed

struct _JSONKeyedDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: _JSONValueDecoder
    let object: JSONObject

    var codingPath: [any CodingKey] { decoder.codingPath }

    var allKeys: [Key] {
        var seen = Set<String>()
        var keys: [Key] = []
        for member in object.members where seen.insert(member.key).inserted {
            if let key = Key(stringValue: member.key) { keys.append(key) }
        }
        return keys
    }

    func contains(_ key: Key) -> Bool { lookup(key) != nil }

    /// The value of the last member named `key`; no allocation.
    @inline(__always)
    func lookup(_ key: Key) -> JSON? {
        let name = key.stringValue
        let length = name.utf8.count
        return object.members.withUnsafeBufferPointer { members in
            var i = members.count
            while i > 0 {
                i -= 1
                if members[i].key.utf8.count == length && members[i].key == name { return members[i].value }
            }
            return nil
        }
    }

    @inline(__always)
    func require(_ key: Key) throws -> JSON {
        guard let value = lookup(key) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "missing key \"\(key.stringValue)\""))
        }
        return value
    }

    @inline(__always)
    func present(_ key: Key) -> JSON? {
        guard let value = lookup(key), !value.isNull else { return nil }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool { try require(key).isNull }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decoder.unboxBool(require(key), key) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decoder.unboxString(require(key), key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decoder.unboxDouble(require(key), key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decoder.unboxFloat(require(key), key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decoder.unboxInteger(require(key), Int.self, key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decoder.unboxInteger(require(key), Int8.self, key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decoder.unboxInteger(require(key), Int16.self, key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decoder.unboxInteger(require(key), Int32.self, key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decoder.unboxInteger(require(key), Int64.self, key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decoder.unboxInteger(require(key), UInt.self, key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decoder.unboxInteger(require(key), UInt8.self, key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decoder.unboxInteger(require(key), UInt16.self, key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decoder.unboxInteger(require(key), UInt32.self, key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decoder.unboxInteger(require(key), UInt64.self, key) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try decoder.unbox(require(key), as: T.self, key: key) }

    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        guard let v = present(key) else { return nil }
        return try decoder.unboxBool(v, key)
    }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        guard let v = present(key) else { return nil }
        return try decoder.unboxString(v, key)
    }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? {
        guard let v = present(key) else { return nil }
        return try decoder.unboxDouble(v, key)
    }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? {
        guard let v = present(key) else { return nil }
        return try decoder.unboxFloat(v, key)
    }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try integerIfPresent(key) }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try integerIfPresent(key) }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try integerIfPresent(key) }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try integerIfPresent(key) }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try integerIfPresent(key) }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try integerIfPresent(key) }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try integerIfPresent(key) }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try integerIfPresent(key) }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try integerIfPresent(key) }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try integerIfPresent(key) }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let v = lookup(key) else { return nil }
        if case .null = v, T.self != JSON.self { return nil }
        return try decoder.unbox(v, as: T.self, key: key)
    }

    @inline(__always)
    func integerIfPresent<I: FixedWidthInteger>(_ key: Key) throws -> I? {
        guard let v = present(key) else { return nil }
        return try decoder.unboxInteger(v, I.self, key)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try decoder.child(require(key), key: key).container(keyedBy: NestedKey.self)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try decoder.child(require(key), key: key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        let key = JSONStringKey("super")
        return decoder.child(object["super"] ?? .null, key: key)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        decoder.child(lookup(key) ?? .null, key: key)
    }
}

// MARK: - Unkeyed

struct _JSONUnkeyedDecodingContainer: UnkeyedDecodingContainer {
    let decoder: _JSONValueDecoder
    let array: [JSON]
    private(set) var currentIndex = 0

    init(decoder: _JSONValueDecoder, array: [JSON]) {
        self.decoder = decoder
        self.array = array
    }

    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { array.count }
    var isAtEnd: Bool { currentIndex >= array.count }

    @inline(__always)
    func current(_ type: Any.Type) throws -> JSON {
        guard currentIndex < array.count else {
            throw DecodingError.valueNotFound(type, .init(codingPath: decoder.path(JSONIndexKey(currentIndex)), debugDescription: "unexpected end of array (\(array.count) elements)"))
        }
        return array[currentIndex]
    }

    @inline(__always)
    mutating func next<T>(_ type: T.Type, _ body: (_JSONValueDecoder, JSON, JSONIndexKey) throws -> T) throws -> T {
        let value = try body(decoder, current(T.self), JSONIndexKey(currentIndex))
        currentIndex += 1
        return value
    }

    mutating func decodeNil() throws -> Bool {
        if try current(Never.self).isNull {
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next(type) { try $0.unboxBool($1, $2) } }
    mutating func decode(_ type: String.Type) throws -> String { try next(type) { try $0.unboxString($1, $2) } }
    mutating func decode(_ type: Double.Type) throws -> Double { try next(type) { try $0.unboxDouble($1, $2) } }
    mutating func decode(_ type: Float.Type) throws -> Float { try next(type) { try $0.unboxFloat($1, $2) } }
    mutating func decode(_ type: Int.Type) throws -> Int { try next(type) { try $0.unboxInteger($1, type, $2) } }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next(type) { try $0.unboxInteger($1, type, $2) } }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next(type) { try $0.unboxInteger($1, type, $2) } }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next(type) { try $0.unboxInteger($1, type, $2) } }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next(type) { try $0.unboxInteger($1, type, $2) } }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next(type) { try $0.unboxInteger($1, type, $2) } }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next(type) { try $0.unboxInteger($1, type, $2) } }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next(type) { try $0.unboxInteger($1, type, $2) } }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next(type) { try $0.unboxInteger($1, type, $2) } }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next(type) { try $0.unboxInteger($1, type, $2) } }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next(type) { try $0.unbox($1, as: T.self, key: $2) } }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next(KeyedDecodingContainer<NestedKey>.self) { try $0.child($1, key: $2).container(keyedBy: NestedKey.self) }
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next((any UnkeyedDecodingContainer).self) { try $0.child($1, key: $2).unkeyedContainer() }
    }

    mutating func superDecoder() throws -> any Decoder {
        try next((any Decoder).self) { $0.child($1, key: $2) }
    }
}
