@testable import IntakeService
import Sealing
import ServiceKit
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

@Suite("Tracking numbers")
struct TrackingNumberTests {
    @Test func checkCharacterCatchesTyposAndSwaps() throws {
        let day = try #require(LocalDate("2026-11-23"))
        let number = TrackingNumber.make(day: day, sequence: 42)
        #expect(number.hasPrefix("20261123-000042-"))
        #expect(TrackingNumber.isWellFormed(number))
        var digits = Array(number)
        digits[12] = digits[12] == "0" ? "1" : "0"
        #expect(!TrackingNumber.isWellFormed(String(digits)))
        let swapped = TrackingNumber.make(day: day, sequence: 12)
        let typo = String(swapped.replacingOccurrences(of: "000012", with: "000021"))
        #expect(!TrackingNumber.isWellFormed(typo))
    }

    /// The hand-written formatting that replaced `String(format:)` on the registration path
    /// gives the same text: dates, sequence numbers and the lookup hashes stored before it.
    @Test func zeroPaddingAndHexGiveTheTextFormatGave() throws {
        #expect(7.zeroPadded(3) == "007")
        #expect(1234.zeroPadded(2) == "1234")
        #expect(Int64(1_000_000).zeroPadded(6) == "1000000")
        #expect(try #require(LocalDate("2026-01-05")).description == "2026-01-05")
        #expect(TrackingNumber.make(day: try #require(LocalDate("2026-01-05")), sequence: 1_234_567).hasPrefix("20260105-1234567-"))
        #expect(Hex.lowercase([0x00, 0x0f, 0xa0, 0xff]) == "000fa0ff")
        #expect(Hex.lowercase([UInt8]()) == "")
        // HMAC-SHA256("k", "phone:1") — the same hex as the lookup hashes already stored.
        #expect(keyedLookupHash("1", kind: "phone", key: Data("k".utf8)) == "1e17a54338f060a8bda25b418de52e1fb50fabb149ae27bc92e7baad2664ecdf")
    }
}
