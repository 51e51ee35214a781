import Identity
import ServiceKit
import Testing

@Suite("Identity documents, contact details and the working calendar")
struct IdentityAndCalendarTests {
    @Test func residentIDChecksums() throws {
        #expect(try ResidentIDNumber("11010519491231002x").value == "11010519491231002X")
        #expect(throws: IdentityError.self) { try ResidentIDNumber("110105194912310021") }
        #expect(throws: IdentityError.self) { try ResidentIDNumber("11010519490230002X") }
        #expect(throws: IdentityError.self) { try ResidentIDNumber("1101051949123100") }
        #expect(try ResidentIDNumber("11010519491231002X").masked == "110*************2X")
    }

    @Test func creditCodesAndPassports() throws {
        #expect(try UnifiedSocialCreditCode("91350100M000100Y43").value == "91350100M000100Y43")
        #expect(throws: IdentityError.self) { try UnifiedSocialCreditCode("91350100M000100Y44") }
        #expect(throws: IdentityError.self) { try UnifiedSocialCreditCode("91350100M000100YI3") }
        #expect(try PassportNumber("e12345678").value == "E12345678")
        #expect(throws: IdentityError.self) { try PassportNumber("ABCDEFG") }
    }

    @Test func phonesAndEmails() throws {
        #expect(try PhoneNumber("138-1234-5678").e164 == "+8613812345678")
        #expect(try PhoneNumber("+44 20 7946 0958").e164 == "+442079460958")
        #expect(throws: IdentityError.self) { try PhoneNumber("12812345678") }
        #expect(try EmailAddress("Li.Si@Example.COM").value == "Li.Si@example.com")
        #expect(throws: IdentityError.self) { try EmailAddress("li..si@example.com") }
        #expect(throws: IdentityError.self) { try EmailAddress("lisi@localhost") }
    }

    @Test func workingDaysSkipWeekendsAndHolidaysAndCountMakeUpDays() throws {
        let calendar = try WorkCalendar.bundled
        // National Day 2026: Oct 1–7 off, Sat Oct 10 a make-up working day.
        let start = try #require(LocalDate("2026-09-30"))
        #expect(calendar.adding(workingDays: 1, to: start).description == "2026-10-08")
        #expect(calendar.adding(workingDays: 3, to: start).description == "2026-10-10")
        #expect(calendar.isWorkingDay(try #require(LocalDate("2026-10-10"))))
        #expect(!calendar.isWorkingDay(try #require(LocalDate("2026-11-22"))))
        #expect(calendar.workingDays(from: start, through: try #require(LocalDate("2026-10-12"))) == 4)
        #expect(LocalDate("2026-02-30") == nil)
        #expect(try #require(LocalDate("2026-11-23")).isoWeekday == 1)
    }
}
