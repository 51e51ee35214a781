import Foundation

/// A `jsonb` value, carried as raw JSON text (PostgreSQL validates it).
///
/// A plain `String` parameter is `text`, which PostgreSQL will not assign to a `jsonb` column;
/// wrap it in `PostgresJSONB` instead. Decodes from both `json` and `jsonb` columns.
public struct PostgresJSONB: Hashable, Sendable, CustomStringConvertible {
    /// The JSON document as text.
    public var rawJSON: String

    public init(rawJSON: String) { self.rawJSON = rawJSON }

    /// Encodes `value` with `JSONEncoder` (sorted keys, so equal values give equal text).
    public init(encoding value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        rawJSON = String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Decodes the document with `JSONDecoder`.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(type, from: Data(rawJSON.utf8))
    }

    public var description: String { rawJSON }
}

extension PostgresJSONB: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .jsonb }
    public func postgresText() -> String? { rawJSON }
}

extension PostgresJSONB: PostgresDecodable {
    public static func decode(postgresText text: String, context: PostgresDecodingContext) -> PostgresJSONB {
        PostgresJSONB(rawJSON: text)
    }
}
