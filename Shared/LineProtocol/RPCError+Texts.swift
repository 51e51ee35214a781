import JSONCoding

/// The message of an error in other languages than English.
///
/// The line protocol stays language-neutral: `message` is English (what logs and programs read),
/// and `error.data.texts` may carry the same message for people in other languages, keyed by
/// BCP 47 tag, e.g. `{"texts": {"zh-CN": "未找到办件 …"}}`. The gateway picks the one its client
/// asked for with `Accept-Language` and falls back to `message` when a service (perhaps an older
/// deployed version) sent none.
extension RPCError {
    /// The member of `error.data` holding the translations.
    public static let textsKey = "texts"
    /// The tag of simplified Chinese as used in the hall.
    public static let chinese = "zh-CN"

    /// `error.data.texts`: the message by language tag; empty when the error carries none.
    public var texts: [String: String] {
        guard case .object(let texts)? = data?[Self.textsKey] else { return [:] }
        var result: [String: String] = [:]
        for (language, text) in texts {
            if let text = text.stringValue, !text.isEmpty { result[language] = text }
        }
        return result
    }

    /// The message in `language` (a tag such as `zh-CN`), else the English `message`.
    public func message(in language: String) -> String {
        texts[language] ?? message
    }
}
