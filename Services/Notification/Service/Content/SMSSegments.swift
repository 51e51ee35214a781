/// How an SMS text travels: in the GSM 03.38 7-bit alphabet when every character is in it,
/// otherwise in UCS-2 (UTF-16 code units). One segment holds 160 septets or 70 code units;
/// a concatenated message loses room to its header: 153 septets or 67 code units per segment.
public struct SMSSegments: Sendable, Hashable {
    public enum Encoding: String, Sendable { case gsm7, ucs2 }

    public let encoding: Encoding
    /// Septets (GSM-7, an extension character counts two) or UTF-16 code units (UCS-2).
    public let units: Int
    public let segments: Int

    public init(_ text: String) {
        if let septets = Self.gsm7Septets(text) {
            encoding = .gsm7
            units = septets
            segments = septets <= 160 ? 1 : (septets + 152) / 153
        } else {
            encoding = .ucs2
            units = text.utf16.count
            segments = units <= 70 ? 1 : (units + 66) / 67
        }
    }

    /// The GSM 03.38 basic character set.
    static let basic: Set<Character> = Set(
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    )
    /// Characters of the extension table: an escape septet plus one.
    static let extended: Set<Character> = Set("^{}\\[~]|€\u{0C}")

    /// Septets needed, or nil when a character is outside GSM-7.
    static func gsm7Septets(_ text: String) -> Int? {
        var count = 0
        for character in text {
            if basic.contains(character) {
                count += 1
            } else if extended.contains(character) {
                count += 2
            } else {
                return nil
            }
        }
        return count
    }

    /// Splits `text` into parts that each fit ONE segment (160 septets / 70 code units) with a
    /// `(i/n)` marker, never cutting an escape pair or a surrogate pair.
    public static func split(_ text: String) -> [String] {
        let whole = SMSSegments(text)
        if whole.segments == 1 { return [text] }
        // Room per part after a marker such as "(12/12) " (at most 8 units).
        let limit = (whole.encoding == .gsm7 ? 160 : 70) - 8
        var chunks: [String] = []
        var current = ""
        var used = 0
        for character in text {
            let cost = whole.encoding == .gsm7
                ? (extended.contains(character) ? 2 : 1)
                : character.utf16.count
            if used + cost > limit {
                chunks.append(current)
                current = ""
                used = 0
            }
            current.append(character)
            used += cost
        }
        if !current.isEmpty { chunks.append(current) }
        return chunks.enumerated().map { "(\($0.offset + 1)/\(chunks.count)) \($0.element)" }
    }
}
