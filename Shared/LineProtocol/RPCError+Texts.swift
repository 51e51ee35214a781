import JSONCoding

/// The message of an error, and its list of problems, in other languages than English.
///
/// The line protocol stays language-neutral: `message` is English (what logs and programs read),
/// and `error.data.texts` may carry the same message for people in other languages, keyed by
/// BCP 47 tag, e.g. `{"texts": {"zh-CN": "未找到办件 …"}}`. The gateway picks the one its client
/// asked for with `Accept-Language` and falls back to `message` when a service (perhaps an older
/// deployed version) sent none.
///
/// An `invalid_params` error lists one problem per bad field in `error.data.problems`, in English
/// as well; `error.data.problemTexts` holds the same list in other languages, one text per problem
/// in the same order, e.g. `{"problemTexts": {"zh-CN": ["params.name：1 至 200 个字符"]}}`.
extension RPCError {
    /// The member of `error.data` holding the translations of the message.
    public static let textsKey = "texts"
    /// The member of `error.data` listing the problems of an `invalid_params` error, in English.
    public static let problemsKey = "problems"
    /// The member of `error.data` holding the translations of the problems.
    public static let problemTextsKey = "problemTexts"
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

    /// `error.data.problems`: one line per bad field, in English; nil when the error lists none
    /// (or lists something other than texts).
    public var problems: [String]? {
        guard let list = data?[Self.problemsKey]?.arrayValue else { return nil }
        let problems = list.compactMap(\.stringValue)
        return problems.count == list.count ? problems : nil
    }

    /// The problems in `language` (a tag such as `zh-CN`): `error.data.problemTexts[language]`
    /// when it has one non-empty text per problem, else the English `problems`. A translation of
    /// another length cannot be matched to the fields, so it is not shown.
    public func problems(in language: String) -> [String]? {
        guard let english = problems else { return nil }
        guard let list = data?[Self.problemTextsKey]?[language]?.arrayValue, list.count == english.count else { return english }
        let translated = list.compactMap(\.stringValue).filter { !$0.isEmpty }
        return translated.count == english.count ? translated : english
    }

    /// An `invalid_params` error listing every problem at once, each in English (`problems`, and
    /// the message when it is joined from them) and in simplified Chinese (`problemTexts`).
    /// `details` become extra members of `error.data`.
    public static func invalidParams(
        _ message: String, zh: String, problems: [(en: String, zh: String)], details: JSONObject = [:]
    ) -> RPCError {
        var details = details
        details[problemsKey] = .array(problems.map { .string($0.en) })
        details[problemTextsKey] = .object([chinese: .array(problems.map { .string($0.zh) })])
        return RPCError(.invalidParams, message, zh: zh, details: details)
    }
}
