#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation
import JSONCoding

/// The fields of an Open311 POST: `application/x-www-form-urlencoded` as the spec sends them
/// (repeated names and `attribute[code][]` for lists), or a flat JSON object.
struct FormFields: Sendable, Equatable {
    /// Every value of each name, in the order given.
    private(set) var values: [String: [String]] = [:]

    /// Names beyond this are refused: a form of the spec has a few dozen.
    static let maxFields = 500

    init() {}

    init(urlEncoded text: String) throws(FormError) {
        var count = 0
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            count += 1
            guard count <= Self.maxFields else { throw FormError("the form has more than \(Self.maxFields) fields", zh: "表单字段超过 \(Self.maxFields) 个") }
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = try Self.decode(parts[0])
            let value = parts.count > 1 ? try Self.decode(parts[1]) : ""
            values[name, default: []].append(value)
        }
    }

    /// A JSON object: strings, numbers and booleans as text, arrays as repeated values, and an
    /// `attribute` object as `attribute[code]` fields.
    init(json object: JSONObject) throws(FormError) {
        func text(_ value: JSON, _ name: String) throws(FormError) -> [String] {
            switch value {
            case .null: return []
            case .string(let string): return [string]
            case .integer(let number): return [String(number)]
            case .double(let number): return [String(number)]
            case .bool(let flag): return [String(flag)]
            case .array(let items):
                var all: [String] = []
                for item in items {
                    guard item.arrayValue == nil, item.objectValue == nil else { throw FormError("\(name): a list of plain values", zh: "\(name)：须为由简单值组成的列表") }
                    all += try text(item, name)
                }
                return all
            case .object: throw FormError("\(name): a plain value, not an object", zh: "\(name)：须为简单值，而不是对象")
            }
        }
        for (name, value) in object {
            if name == "attribute", case .object(let attributes) = value {
                for (code, attributeValue) in attributes { values["attribute[\(code)]", default: []] += try text(attributeValue, "attribute.\(code)") }
            } else {
                values[name, default: []] += try text(value, name)
            }
            guard values.count <= Self.maxFields else { throw FormError("the body has more than \(Self.maxFields) fields", zh: "请求体字段超过 \(Self.maxFields) 个") }
        }
    }

    /// Takes `other`'s fields over these (a name given in both keeps `other`'s values).
    mutating func merge(_ other: FormFields) {
        values.merge(other.values) { $1 }
    }

    /// The first non-empty value of a field, trimmed.
    subscript(name: String) -> String? {
        values[name]?.lazy.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.first { !$0.isEmpty }
    }

    /// `attribute[code]` (one value) or `attribute[code][]` (repeated); values given as one
    /// comma-separated text are split too.
    func attribute(_ code: String) -> [String] {
        let given = (values["attribute[\(code)]"] ?? []) + (values["attribute[\(code)][]"] ?? [])
        return given.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// The codes of every `attribute[...]` given.
    var attributeCodes: Set<String> {
        Set(values.keys.compactMap { name in
            guard name.hasPrefix("attribute["), let close = name.firstIndex(of: "]") else { return nil }
            return String(name[name.index(name.startIndex, offsetBy: 10)..<close])
        })
    }

    /// The fields in a canonical order without the credential, for deriving an idempotency key.
    func canonical(excluding excluded: Set<String>) -> String {
        values.keys.filter { !excluded.contains($0) }.sorted().map { name in
            name + "=" + (values[name] ?? []).joined(separator: "\u{1F}")
        }.joined(separator: "\u{1E}")
    }

    /// Percent-decoding with `+` as space, as HTML forms encode.
    static func decode(_ part: Substring) throws(FormError) -> String {
        let spaced = part.replacingOccurrences(of: "+", with: " ")
        guard let decoded = spaced.removingPercentEncoding else {
            throw FormError("the form is not valid application/x-www-form-urlencoded (bad % escape or not UTF-8)", zh: "表单不是有效的 application/x-www-form-urlencoded（% 转义有误或不是 UTF-8）")
        }
        return decoded
    }
}

struct FormError: Error, Sendable {
    var message: String
    var zh: String
    init(_ message: String, zh: String) {
        self.message = message
        self.zh = zh
    }
}
