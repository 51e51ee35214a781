import Foundation

/// A calendar date without a time or time zone, stored as PostgreSQL `date` (e.g. a birth date or a
/// statutory deadline), so it never shifts by a day across time zones.
public struct PostgresDate: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// The calendar day `date` falls on in `timeZone`.
    public init(_ date: Date, in timeZone: TimeZone = .gmt) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        self.init(year: parts.year ?? 1970, month: parts.month ?? 1, day: parts.day ?? 1)
    }

    /// Parses `YYYY-MM-DD`.
    public init?(_ text: String) {
        guard let (year, month, day) = PostgresTimestamp.parseDate(text) else { return nil }
        self.init(year: Int(year), month: Int(month), day: Int(day))
    }

    /// Midnight at the start of this day in `timeZone`.
    public func startOfDay(in timeZone: TimeZone = .gmt) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar.date(from: DateComponents(year: year, month: month, day: day))
    }

    /// `YYYY-MM-DD` (with ` BC` for years before 1).
    public var description: String {
        PostgresTimestamp.formatDate(year: Int64(year), month: Int64(month), day: Int64(day))
    }

    public static func < (lhs: PostgresDate, rhs: PostgresDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }
}

extension PostgresDate: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .date }
    public func postgresText() -> String? { description }
}

extension PostgresDate: PostgresDecodable {
    public static func decode(postgresText text: String, context: PostgresDecodingContext) throws(PostgresError) -> PostgresDate {
        guard let date = PostgresDate(text) else { throw mismatch(context) }
        return date
    }
}
