import Contracts
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Routing's own settings (read from the environment beside `ServiceConfiguration`) and its
/// clock, which tests replace to move time forward.
public struct RoutingSettings: Sendable {
    /// The working calendar due dates are counted on.
    public var calendar: WorkCalendar
    /// Urgent cases get this percentage of the catalog's time limit (rounded up, at least 1 day).
    public var urgentLimitPercent: Int
    /// The most working days all extensions of one case may add together.
    public var maxExtensionWorkingDays: Int
    /// How many working days before the due date the handler is warned.
    public var warnWorkingDaysBefore: Int
    /// The share of the time limit (plus extensions, paused days excluded) after which a case is
    /// at risk: its handler is warned once and it counts in the at-risk gauge.
    public var atRiskPercent: Int
    /// A case overdue by more than this many working days is escalated, beyond its department
    /// head, to the supervisor; nil turns that level off.
    public var supervisorMarginWorkingDays: Int?
    /// Who receives the supervisor-level escalations.
    public var supervisor: RoutingStaffContact
    /// How often the SLA monitor scans.
    public var slaInterval: Duration
    /// Cases handled per SLA transaction.
    public var slaBatchSize: Int
    /// The language of staff notifications.
    public var staffLocale: CustomerLocale
    /// Seed the organisation at start when it is empty (the local demo).
    public var seedOrganisationAtStart: Bool
    /// The organisation seed file; nil = the one shipped with the service.
    public var organisationSeedFile: URL?
    /// The current instant; tests move it, `ONESTOP_ROUTING_CLOCK_SPEED` speeds it up.
    public var now: @Sendable () -> Date
    /// Routing's instant for one another service reports (a case's acceptance): the identity,
    /// except under a sped-up clock, where it maps real time onto the same fast timeline as `now`.
    public var instant: @Sendable (Date) -> Date

    public init(
        calendar: WorkCalendar,
        urgentLimitPercent: Int = 50,
        maxExtensionWorkingDays: Int = 10,
        warnWorkingDaysBefore: Int = 1,
        atRiskPercent: Int = 80,
        supervisorMarginWorkingDays: Int? = 3,
        supervisor: RoutingStaffContact = RoutingSettings.defaultSupervisor,
        slaInterval: Duration = .seconds(60),
        slaBatchSize: Int = 500,
        staffLocale: CustomerLocale = .zhCN,
        seedOrganisationAtStart: Bool = false,
        organisationSeedFile: URL? = nil,
        now: @escaping @Sendable () -> Date = { Date() },
        instant: @escaping @Sendable (Date) -> Date = { $0 }
    ) {
        self.calendar = calendar
        self.urgentLimitPercent = urgentLimitPercent
        self.maxExtensionWorkingDays = maxExtensionWorkingDays
        self.warnWorkingDaysBefore = warnWorkingDaysBefore
        self.atRiskPercent = atRiskPercent
        self.supervisorMarginWorkingDays = supervisorMarginWorkingDays
        self.supervisor = supervisor
        self.slaInterval = slaInterval
        self.slaBatchSize = slaBatchSize
        self.staffLocale = staffLocale
        self.seedOrganisationAtStart = seedOrganisationAtStart
        self.organisationSeedFile = organisationSeedFile
        self.now = now
        self.instant = instant
    }

    /// Reads `ONESTOP_ROUTING_*` and `ONESTOP_CALENDAR_FILE`; throws naming every bad value.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> RoutingSettings {
        var env = EnvironmentReader(environment)
        let calendar = try WorkCalendar.fromEnvironment(environment)
        // -1 turns the supervisor level off.
        let margin = env.integer("ONESTOP_ROUTING_SLA_SUPERVISOR_MARGIN_DAYS", default: 3, range: -1...365)
        // Test-only: simulated seconds per real second from process start. 31,536,000 (a year a
        // second) bounds it so a typo cannot run the calendar off its known years at once.
        let clock = RoutingClock(speed: env.integer("ONESTOP_ROUTING_CLOCK_SPEED", default: 1, range: 1...31_536_000))
        let settings = RoutingSettings(
            calendar: calendar,
            urgentLimitPercent: env.integer("ONESTOP_ROUTING_URGENT_LIMIT_PERCENT", default: 50, range: 1...100),
            maxExtensionWorkingDays: env.integer("ONESTOP_ROUTING_MAX_EXTENSION_DAYS", default: 10, range: 0...365),
            warnWorkingDaysBefore: env.integer("ONESTOP_ROUTING_SLA_WARN_DAYS", default: 1, range: 0...60),
            atRiskPercent: env.integer("ONESTOP_ROUTING_SLA_AT_RISK_PERCENT", default: 80, range: 1...100),
            supervisorMarginWorkingDays: margin < 0 ? nil : margin,
            supervisor: RoutingStaffContact(
                id: env.string("ONESTOP_ROUTING_SUPERVISOR_ID", default: defaultSupervisor.id),
                name: env.string("ONESTOP_ROUTING_SUPERVISOR_NAME", default: defaultSupervisor.name),
                email: env.optionalString("ONESTOP_ROUTING_SUPERVISOR_EMAIL") ?? defaultSupervisor.email,
                phone: env.optionalString("ONESTOP_ROUTING_SUPERVISOR_PHONE")
            ),
            slaInterval: .milliseconds(env.integer("ONESTOP_ROUTING_SLA_INTERVAL_MS", default: 60_000, range: 10...86_400_000)),
            slaBatchSize: env.integer("ONESTOP_ROUTING_SLA_BATCH_SIZE", default: 500, range: 1...100_000),
            staffLocale: env.choice("ONESTOP_ROUTING_STAFF_LOCALE", default: StaffLocale.zhCN) == .en ? .en : .zhCN,
            seedOrganisationAtStart: env.choice("ONESTOP_ROUTING_SEED_ORGANISATION", default: SeedAtStart.off) == .whenEmpty,
            organisationSeedFile: env.optionalString("ONESTOP_ROUTING_SEED_FILE").map { URL(fileURLWithPath: $0) },
            now: { clock.now() },
            instant: { clock.instant(at: $0) }
        )
        if !env.problems.isEmpty { throw ConfigurationError(problems: env.problems) }
        return settings
    }

    /// The duty supervisor of the local run.
    public static let defaultSupervisor = RoutingStaffContact(id: "supervisor", name: "Duty supervisor", email: "supervisor@onestop.local")

    enum StaffLocale: String, CaseIterable { case zhCN = "zh-cn", en }
    enum SeedAtStart: String, CaseIterable { case off, whenEmpty = "when-empty" }

    /// Today on the working calendar.
    var today: LocalDate { calendar.today(at: now()) }

    /// The working days (limit + extensions, paused days excluded) after which a case is at
    /// risk: the share rounded up, so a 1-day case is at risk on its due date, never before it
    /// has started.
    func atRiskWorkingDays(of a: AssignmentRecord) -> Int {
        let allowed = a.timeLimitDays + a.extendedDays
        return (allowed * atRiskPercent + 99) / 100
    }

    /// The day a case reaches the at-risk share of its time: acceptance + paused days + that share
    /// in working days, on the same calendar as its due date.
    func atRiskDate(of a: AssignmentRecord) -> LocalDate {
        calendar.adding(workingDays: a.pausedDays + atRiskWorkingDays(of: a), to: a.acceptedOn)
    }

    /// The time limit a case gets: the catalog's, shortened for urgent cases.
    func effectiveLimit(catalogDays: Int, urgent: Bool) -> Int {
        guard urgent, catalogDays > 0 else { return catalogDays }
        return max(1, (catalogDays * urgentLimitPercent + 99) / 100)
    }
}
