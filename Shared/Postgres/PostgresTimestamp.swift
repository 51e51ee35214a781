import Foundation

/// Text conversion for `timestamptz`/`date` without DateFormatter (which is slow and locale-bound).
/// Uses the proleptic Gregorian calendar, like PostgreSQL.
enum PostgresTimestamp {
    private static let microsPerDay: Int64 = 86_400_000_000

    /// `2024-05-01 08:30:00.123456+00` (UTC, microseconds, rounded to the nearest microsecond).
    static func format(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        if seconds == .infinity || seconds > 9.2e12 { return "infinity" }
        if seconds == -.infinity || seconds < -9.2e12 { return "-infinity" }
        let micros = Int64((seconds * 1_000_000).rounded())
        var days = micros / microsPerDay
        var remainder = micros % microsPerDay
        if remainder < 0 {
            days -= 1
            remainder += microsPerDay
        }
        let (year, month, day) = civil(fromDays: days)
        let secondsOfDay = remainder / 1_000_000
        let fraction = remainder % 1_000_000
        var text = formatDate(year: year, month: month, day: day, addEra: false)
        text += " " + pad(secondsOfDay / 3600, 2) + ":" + pad(secondsOfDay / 60 % 60, 2) + ":"
            + pad(secondsOfDay % 60, 2) + "." + pad(fraction, 6) + "+00"
        if year <= 0 { text += " BC" }
        return text
    }

    /// Parses `YYYY-MM-DD[ T]HH:MM:SS[.ffffff][±HH[:MM[:SS]]][ BC]`, `infinity`, `-infinity`.
    /// A missing offset means UTC.
    static func parse(_ text: String) -> Date? {
        if text == "infinity" { return .distantFuture }
        if text == "-infinity" { return .distantPast }
        var scanner = Scanner(Array(text.utf8))
        guard let (year, month, day) = scanner.date() else { return nil }
        guard scanner.skip(" ") || scanner.skip("T"),
            let hour = scanner.digits(exactly: 2), scanner.skip(":"),
            let minute = scanner.digits(exactly: 2), scanner.skip(":"),
            let second = scanner.digits(exactly: 2)
        else { return nil }
        var micros: Int64 = 0
        if scanner.skip(".") {
            var scale: Int64 = 100_000
            var count = 0
            while let digit = scanner.digit() {
                count += 1
                micros += Int64(digit) * scale
                scale /= 10
            }
            guard count > 0 else { return nil }
        }
        var offsetSeconds: Int64 = 0
        if let sign = scanner.peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            scanner.advance()
            guard let hours = scanner.digits(exactly: 2) else { return nil }
            var offset = hours * 3600
            if scanner.skip(":") {
                guard let minutes = scanner.digits(exactly: 2) else { return nil }
                offset += minutes * 60
                if scanner.skip(":") {
                    guard let seconds = scanner.digits(exactly: 2) else { return nil }
                    offset += seconds
                }
            }
            offsetSeconds = sign == UInt8(ascii: "-") ? -offset : offset
        } else if scanner.skip("Z") {
            offsetSeconds = 0
        }
        var astronomicalYear = year
        if scanner.skip(" ") {
            guard scanner.skip("B"), scanner.skip("C") else { return nil }
            astronomicalYear = 1 - year
        }
        guard scanner.atEnd, (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        let days = self.days(fromCivil: astronomicalYear, month, day)
        let totalMicros = days * microsPerDay + (hour * 3600 + minute * 60 + second - offsetSeconds) * 1_000_000 + micros
        return Date(timeIntervalSince1970: Double(totalMicros) / 1_000_000)
    }

    static func formatDate(year: Int64, month: Int64, day: Int64, addEra: Bool = true) -> String {
        let displayYear = year <= 0 ? 1 - year : year
        var text = pad(displayYear, 4) + "-" + pad(month, 2) + "-" + pad(day, 2)
        if addEra, year <= 0 { text += " BC" }
        return text
    }

    /// Parses `YYYY-MM-DD[ BC]` into an astronomical year (1 BC = 0).
    static func parseDate(_ text: String) -> (year: Int64, month: Int64, day: Int64)? {
        var scanner = Scanner(Array(text.utf8))
        guard let (parsedYear, month, day) = scanner.date() else { return nil }
        var year = parsedYear
        if scanner.skip(" ") {
            guard scanner.skip("B"), scanner.skip("C") else { return nil }
            year = 1 - year
        }
        guard scanner.atEnd, (1...12).contains(month), (1...31).contains(day) else { return nil }
        return (year, month, day)
    }

    // MARK: Calendar arithmetic (Howard Hinnant's days_from_civil / civil_from_days)

    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { index == bytes.count }
        func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }
        mutating func advance() { index += 1 }

        mutating func skip(_ character: Unicode.Scalar) -> Bool {
            guard peek() == UInt8(ascii: character) else { return false }
            index += 1
            return true
        }

        mutating func digit() -> Int64? {
            guard let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            index += 1
            return Int64(byte - UInt8(ascii: "0"))
        }

        mutating func digits(exactly count: Int) -> Int64? {
            var value: Int64 = 0
            for _ in 0..<count {
                guard let digit = digit() else { return nil }
                value = value * 10 + digit
            }
            return value
        }

        /// `YYYY-MM-DD` with four or more year digits.
        mutating func date() -> (Int64, Int64, Int64)? {
            var year: Int64 = 0
            var yearDigits = 0
            while let digit = digit() {
                year = year * 10 + digit
                yearDigits += 1
            }
            guard yearDigits >= 4, yearDigits <= 7, skip("-"), let month = digits(exactly: 2), skip("-"),
                let day = digits(exactly: 2)
            else { return nil }
            return (year, month, day)
        }
    }
}
