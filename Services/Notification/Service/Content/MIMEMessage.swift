#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// An email as RFC 5322 / MIME bytes: UTF-8 headers encoded per RFC 2047, a multipart/alternative
/// body with a plain-text part and an HTML part (both base64), CRLF line ends.
public struct MIMEMessage: Sendable {
    public var from: String
    public var fromName: String?
    public var replyTo: String?
    public var to: String
    public var toName: String?
    public var subject: String
    public var text: String
    public var html: String
    public var messageID: String
    public var date: Date
    public var extraHeaders: [(String, String)] = []

    public init(from: String, fromName: String?, replyTo: String?, to: String, toName: String?, subject: String,
                text: String, html: String, messageID: String, date: Date) {
        self.from = from
        self.fromName = fromName
        self.replyTo = replyTo
        self.to = to
        self.toName = toName
        self.subject = subject
        self.text = text
        self.html = html
        self.messageID = messageID
        self.date = date
    }

    /// A Message-ID that is the same for the same key, so a resend after a crash is recognisable
    /// as the same message (mail systems and readers deduplicate on it).
    public static func messageID(key: String, recipient: String, domain: String) -> String {
        "<\(StableHash.hex("\(key)\u{0}\(recipient.lowercased())"))@\(domain)>"
    }

    public func render() -> [UInt8] {
        let boundary = "=_onestop_\(StableHash.hex(messageID).prefix(24))"
        var lines: [String] = []
        lines.append("Date: \(Self.rfc5322Date(date))")
        lines.append(Self.foldedHeader("From", Self.mailbox(address: from, name: fromName)))
        if let replyTo { lines.append("Reply-To: \(replyTo)") }
        lines.append(Self.foldedHeader("To", Self.mailbox(address: to, name: toName)))
        lines.append(Self.foldedHeader("Subject", Self.encodedWords(subject)))
        lines.append("Message-ID: \(messageID)")
        for (name, value) in extraHeaders { lines.append("\(name): \(value)") }
        lines.append("MIME-Version: 1.0")
        lines.append("Content-Type: multipart/alternative; boundary=\"\(boundary)\"")
        lines.append("")
        lines.append("This is a MIME message with a plain text and an HTML version.")
        lines.append("--\(boundary)")
        lines.append("Content-Type: text/plain; charset=UTF-8")
        lines.append("Content-Transfer-Encoding: base64")
        lines.append("")
        lines.append(contentsOf: Self.base64Lines(Self.crlf(text)))
        lines.append("--\(boundary)")
        lines.append("Content-Type: text/html; charset=UTF-8")
        lines.append("Content-Transfer-Encoding: base64")
        lines.append("")
        lines.append(contentsOf: Self.base64Lines(Self.crlf(html)))
        lines.append("--\(boundary)--")
        lines.append("")
        return Array(lines.joined(separator: "\r\n").utf8)
    }

    static func crlf(_ text: String) -> String {
        text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
    }

    static func mailbox(address: String, name: String?) -> String {
        guard let name, !name.isEmpty else { return address }
        let clean = name.filter { !$0.isNewline }
        if clean.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 }) && !clean.contains(where: { "\"\\()<>,;:@[]".contains($0) }) {
            return "\(clean) <\(address)>"
        }
        return "\(encodedWords(clean)) <\(address)>"
    }

    /// RFC 2047 `=?UTF-8?B?...?=` words of at most 75 characters, never splitting a character;
    /// plain printable ASCII is left as it is.
    static func encodedWords(_ text: String) -> String {
        let clean = text.filter { !$0.isNewline }
        if clean.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F }) && !clean.contains("=?") {
            return clean
        }
        // 75 - "=?UTF-8?B?" - "?=" = 63 base64 characters → at most 45 bytes per word.
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in clean {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 45 {
                words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=") }
        return words.joined(separator: "\r\n ")
    }

    static func foldedHeader(_ name: String, _ value: String) -> String { "\(name): \(value)" }

    static func base64Lines(_ text: String) -> [String] {
        let encoded = Data(text.utf8).base64EncodedString()
        var lines: [String] = []
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let end = encoded.index(index, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            lines.append(String(encoded[index..<end]))
            index = end
        }
        return lines
    }

    /// `Mon, 23 Nov 2026 16:24:24 +0000`.
    static func rfc5322Date(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Civil-from-days (Howard Hinnant).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        let weekday = Int((days % 7 + 11) % 7) // 1970-01-01 was a Thursday
        let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(weekdays[weekday]), \(two(day)) \(months[Int(month) - 1]) \(year) \(two(secondOfDay / 3600)):\(two(secondOfDay % 3600 / 60)):\(two(secondOfDay % 60)) +0000"
    }
}

/// A stable 128-bit FNV-1a digest in hex: the same input gives the same id in every process.
enum StableHash {
    static func hex(_ text: String) -> String {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325
        var b: UInt64 = 0x8422_2325_cbf2_9ce4
        for byte in text.utf8 {
            a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            b = (b ^ UInt64(byte ^ 0x5A)) &* 0x0000_0100_0000_01B3
        }
        b ^= a >> 29
        return hex64(a) + hex64(b)
    }

    private static func hex64(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
