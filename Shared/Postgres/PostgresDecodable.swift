import Foundation

/// Where a value being decoded came from; used in error messages.
public struct PostgresDecodingContext: Sendable {
    /// The result column's name.
    public let column: String
    /// The result column's type.
    public let dataType: PostgresDataType

    public init(column: String, dataType: PostgresDataType) {
        self.column = column
        self.dataType = dataType
    }
}

/// A Swift type that can be read from a result column (text result format).
///
/// Non-optional types throw a `.decoding` error for SQL NULL; `Optional` turns NULL into `nil`.
public protocol PostgresDecodable {
    /// Decodes a non-NULL value from its PostgreSQL text output.
    static func decode(postgresText text: String, context: PostgresDecodingContext) throws(PostgresError) -> Self
    /// The value for SQL NULL. The default throws a decoding error naming the column.
    static func decodeNull(context: PostgresDecodingContext) throws(PostgresError) -> Self
}

extension PostgresDecodable {
    public static func decodeNull(context: PostgresDecodingContext) throws(PostgresError) -> Self {
        throw .decoding(
            "column \"\(context.column)\" is NULL but \(Self.self) was requested; decode \(Self.self)? "
                + "or add NOT NULL / COALESCE in the query"
        )
    }

    static func mismatch(_ context: PostgresDecodingContext) -> PostgresError {
        .decoding(
            "column \"\(context.column)\" (\(context.dataType)) does not hold a valid \(Self.self); "
                + "decode it as another type or cast it in the query"
        )
    }
}

// MARK: - Conformances

extension String: PostgresDecodable {
    public static func decode(postgresText text: String, context: PostgresDecodingContext) -> String { text }
}

extension Int: PostgresDecodable {
    public static func decode(postgresText text: String, context: PostgresDecodingContext) throws(PostgresError) -> Int {
        guard let value = Int(text) else { throw mismatch(context) }
        return value
    }
}

extension Int64: PostgresDecodable {
    public static func decode(postgresText text: String, context: PostgresDecodingContext) throws(PostgresError) -> Int64 {
        guard let value = Int64(text) else { throw mismatch(context) }
        return value
    }
}

extension Int32: PostgresDecodable {
    public static func decode(postgresText text: String, context: PostgresDecodingContext) throws(PostgresError) -> Int32 {
        guard let value = Int32(text) else { throw mismatch(context) }
        return value
    }
}

extension Int16: PostgresDecodable {
    public static func decode(postgresText text: String, context: PostgresDecodingContext) throws(PostgresError) -> Int16 {
        guard let value = Int16(text) else { throw mismatch(context) }
        return value
    }
}

extension Bool: PostgresDecodable {
    public static func decode(postgresText text: String, context: PostgresDecodingContext) throws(PostgresError) -> Bool {
        switch text {
        case "t", "true": return true
        case "f", "false": return false
        default: throw mismatch(context)
        }
    }
}

extension Double: PostgresDecodable {
    public static func decode(postgresText text: String, context: PostgresDecodingContext) throws(PostgresError) -> Double {
        switch text {
        case "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default:
            guard let value = Double(text) else { throw mismatch(context) }
            return value
        }
    }
}

extension Decimal: PostgresDecodable {
    public static func decode(postgresText text: String, context: PostgresDecodingContext) throws(PostgresError) -> Decimal {
        if text == "NaN" { return .nan }
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) }),
            let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))
        else { throw mismatch(context) }
        return value
    }
}

extension UUID: PostgresDecodable {
    public static func decode(postgresText text: String, context: PostgresDecodingContext) throws(PostgresError) -> UUID {
        guard let value = UUID(uuidString: text) else { throw mismatch(context) }
        return value
    }
}

extension Date: PostgresDecodable {
    /// Reads `timestamptz` (and `timestamp`, taken as UTC) text output.
    public static func decode(postgresText text: String, context: PostgresDecodingContext) throws(PostgresError) -> Date {
        guard let value = PostgresTimestamp.parse(text) else { throw mismatch(context) }
        return value
    }
}

extension Data: PostgresDecodable {
    public static func decode(postgresText text: String, context: PostgresDecodingContext) throws(PostgresError) -> Data {
        guard let bytes = PostgresBytea.parse(text) else { throw mismatch(context) }
        return Data(bytes)
    }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public static func decode(postgresText text: String, context: PostgresDecodingContext) throws(PostgresError) -> Wrapped? {
        try Wrapped.decode(postgresText: text, context: context)
    }

    public static func decodeNull(context: PostgresDecodingContext) -> Wrapped? { nil }
}

extension Array: PostgresDecodable where Element: PostgresArrayElement {
    public static func decode(postgresText text: String, context: PostgresDecodingContext) throws(PostgresError) -> [Element] {
        try Element.decodePostgresArray(text, context: context)
    }
}
