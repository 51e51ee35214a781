@testable import IntakeService
import ServiceKit
import Testing

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
}
