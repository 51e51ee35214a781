import Contracts
import Sealing
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The complaints service's own settings (beyond the common `ServiceConfiguration`), from
/// `ONESTOP_COMPLAINTS_*` environment variables; defaults fit the local run.
public struct ComplaintsConfiguration: Sendable {
    /// The supervisor major complaints go to at once.
    public struct Supervisor: Sendable {
        public var id: String
        public var name: String
        public var phone: String?
        public var email: String?
        public init(id: String, name: String, phone: String? = nil, email: String? = nil) {
            self.id = id
            self.name = name
            self.phone = phone
            self.email = email
        }
    }

    public var rules: ClassificationRules
    public var calendar: WorkCalendar
    /// How long after filing the complainant must first be contacted.
    public var firstResponseHours: Int
    /// Working days a department has to resolve a general complaint.
    public var resolutionWorkingDays: Int
    /// Working days a supervisor has to resolve a major complaint.
    public var majorResolutionWorkingDays: Int
    /// How many times a complainant may reopen a resolved complaint.
    public var maxReopens: Int
    public var supervisor: Supervisor
    /// Key mixed into the contact hashes used to find repeat complainants.
    public var contactHashKey: String
    /// `ONESTOP_COMPLAINTS_DATA_KEYS` (`keyId:base64-32-bytes[,older…]`): complainants' phones
    /// and emails are sealed with the first (AES-GCM); the others still open older rows.
    public var dataKeys: [(id: String, key: Data)]

    /// Used when `ONESTOP_COMPLAINTS_DATA_KEYS` is not set (local runs and tests only).
    public static let developmentDataKey = Data(repeating: 0x43, count: 32)
    /// True when contacts would be sealed with `developmentDataKey`: worth a warning at start.
    public var usesDevelopmentDataKey: Bool { dataKeys.first?.key == Self.developmentDataKey }
    /// Content length bounds, in characters.
    public var minContentLength: Int
    public var maxContentLength: Int
    /// How long filing waits for routing's answer about the case complained about before filing
    /// without it (filing never fails because routing is down).
    public var routingTimeout: Duration
    /// How often the first-response timer looks for complaints not acknowledged in time.
    public var timerInterval: Duration
    /// Complaints escalated per timer transaction.
    public var timerBatchSize: Int
    /// How far into a limit (percent of the first-response hours, of the resolution working days)
    /// the department is warned that it is near, so it can act before the supervisor is told.
    public var warningPercent: Int

    public init(
        rules: ClassificationRules, calendar: WorkCalendar, firstResponseHours: Int = 24, resolutionWorkingDays: Int = 10,
        majorResolutionWorkingDays: Int = 3, maxReopens: Int = 2,
        supervisor: Supervisor = Supervisor(id: "supervisor", name: "Duty supervisor", email: "supervisor@onestop.local"),
        contactHashKey: String = "onestop-complaints-development-hash-key", minContentLength: Int = 5,
        maxContentLength: Int = 4000, routingTimeout: Duration = .seconds(2), timerInterval: Duration = .seconds(60),
        timerBatchSize: Int = 200, warningPercent: Int = 80,
        dataKeys: [(id: String, key: Data)] = [("dev", ComplaintsConfiguration.developmentDataKey)]
    ) {
        self.dataKeys = dataKeys
        self.rules = rules
        self.calendar = calendar
        self.firstResponseHours = firstResponseHours
        self.resolutionWorkingDays = resolutionWorkingDays
        self.majorResolutionWorkingDays = majorResolutionWorkingDays
        self.maxReopens = maxReopens
        self.supervisor = supervisor
        self.contactHashKey = contactHashKey
        self.minContentLength = minContentLength
        self.maxContentLength = maxContentLength
        self.routingTimeout = routingTimeout
        self.timerInterval = timerInterval
        self.timerBatchSize = timerBatchSize
        self.warningPercent = warningPercent
    }

    /// Reads the settings; throws one `ConfigurationError` naming every bad variable.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ComplaintsConfiguration {
        var env = EnvironmentReader(environment)
        let rulesPath = env.optionalString("ONESTOP_COMPLAINTS_RULES_FILE")
        let firstResponseHours = env.integer("ONESTOP_COMPLAINTS_FIRST_RESPONSE_HOURS", default: 24, range: 1...720)
        let resolutionDays = env.integer("ONESTOP_COMPLAINTS_RESOLUTION_WORKING_DAYS", default: 10, range: 1...365)
        let majorDays = env.integer("ONESTOP_COMPLAINTS_MAJOR_RESOLUTION_WORKING_DAYS", default: 3, range: 1...365)
        let maxReopens = env.integer("ONESTOP_COMPLAINTS_MAX_REOPENS", default: 2, range: 0...20)
        let supervisor = Supervisor(
            id: env.string("ONESTOP_COMPLAINTS_SUPERVISOR_ID", default: "supervisor"),
            name: env.string("ONESTOP_COMPLAINTS_SUPERVISOR_NAME", default: "Duty supervisor"),
            phone: env.optionalString("ONESTOP_COMPLAINTS_SUPERVISOR_PHONE"),
            email: env.optionalString("ONESTOP_COMPLAINTS_SUPERVISOR_EMAIL") ?? "supervisor@onestop.local"
        )
        let hashKey = env.string("ONESTOP_COMPLAINTS_CONTACT_HASH_KEY", default: "onestop-complaints-development-hash-key")
        env.require(hashKey.utf8.count >= 16, "ONESTOP_COMPLAINTS_CONTACT_HASH_KEY must be at least 16 bytes")
        let maxContent = env.integer("ONESTOP_COMPLAINTS_MAX_CONTENT_LENGTH", default: 4000, range: 50...100_000)
        let routingTimeout = env.integer("ONESTOP_COMPLAINTS_ROUTING_TIMEOUT_MS", default: 2_000, range: 50...60_000)
        let timerInterval = env.integer("ONESTOP_COMPLAINTS_TIMER_INTERVAL_MS", default: 60_000, range: 10...86_400_000)
        let warningPercent = env.integer("ONESTOP_COMPLAINTS_WARNING_PERCENT", default: 80, range: 1...99)
        var dataKeys: [(id: String, key: Data)] = [("dev", developmentDataKey)]
        if let text = env.optionalString("ONESTOP_COMPLAINTS_DATA_KEYS") {
            switch DataSealer.parseKeys(text) {
            case .success(let keys): dataKeys = keys
            case .failure(let error): env.require(false, "ONESTOP_COMPLAINTS_DATA_KEYS: \(error)")
            }
        }
        if !env.problems.isEmpty { throw ConfigurationError(problems: env.problems) }
        let rules: ClassificationRules
        do {
            rules = try rulesPath.map { try ClassificationRules.load(contentsOf: URL(fileURLWithPath: $0)) } ?? ClassificationRules.bundled
        } catch {
            throw ConfigurationError(problems: ["ONESTOP_COMPLAINTS_RULES_FILE: \(error)"])
        }
        return ComplaintsConfiguration(
            rules: rules, calendar: try WorkCalendar.fromEnvironment(environment), firstResponseHours: firstResponseHours,
            resolutionWorkingDays: resolutionDays, majorResolutionWorkingDays: majorDays, maxReopens: maxReopens,
            supervisor: supervisor, contactHashKey: hashKey, maxContentLength: maxContent,
            routingTimeout: .milliseconds(routingTimeout), timerInterval: .milliseconds(timerInterval),
            warningPercent: warningPercent, dataKeys: dataKeys
        )
    }

    /// How long before the first-response time the warning goes out.
    var firstResponseWarningLead: TimeInterval {
        Double(firstResponseHours) * 3600 * Double(100 - warningPercent) / 100
    }

    /// The last day of a resolution limit of `workingDays` starting `start` before its warning:
    /// the warning goes out once this day is over, when `warningPercent` of the working days are
    /// used (rounded down, so a one-day limit is warned the evening it starts).
    func resolutionWarnDate(workingDays: Int, from start: LocalDate) -> LocalDate {
        calendar.adding(workingDays: workingDays * warningPercent / 100, to: start)
    }

    /// The defaults with the bundled rules and calendar (tests adjust fields).
    public static var defaults: ComplaintsConfiguration {
        get throws { try fromEnvironment([:]) }
    }
}
