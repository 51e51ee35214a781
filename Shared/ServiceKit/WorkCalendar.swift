#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// A day on the calendar, without a time or zone: what time limits are counted in.
public struct LocalDate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Days since 1970-01-01 (proleptic Gregorian).
    public let dayNumber: Int

    public init(dayNumber: Int) { self.dayNumber = dayNumber }

    public init?(year: Int, month: Int, day: Int) {
        guard (1...12).contains(month), day >= 1, day <= LocalDate.daysIn(month: month, year: year) else { return nil }
        // Howard Hinnant's days_from_civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        dayNumber = era * 146_097 + doe - 719_468
    }

    /// Parses `YYYY-MM-DD`.
    public init?(_ text: String) {
        let parts = text.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]) else { return nil }
        self.init(year: year, month: month, day: day)
    }

    /// The calendar day of an instant in a time zone.
    public init(_ instant: Date, in timeZone: TimeZone) {
        let seconds = Int((instant.timeIntervalSince1970 + Double(timeZone.secondsFromGMT(for: instant))).rounded(.down))
        dayNumber = Int((Double(seconds) / 86_400).rounded(.down))
    }

    public var components: (year: Int, month: Int, day: Int) {
        let z = dayNumber + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// 1 = Monday … 7 = Sunday (ISO 8601).
    public var isoWeekday: Int { ((dayNumber + 3) % 7 + 7) % 7 + 1 }

    public func adding(days: Int) -> LocalDate { LocalDate(dayNumber: dayNumber + days) }

    public var description: String {
        let (year, month, day) = components
        return "\(year.zeroPadded(4))-\(month.zeroPadded(2))-\(day.zeroPadded(2))"
    }

    public static func < (lhs: LocalDate, rhs: LocalDate) -> Bool { lhs.dayNumber < rhs.dayNumber }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let date = LocalDate(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "expected a date as YYYY-MM-DD, got \"\(text)\""))
        }
        self = date
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    }
}

/// The working calendar time limits are counted on: weekends, public holidays, and the make-up
/// working days some countries move onto weekends. Loaded from a JSON file (see
/// `Shared/ServiceKit/Calendars/cn.json`); `ONESTOP_CALENDAR_FILE` points at another.
public struct WorkCalendar: Sendable {
    public let timeZone: TimeZone
    public let weekendDays: Set<Int>
    public let holidays: Set<LocalDate>
    public let workingWeekendDays: Set<LocalDate>

    public init(timeZone: TimeZone, weekendDays: Set<Int> = [6, 7], holidays: Set<LocalDate>, workingWeekendDays: Set<LocalDate>) {
        self.timeZone = timeZone
        self.weekendDays = weekendDays
        self.holidays = holidays
        self.workingWeekendDays = workingWeekendDays
    }

    public func isWorkingDay(_ date: LocalDate) -> Bool {
        if holidays.contains(date) { return false }
        if workingWeekendDays.contains(date) { return true }
        return !weekendDays.contains(date.isoWeekday)
    }

    /// The date `count` working days after `start` (not counting `start` itself), as a hall
    /// counts "within 5 working days" from the day of acceptance.
    public func adding(workingDays count: Int, to start: LocalDate) -> LocalDate {
        precondition(count >= 0, "working days to add must not be negative")
        var date = start
        var remaining = count
        while remaining > 0 {
            date = date.adding(days: 1)
            if isWorkingDay(date) { remaining -= 1 }
        }
        return date
    }

    /// Working days after `start` up to and including `end` (0 when `end` is not after `start`).
    public func workingDays(from start: LocalDate, through end: LocalDate) -> Int {
        guard end > start else { return 0 }
        var count = 0
        var date = start.adding(days: 1)
        while date <= end {
            if isWorkingDay(date) { count += 1 }
            date = date.adding(days: 1)
        }
        return count
    }

    public func today(at instant: Date = Date()) -> LocalDate { LocalDate(instant, in: timeZone) }

    // MARK: Loading

    struct File: Decodable {
        var timeZone: String
        var weekend: [String]?
        var holidays: [LocalDate]
        var workingWeekendDays: [LocalDate]?
    }

    public static func load(contentsOf url: URL) throws -> WorkCalendar {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ConfigurationError(problems: ["ONESTOP_CALENDAR_FILE: " + "cannot read the working calendar at \(url.path): \(error)"])
        }
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch {
            throw ConfigurationError(problems: ["ONESTOP_CALENDAR_FILE: " + "the working calendar at \(url.path) is not valid: \(error)"])
        }
        guard let zone = TimeZone(identifier: file.timeZone) else {
            throw ConfigurationError(problems: ["ONESTOP_CALENDAR_FILE: " + "unknown time zone \"\(file.timeZone)\" in \(url.path)"])
        }
        let names = ["monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5, "saturday": 6, "sunday": 7]
        var weekend: Set<Int> = []
        for name in file.weekend ?? ["saturday", "sunday"] {
            guard let day = names[name.lowercased()] else {
                throw ConfigurationError(problems: ["ONESTOP_CALENDAR_FILE: " + "unknown weekday \"\(name)\" in \(url.path)"])
            }
            weekend.insert(day)
        }
        return WorkCalendar(timeZone: zone, weekendDays: weekend, holidays: Set(file.holidays), workingWeekendDays: Set(file.workingWeekendDays ?? []))
    }

    /// The calendar shipped with OneStop (mainland China), or the file named by `ONESTOP_CALENDAR_FILE`.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> WorkCalendar {
        if let path = environment["ONESTOP_CALENDAR_FILE"], !path.isEmpty {
            return try load(contentsOf: URL(fileURLWithPath: path))
        }
        return try bundled
    }

    public static var bundled: WorkCalendar {
        get throws {
            guard let url = Bundle.module.url(forResource: "cn", withExtension: "json", subdirectory: "Calendars") else {
                throw ConfigurationError(problems: ["ONESTOP_CALENDAR_FILE: " + "the bundled working calendar is missing from the ServiceKit resources"])
            }
            return try load(contentsOf: url)
        }
    }
}

extension BinaryInteger {
    /// The decimal digits, with leading zeros up to `width` (`7.zeroPadded(3)` is `007`);
    /// cheaper than `String(format:)` on paths taken per request.
    public func zeroPadded(_ width: Int) -> String {
        let digits = String(self)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
