import Foundation

/// A Swift value that can be sent as a query parameter (a bind).
///
/// Values travel in PostgreSQL's text format together with an explicit type OID, so
/// `\(someInt)` arrives as `int8` and `\(someDate)` as `timestamptz`. For a column of another type
/// (an enum, `citext`) add a cast in the SQL: `\(status)::case_status`.
public protocol PostgresEncodable: Sendable {
    /// The type OID sent with the value.
    static var postgresDataType: PostgresDataType { get }
    /// The value in PostgreSQL text input format, or `nil` for SQL NULL.
    func postgresText() throws(PostgresError) -> String?
}

/// A parameter ready for libpq: a type OID and text (nil = NULL).
struct PostgresBind: Sendable {
    var dataType: PostgresDataType
    var text: String?

    init(_ value: any PostgresEncodable) throws(PostgresError) {
        dataType = type(of: value).postgresDataType
        text = try value.postgresText()
        if let text, text.utf8.contains(0) {
            throw PostgresError(
                code: .encoding,
                message: "a \(type(of: value)) parameter contains a NUL character, which PostgreSQL text cannot store; "
                    + "strip it or send the value as bytes ([UInt8] / Data)"
            )
        }
    }
}

// MARK: - Conformances

extension String: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .text }
    public func postgresText() -> String? { self }
}

extension Substring: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .text }
    public func postgresText() -> String? { String(self) }
}

extension Int: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .int8 }
    public func postgresText() -> String? { String(self) }
}

extension Int64: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .int8 }
    public func postgresText() -> String? { String(self) }
}

extension Int32: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .int4 }
    public func postgresText() -> String? { String(self) }
}

extension Int16: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .int2 }
    public func postgresText() -> String? { String(self) }
}

extension Bool: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .bool }
    public func postgresText() -> String? { self ? "true" : "false" }
}

extension Double: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .float8 }
    public func postgresText() -> String? {
        if isNaN { return "NaN" }
        if isInfinite { return self < 0 ? "-Infinity" : "Infinity" }
        return description
    }
}

extension Decimal: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .numeric }
    public func postgresText() -> String? { isNaN ? "NaN" : description }
}

extension UUID: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .uuid }
    public func postgresText() -> String? { uuidString }
}

extension Date: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .timestamptz }
    /// ISO 8601 in UTC with microseconds: `2024-05-01 08:30:00.123456+00`.
    public func postgresText() -> String? { PostgresTimestamp.format(self) }
}

extension Data: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .bytea }
    public func postgresText() -> String? { PostgresBytea.hex(self) }
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { Wrapped.postgresDataType }
    public func postgresText() throws(PostgresError) -> String? {
        switch self {
        case .none: nil
        case .some(let value): try value.postgresText()
        }
    }
}

/// Arrays travel as PostgreSQL arrays (`[String]` as `text[]`), except `[UInt8]`, which is `bytea`.
extension Array: PostgresEncodable where Element: PostgresArrayElement {
    public static var postgresDataType: PostgresDataType { Element.postgresArrayDataType }
    public func postgresText() throws(PostgresError) -> String? { try Element.postgresArrayText(self) }
}
