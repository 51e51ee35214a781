#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation
import ServiceKit

/// Intake's own settings, from the environment (see the README's configuration table).
struct IntakeSettings: Sendable {
    /// `ONESTOP_INTAKE_DATA_KEYS`: `keyId:base64-32-bytes[,older…]`; the first seals new data.
    var dataKeys: [(id: String, key: Data)]
    /// `ONESTOP_INTAKE_LOOKUP_KEY`: base64, the HMAC key of the lookup hashes.
    var lookupKey: Data
    var usesDevelopmentKeys: Bool
    /// `ONESTOP_INTAKE_DUTY_OFFICER`: owner of online cases on a day without a roster entry.
    var defaultDutyOfficer: String
    /// `ONESTOP_INTAKE_ARCHIVE_AFTER_DAYS`: finished cases are archived this long after they end.
    var archiveAfter: Duration
    /// `ONESTOP_INTAKE_SWEEP_INTERVAL_MS`: how often lapses and archiving are checked.
    var sweepInterval: Duration
    /// `ONESTOP_INTAKE_ARCHIVE_GRANT_HOURS`: default length of an archive access grant.
    var archiveGrantHours: Int
    var calendar: WorkCalendar

    static let developmentDataKey = Data(repeating: 0x4F, count: 32)
    static let developmentLookupKey = Data(repeating: 0x53, count: 32)

    init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        var problems: [String] = []
        if let text = environment["ONESTOP_INTAKE_DATA_KEYS"], !text.isEmpty {
            var keys: [(String, Data)] = []
            for entry in text.split(separator: ",") {
                let parts = entry.split(separator: ":", maxSplits: 1)
                guard parts.count == 2, let key = Data(base64Encoded: String(parts[1])), key.count == 32 else {
                    problems.append("ONESTOP_INTAKE_DATA_KEYS: each entry is keyId:base64 of 32 random bytes (e.g. k2:$(openssl rand -base64 32))")
                    continue
                }
                keys.append((String(parts[0]), key))
            }
            dataKeys = keys
        } else {
            dataKeys = [("dev", Self.developmentDataKey)]
        }
        if let text = environment["ONESTOP_INTAKE_LOOKUP_KEY"], !text.isEmpty {
            if let key = Data(base64Encoded: text), key.count >= 16 {
                lookupKey = key
            } else {
                problems.append("ONESTOP_INTAKE_LOOKUP_KEY: base64 of at least 16 random bytes")
                lookupKey = Self.developmentLookupKey
            }
        } else {
            lookupKey = Self.developmentLookupKey
        }
        usesDevelopmentKeys = environment["ONESTOP_INTAKE_DATA_KEYS"]?.isEmpty ?? true
        defaultDutyOfficer = environment["ONESTOP_INTAKE_DUTY_OFFICER"] ?? "duty-officer"
        let archiveDays = Int(environment["ONESTOP_INTAKE_ARCHIVE_AFTER_DAYS"] ?? "") ?? 365
        archiveAfter = .seconds(archiveDays * 86_400)
        sweepInterval = .milliseconds(Int(environment["ONESTOP_INTAKE_SWEEP_INTERVAL_MS"] ?? "") ?? 60_000)
        archiveGrantHours = Int(environment["ONESTOP_INTAKE_ARCHIVE_GRANT_HOURS"] ?? "") ?? 24
        if dataKeys.isEmpty { problems.append("ONESTOP_INTAKE_DATA_KEYS holds no usable key") }
        do { calendar = try WorkCalendar.fromEnvironment(environment) } catch {
            problems.append("\(error)")
            calendar = WorkCalendar(timeZone: .gmt, holidays: [], workingWeekendDays: [])
        }
        guard problems.isEmpty else { throw ConfigurationError(problems: problems) }
    }
}
