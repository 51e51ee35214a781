import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// A hall-style tracking number: the registration date, a sequence number, and a check
/// character (ISO 7064 MOD 37,36) that catches a mistyped digit or swapped neighbours.
/// Example: `20261123-000042-K`.
enum TrackingNumber {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")

    static func make(day: LocalDate, sequence: Int64) -> String {
        let (year, month, day) = day.components
        let body = year.zeroPadded(4) + month.zeroPadded(2) + day.zeroPadded(2) + sequence.zeroPadded(6)
        return String(body.prefix(8)) + "-" + String(body.dropFirst(8)) + "-" + String(checkCharacter(for: body))
    }

    /// True when the text has the shape and the right check character (a cheap refusal before any query).
    static func isWellFormed(_ text: String) -> Bool {
        let parts = text.uppercased().split(separator: "-")
        guard parts.count == 3, parts[0].count == 8, parts[1].count >= 6, parts[2].count == 1,
              parts[0].allSatisfy(\.isNumber), parts[1].allSatisfy(\.isNumber) else { return false }
        return checkCharacter(for: String(parts[0] + parts[1])) == parts[2].first
    }

    static func checkCharacter(for digits: String) -> Character {
        var product = 36
        for character in digits {
            let value = alphabet.firstIndex(of: character) ?? 0
            var sum = (product + value) % 36
            if sum == 0 { sum = 36 }
            product = (sum * 2) % 37
        }
        let check = (37 - product) % 36
        return alphabet[check]
    }
}

/// The short code a customer uses with the tracking number. It is derived from the case id with
/// the lookup key, so a retried registration gets the same code back without the code being
/// stored anywhere; only its keyed hash is kept to check it.
enum AccessCode {
    /// No 0/O, 1/I/L: read out on the phone without confusion.
    private static let alphabet = Array("23456789ABCDEFGHJKMNPQRSTUVWXYZ")

    static func derive(for caseID: UUID, vault: PersonalDataVault) -> String {
        let hash = Array(vault.lookupHash(caseID.lowercasedString, kind: "access-code"))
        return String((0..<6).map { index in
            alphabet[Int(String(hash[index * 2..<index * 2 + 2]), radix: 16)! % alphabet.count]
        })
    }

    static func normalise(_ text: String) -> String {
        text.uppercased().filter { !$0.isWhitespace && $0 != "-" }
    }
}
