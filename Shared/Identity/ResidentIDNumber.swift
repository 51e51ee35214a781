/// A mainland China resident identity card number (GB 11643-1999): 17 digits and a check
/// character (`0`–`9` or `X`) computed as an ISO 7064 MOD 11-2 checksum.
public struct ResidentIDNumber: Sendable, Hashable, CustomStringConvertible {
    public let value: String

    private static let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    private static let checkCharacters: [Character] = Array("10X98765432")

    /// Validates format, birth date and check character; a lowercase `x` is accepted and normalised.
    public init(_ text: String) throws(IdentityError) {
        let normalised = text.uppercased()
        let characters = Array(normalised)
        guard characters.count == 18 else {
            throw IdentityError("a resident ID number has 18 characters, this one has \(characters.count)", zh: "居民身份证号码为 18 位，此号码为 \(characters.count) 位")
        }
        var digits: [Int] = []
        for character in characters.prefix(17) {
            guard let digit = character.wholeNumberValue, character.isASCII else {
                throw IdentityError("the first 17 characters of a resident ID number must be digits", zh: "居民身份证号码的前 17 位必须是数字")
            }
            digits.append(digit)
        }
        let year = digits[6] * 1000 + digits[7] * 100 + digits[8] * 10 + digits[9]
        let month = digits[10] * 10 + digits[11]
        let day = digits[12] * 10 + digits[13]
        guard CalendarDate.isValid(year: year, month: month, day: day), year >= 1900 else {
            throw IdentityError("the birth date inside the resident ID number (\(year)-\(month)-\(day)) is not a real date", zh: "居民身份证号码中的出生日期（\(year)-\(month)-\(day)）不是有效日期")
        }
        let sum = zip(digits, Self.weights).reduce(0) { $0 + $1.0 * $1.1 }
        let expected = Self.checkCharacters[sum % 11]
        guard characters[17] == expected else {
            throw IdentityError("the check character of the resident ID number is wrong: the number was mistyped", zh: "居民身份证号码的校验码不正确，请检查号码是否输错")
        }
        value = normalised
    }

    /// The number with all but the first 3 and last 2 characters hidden, for lists and logs.
    public var masked: String { Masking.mask(value, keepingPrefix: 3, suffix: 2) }
    public var description: String { masked }
}

/// A unified social credit code of an organisation (GB 32100-2015): 18 characters from a 31-letter
/// alphabet, the last a MOD 31 check character.
public struct UnifiedSocialCreditCode: Sendable, Hashable, CustomStringConvertible {
    public let value: String

    private static let alphabet: [Character] = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")
    private static let weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

    public init(_ text: String) throws(IdentityError) {
        let characters = Array(text.uppercased())
        guard characters.count == 18 else {
            throw IdentityError("a unified social credit code has 18 characters, this one has \(characters.count)", zh: "统一社会信用代码为 18 位，此代码为 \(characters.count) 位")
        }
        var values: [Int] = []
        for character in characters {
            guard let index = Self.alphabet.firstIndex(of: character) else {
                throw IdentityError("'\(character)' cannot appear in a unified social credit code (I, O, S, V and Z are never used)", zh: "统一社会信用代码中不能出现“\(character)”（不使用 I、O、S、V、Z）")
            }
            values.append(index)
        }
        let sum = zip(values.prefix(17), Self.weights).reduce(0) { $0 + $1.0 * $1.1 }
        let check = (31 - sum % 31) % 31
        guard values[17] == check else {
            throw IdentityError("the check character of the unified social credit code is wrong: the code was mistyped", zh: "统一社会信用代码的校验码不正确，请检查代码是否输错")
        }
        value = String(characters)
    }

    public var masked: String { Masking.mask(value, keepingPrefix: 4, suffix: 2) }
    public var description: String { masked }
}

/// A passport number: 5 to 12 capital letters and digits with at least one digit (the ICAO
/// machine-readable field allows 9; some countries' numbers are shorter or longer).
public struct PassportNumber: Sendable, Hashable, CustomStringConvertible {
    public let value: String

    public init(_ text: String) throws(IdentityError) {
        let normalised = text.uppercased()
        guard (5...12).contains(normalised.count) else {
            throw IdentityError("a passport number has 5 to 12 letters and digits, this one has \(normalised.count)", zh: "护照号码为 5 至 12 位字母和数字，此号码为 \(normalised.count) 位")
        }
        guard normalised.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            throw IdentityError("a passport number holds only the letters A–Z and digits", zh: "护照号码只能包含字母 A–Z 和数字")
        }
        guard normalised.contains(where: { $0.isNumber }) else {
            throw IdentityError("a passport number contains digits", zh: "护照号码应包含数字")
        }
        value = normalised
    }

    public var masked: String { Masking.mask(value, keepingPrefix: 2, suffix: 2) }
    public var description: String { masked }
}

/// The kinds of identity document a service hall accepts.
public enum IdentityDocumentType: String, Sendable, Codable, CaseIterable {
    case residentID = "resident_id"
    case passport
    case unifiedSocialCreditCode = "unified_social_credit_code"
}

/// A checked identity document number of a given type.
public struct IdentityDocument: Sendable, Hashable {
    public let type: IdentityDocumentType
    /// The normalised number (upper case).
    public let number: String
    public let masked: String

    public init(type: IdentityDocumentType, number: String) throws(IdentityError) {
        let trimmed = number.trimmingWhitespace()
        self.type = type
        switch type {
        case .residentID:
            let id = try ResidentIDNumber(trimmed)
            self.number = id.value
            masked = id.masked
        case .passport:
            let passport = try PassportNumber(trimmed)
            self.number = passport.value
            masked = passport.masked
        case .unifiedSocialCreditCode:
            let code = try UnifiedSocialCreditCode(trimmed)
            self.number = code.value
            masked = code.masked
        }
    }
}

/// Why an identity or contact detail was refused; the message is for the person who typed it,
/// in English (`message`) and in simplified Chinese (`zh`).
public struct IdentityError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public let zh: String
    public init(_ message: String, zh: String) {
        self.message = message
        self.zh = zh
    }
    public var description: String { message }
}

enum CalendarDate {
    static func isValid(year: Int, month: Int, day: Int) -> Bool {
        guard (1...12).contains(month), day >= 1 else { return false }
        let days = [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return day <= days[month - 1]
    }

    static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }
}

extension String {
    func trimmingWhitespace() -> String {
        String(self.drop(while: { $0.isWhitespace }).reversed().drop(while: { $0.isWhitespace }).reversed())
    }
}
