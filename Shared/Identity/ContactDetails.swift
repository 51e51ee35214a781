/// A phone number a customer can be reached on: a mainland mobile number (11 digits, 1[3-9]…)
/// or an international number in E.164 form (`+` and 8 to 15 digits). Spaces and dashes are dropped.
public struct PhoneNumber: Sendable, Hashable, CustomStringConvertible {
    /// E.164 form, e.g. `+8613812345678`.
    public let e164: String

    public init(_ text: String) throws(IdentityError) {
        let compact = text.filter { !$0.isWhitespace && $0 != "-" && $0 != "(" && $0 != ")" }
        if compact.hasPrefix("+") {
            let digits = compact.dropFirst()
            guard (8...15).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw IdentityError("an international phone number is + followed by 8 to 15 digits", zh: "国际电话号码为 + 加 8 至 15 位数字")
            }
            e164 = compact
            return
        }
        let characters = Array(compact)
        guard characters.count == 11, characters.allSatisfy({ $0.isASCII && $0.isNumber }),
              characters[0] == "1", let second = characters[1].wholeNumberValue, second >= 3 else {
            throw IdentityError("a mobile number has 11 digits starting with 13–19, or is written +<country code><number>", zh: "手机号码为以 13–19 开头的 11 位数字，或写作 +<国家代码><号码>")
        }
        e164 = "+86" + compact
    }

    public var masked: String { Masking.mask(e164, keepingPrefix: 6, suffix: 2) }
    public var description: String { masked }
}

/// An email address in the common `local@domain.tld` shape (no quoted local parts, no IP literals).
public struct EmailAddress: Sendable, Hashable, CustomStringConvertible {
    public let value: String

    public init(_ text: String) throws(IdentityError) {
        let trimmed = text.trimmingWhitespace()
        guard trimmed.count <= 254 else { throw IdentityError("an email address has at most 254 characters", zh: "电子邮箱地址最多 254 个字符") }
        let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].count <= 64 else {
            throw IdentityError("an email address is written name@domain", zh: "电子邮箱地址的格式为 名称@域名")
        }
        let local = parts[0], domain = parts[1]
        let localAllowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.!#$%&'*+/=?^_`{|}~-")
        guard local.allSatisfy({ localAllowed.contains($0) }), !local.hasPrefix("."), !local.hasSuffix("."), !local.contains("..") else {
            throw IdentityError("the part before @ in an email address holds letters, digits and . _ + - only", zh: "电子邮箱地址 @ 之前的部分只能包含字母、数字和 . _ + -")
        }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy({ label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" }
        }), labels.last!.count >= 2 else {
            throw IdentityError("the domain of an email address is like example.com", zh: "电子邮箱地址的域名应形如 example.com")
        }
        value = String(local) + "@" + domain.lowercased()
    }

    public var masked: String {
        guard let at = value.firstIndex(of: "@") else { return "***" }
        let local = value[..<at]
        return String(local.prefix(1)) + "***" + value[at...]
    }
    public var description: String { masked }
}

/// Hides the middle of a sensitive value so lists and logs never show it whole.
public enum Masking {
    public static func mask(_ value: String, keepingPrefix prefix: Int, suffix: Int) -> String {
        guard value.count > prefix + suffix else { return String(repeating: "*", count: value.count) }
        return String(value.prefix(prefix)) + String(repeating: "*", count: value.count - prefix - suffix)
            + String(value.suffix(suffix))
    }
}
