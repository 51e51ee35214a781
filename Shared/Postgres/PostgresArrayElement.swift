import Foundation

/// A type whose Swift arrays map to a PostgreSQL type: `[String]` ↔ `text[]`, `[Int]` ↔ `int8[]`, …,
/// and `[UInt8]` ↔ `bytea`. Elements are never NULL.
public protocol PostgresArrayElement: Sendable {
    /// The type of `[Self]` as a parameter.
    static var postgresArrayDataType: PostgresDataType { get }
    /// `[Self]` in PostgreSQL text input format.
    static func postgresArrayText(_ elements: [Self]) throws(PostgresError) -> String
    /// Reads `[Self]` from PostgreSQL text output.
    static func decodePostgresArray(_ text: String, context: PostgresDecodingContext) throws(PostgresError) -> [Self]
}

extension PostgresArrayElement where Self: PostgresEncodable & PostgresDecodable {
    /// An array literal with every element quoted: `{"a","b \"c\""}`.
    public static func postgresArrayText(_ elements: [Self]) throws(PostgresError) -> String {
        // Built as UTF-8 bytes: appending Character by Character made long text arrays (check
        // details, reasons) a visible share of a worker's CPU.
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        for (index, element) in elements.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            guard let elementText = try element.postgresText() else {
                throw PostgresError(code: .encoding, message: "array parameters cannot contain NULL elements")
            }
            bytes.append(UInt8(ascii: "\""))
            for byte in elementText.utf8 {
                // Both are ASCII, so they never occur inside a multi-byte sequence.
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { bytes.append(UInt8(ascii: "\\")) }
                bytes.append(byte)
            }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func decodePostgresArray(_ text: String, context: PostgresDecodingContext) throws(PostgresError) -> [Self] {
        guard let items = PostgresArrayLiteral.parse(text) else {
            throw .decoding(
                "column \"\(context.column)\" is not a one-dimensional array of \(Self.self); check its type"
            )
        }
        var result: [Self] = []
        result.reserveCapacity(items.count)
        for item in items {
            guard let item else {
                throw .decoding(
                    "column \"\(context.column)\" has a NULL array element, which [\(Self.self)] cannot hold; "
                        + "filter NULLs in the query (array_remove(x, NULL))"
                )
            }
            result.append(try decode(postgresText: item, context: context))
        }
        return result
    }
}

extension String: PostgresArrayElement { public static var postgresArrayDataType: PostgresDataType { .textArray } }
extension Int: PostgresArrayElement { public static var postgresArrayDataType: PostgresDataType { .int8Array } }
extension Int64: PostgresArrayElement { public static var postgresArrayDataType: PostgresDataType { .int8Array } }
extension Int32: PostgresArrayElement { public static var postgresArrayDataType: PostgresDataType { .int4Array } }
extension Int16: PostgresArrayElement { public static var postgresArrayDataType: PostgresDataType { .int2Array } }
extension Bool: PostgresArrayElement { public static var postgresArrayDataType: PostgresDataType { .boolArray } }
extension Double: PostgresArrayElement { public static var postgresArrayDataType: PostgresDataType { .float8Array } }
extension Decimal: PostgresArrayElement { public static var postgresArrayDataType: PostgresDataType { .numericArray } }
extension UUID: PostgresArrayElement { public static var postgresArrayDataType: PostgresDataType { .uuidArray } }
extension Date: PostgresArrayElement { public static var postgresArrayDataType: PostgresDataType { .timestamptzArray } }
extension Data: PostgresArrayElement { public static var postgresArrayDataType: PostgresDataType { .byteaArray } }
extension PostgresDate: PostgresArrayElement { public static var postgresArrayDataType: PostgresDataType { .dateArray } }
extension PostgresJSONB: PostgresArrayElement { public static var postgresArrayDataType: PostgresDataType { .jsonbArray } }

/// `[UInt8]` is `bytea`, not an array of small integers.
extension UInt8: PostgresArrayElement {
    public static var postgresArrayDataType: PostgresDataType { .bytea }

    public static func postgresArrayText(_ elements: [UInt8]) -> String { PostgresBytea.hex(elements) }

    public static func decodePostgresArray(_ text: String, context: PostgresDecodingContext) throws(PostgresError) -> [UInt8] {
        guard let bytes = PostgresBytea.parse(text) else { throw mismatch(context) }
        return bytes
    }

    static func mismatch(_ context: PostgresDecodingContext) -> PostgresError {
        .decoding("column \"\(context.column)\" (\(context.dataType)) is not bytea; decode it as another type")
    }
}

// MARK: - Text formats

/// Parses one-dimensional array output: `{a,"b c",NULL}`, optionally prefixed by bounds `[0:1]=`.
enum PostgresArrayLiteral {
    static func parse(_ text: String) -> [String?]? {
        var scalars = Substring(text).unicodeScalars[...]
        if scalars.first == "[" {
            guard let equals = scalars.firstIndex(of: "=") else { return nil }
            scalars = scalars[scalars.index(after: equals)...]
        }
        guard scalars.first == "{", scalars.last == "}" else { return nil }
        scalars = scalars.dropFirst().dropLast()
        if scalars.isEmpty { return [] }

        var items: [String?] = []
        var iterator = scalars.makeIterator()
        var current = String.UnicodeScalarView()
        var quoted = false
        var wasQuoted = false
        var escaped = false
        func finish() -> Bool {
            let value = String(current)
            if !wasQuoted, value.uppercased() == "NULL" {
                items.append(nil)
            } else {
                items.append(value)
            }
            current = String.UnicodeScalarView()
            wasQuoted = false
            return true
        }
        while let scalar = iterator.next() {
            if escaped {
                current.append(scalar)
                escaped = false
            } else if scalar == "\\" {
                escaped = true
            } else if quoted {
                if scalar == "\"" { quoted = false } else { current.append(scalar) }
            } else if scalar == "\"" {
                quoted = true
                wasQuoted = true
            } else if scalar == "," {
                _ = finish()
            } else if scalar == "{" || scalar == "}" {
                return nil  // multi-dimensional
            } else {
                current.append(scalar)
            }
        }
        if quoted || escaped { return nil }
        _ = finish()
        return items
    }
}

/// `bytea` hex format: `\x0aff`.
enum PostgresBytea {
    private static let digits = Array("0123456789abcdef".utf8)

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        var utf8: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
        for byte in bytes {
            utf8.append(digits[Int(byte >> 4)])
            utf8.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: utf8, as: UTF8.self)
    }

    static func parse(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x"), utf8.count % 2 == 0
        else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity((utf8.count - 2) / 2)
        var index = 2
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
