#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// ISO 8601 timestamps as the coders write and read them: `2026-11-23T13:05:00.123Z` (UTC,
/// milliseconds) on output; on input the fraction is optional (any number of digits) and the zone
/// may be `Z` or an offset (`+01:00`, `+0100`, `+01`).
public enum JSONDateFormat {
    /// `yyyy-MM-ddTHH:mm:ss.SSSZ` in UTC, rounded to the millisecond; nil outside years 0…9999.
    public static func string(from date: Date) -> String? {
        let millisDouble = (date.timeIntervalSince1970 * 1000).rounded()
        // 0000-01-01 ... 9999-12-31T23:59:59.999
        guard millisDouble >= -62_167_219_200_000, millisDouble <= 253_402_300_799_999 else { return nil }
        let millis = Int64(millisDouble)
        let msPerDay: Int64 = 86_400_000
        var days = millis / msPerDay
        var msOfDay = millis % msPerDay
        if msOfDay < 0 {
            msOfDay += msPerDay
            days -= 1
        }
        let (year, month, day) = civil(fromDays: days)
        let hour = Int(msOfDay / 3_600_000)
        let minute = Int(msOfDay / 60_000 % 60)
        let second = Int(msOfDay / 1000 % 60)
        let ms = Int(msOfDay % 1000)
        return String(unsafeUninitializedCapacity: 24) { buffer in
            func put(_ value: Int, _ width: Int, at offset: Int) {
                var v = value
                var i = offset + width
                while i > offset {
                    i -= 1
                    buffer[i] = UInt8(truncatingIfNeeded: v % 10) &+ 0x30
                    v /= 10
                }
            }
            put(Int(year), 4, at: 0)
            buffer[4] = UInt8(ascii: "-")
            put(month, 2, at: 5)
            buffer[7] = UInt8(ascii: "-")
            put(day, 2, at: 8)
            buffer[10] = UInt8(ascii: "T")
            put(hour, 2, at: 11)
            buffer[13] = UInt8(ascii: ":")
            put(minute, 2, at: 14)
            buffer[16] = UInt8(ascii: ":")
            put(second, 2, at: 17)
            buffer[19] = UInt8(ascii: ".")
            put(ms, 3, at: 20)
            buffer[23] = UInt8(ascii: "Z")
            return 24
        }
    }

    /// Parses an ISO 8601 date-time with a zone (`Z` or an offset); nil when malformed.
    public static func date(from string: String) -> Date? {
        var string = string
        return string.withUTF8 { date(fromUTF8: $0) }
    }

    static func date(fromUTF8 s: UnsafeBufferPointer<UInt8>) -> Date? {
        var i = 0
        let n = s.count
        func digits(_ count: Int) -> Int? {
            guard i + count <= n else { return nil }
            var value = 0
            for k in 0..<count {
                let d = s[i + k] &- 0x30
                guard d < 10 else { return nil }
                value = value * 10 + Int(d)
            }
            i += count
            return value
        }
        func expect(_ char: UInt8) -> Bool {
            guard i < n, s[i] == char else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect(UInt8(ascii: "-")),
              let month = digits(2), expect(UInt8(ascii: "-")),
              let day = digits(2)
        else { return nil }
        guard i < n, s[i] == UInt8(ascii: "T") || s[i] == UInt8(ascii: "t") || s[i] == UInt8(ascii: " ") else { return nil }
        i += 1
        guard let hour = digits(2), expect(UInt8(ascii: ":")),
              let minute = digits(2), expect(UInt8(ascii: ":")),
              let second = digits(2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month),
              hour <= 23, minute <= 59, second <= 60
        else { return nil }
        var nanos = 0
        var fractionDigits = 0
        if i < n && s[i] == UInt8(ascii: ".") {
            i += 1
            while i < n, s[i] &- 0x30 < 10 {
                if fractionDigits < 9 {
                    nanos = nanos * 10 + Int(s[i] &- 0x30)
                    fractionDigits += 1
                }
                i += 1
            }
            guard fractionDigits > 0 else { return nil }
            for _ in fractionDigits..<9 { nanos *= 10 }
        }
        var offsetSeconds = 0
        guard i < n else { return nil }
        switch s[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign = s[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let offsetHours = digits(2), offsetHours <= 23 else { return nil }
            var offsetMinutes = 0
            if i < n {
                _ = expect(UInt8(ascii: ":"))
                guard let m = digits(2), m <= 59 else { return nil }
                offsetMinutes = m
            }
            offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
        default:
            return nil
        }
        guard i == n else { return nil }
        let days = daysFromCivil(year: Int64(year), month: month, day: day)
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second - offsetSeconds)
        if nanos % 1_000_000 == 0 {
            // Millisecond precision: one correctly rounded division.
            return Date(timeIntervalSince1970: Double(seconds * 1000 + Int64(nanos / 1_000_000)) / 1000)
        }
        return Date(timeIntervalSince1970: Double(seconds) + Double(nanos) / 1e9)
    }

    static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 (H. Hinnant's algorithm).
    static func daysFromCivil(year: Int64, month: Int, day: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays days: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, Int(m), Int(d))
    }
}
