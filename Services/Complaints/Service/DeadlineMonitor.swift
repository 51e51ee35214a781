import Contracts
import JSONCoding
import Logging
import Messaging
import Metrics
import Postgres
import ServiceKit
import ServiceLifecycle

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The complaint timers: first response (hours after filing, until the first contact) and
/// resolution (working days on the shared calendar, from assignment until resolved). Each has two
/// levels, each recorded once per complaint in `complaint_escalations` and announced through the
/// outbox in the transaction that marks the complaint:
///
/// - level 0, a **warning** once `warningPercent` of the limit is used, to the department's
///   contact (the supervisor for major complaints, or when the department has none);
/// - level 1, an **escalation** to the supervisor once the limit has passed.
///
/// Several replicas may run it: complaints are claimed with `FOR UPDATE SKIP LOCKED`, a claimed
/// row no longer matches once its step is recorded, and the escalation row is unique per
/// complaint, kind and level. Each scan reads only partial indexes of complaints still waiting.
public struct DeadlineMonitor: Service {
    /// What one scan did.
    public struct Report: Sendable, Equatable {
        public var firstResponseWarned = 0
        public var firstResponseEscalated = 0
        public var resolutionWarned = 0
        public var resolutionEscalated = 0
        public init() {}
        public var total: Int { firstResponseWarned + firstResponseEscalated + resolutionWarned + resolutionEscalated }

        mutating func add(_ count: Int, for step: Step) {
            switch (step.timer, step.level) {
            case (.firstResponse, .warning): firstResponseWarned += count
            case (.firstResponse, .escalation): firstResponseEscalated += count
            case (.resolution, .warning): resolutionWarned += count
            case (.resolution, .escalation): resolutionEscalated += count
            }
        }
    }

    /// The `kind` of the escalation rows.
    enum Timer: String, Sendable {
        case firstResponse = "first_response"
        case resolution
    }

    /// The `level` of the escalation rows.
    enum Level: Int, Sendable {
        case warning = 0
        case escalation = 1
    }

    struct Step: Sendable {
        var timer: Timer
        var level: Level
    }

    /// Breaches before warnings: a complaint first seen already past its limit gets the
    /// escalation, not a late warning (the warning scans skip complaints past their limit).
    static let steps = [
        Step(timer: .firstResponse, level: .escalation), Step(timer: .resolution, level: .escalation),
        Step(timer: .firstResponse, level: .warning), Step(timer: .resolution, level: .warning),
    ]

    let configuration: ComplaintsConfiguration
    let database: PostgresPool
    let store: ComplaintStore
    let logger: Logger
    private let counters: [String: Counter]

    public init(configuration: ComplaintsConfiguration, database: PostgresPool, logger: Logger) {
        self.configuration = configuration
        self.database = database
        self.store = ComplaintStore(configuration: configuration)
        self.logger = logger
        var counters: [String: Counter] = [:]
        for step in Self.steps {
            let name = Self.counterName(step)
            counters[name] = Counter(label: name)
        }
        self.counters = counters
    }

    static func counterName(_ step: Step) -> String {
        "complaints_\(step.timer.rawValue)_\(step.level == .warning ? "warnings" : "escalations")_total"
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                let report = try await scan(now: Date())
                if report.total > 0 {
                    logger.info("complaint deadlines", metadata: [
                        "complaints.firstResponse.warned": "\(report.firstResponseWarned)",
                        "complaints.firstResponse.escalated": "\(report.firstResponseEscalated)",
                        "complaints.resolution.warned": "\(report.resolutionWarned)",
                        "complaints.resolution.escalated": "\(report.resolutionEscalated)",
                    ])
                }
            } catch {
                logger.warning("deadline scan failed; trying again next interval", metadata: ["error": "\(error)"])
            }
            do {
                try await cancelWhenGracefulShutdown { [interval = configuration.timerInterval] in try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }

    /// One scan as of `now`: every step due is taken, in batches of `timerBatchSize` per
    /// transaction; returns how many of each were recorded by this scan.
    public func scan(now: Date) async throws -> Report {
        var report = Report()
        for step in Self.steps {
            while true {
                let (claimed, done) = try await database.withTransaction { c in try await run(step, now: now, on: c) }
                report.add(done, for: step)
                counters[Self.counterName(step)]?.increment(by: done)
                if claimed < configuration.timerBatchSize { break }
            }
        }
        return report
    }

    private func run(_ step: Step, now: Date, on c: PostgresConnection) async throws -> (claimed: Int, done: Int) {
        let ids = try await c.query(claim(step, now: now)).map { try $0.decode(UUID.self, column: "id") }
        var done = 0
        for id in ids {
            guard var record = try await store.load(id: id, forUpdate: false, connection: c) else { continue }
            if try await take(step, on: &record, now: now, connection: c) { done += 1 }
        }
        return (ids.count, done)
    }

    /// The complaints due for `step`, locked; each condition matches a partial index's predicate.
    private func claim(_ step: Step, now: Date) -> SQL {
        let limit = configuration.timerBatchSize
        let today = configuration.calendar.today(at: now).description
        switch (step.timer, step.level) {
        case (.firstResponse, .escalation):
            return """
                SELECT id FROM complaints
                WHERE first_response_at IS NULL AND first_response_escalated_at IS NULL AND first_response_due_at < \(now)
                ORDER BY first_response_due_at LIMIT \(limit) FOR UPDATE SKIP LOCKED
                """
        case (.firstResponse, .warning):
            let warnBefore = now.addingTimeInterval(configuration.firstResponseWarningLead)
            return """
                SELECT id FROM complaints
                WHERE first_response_at IS NULL AND first_response_warned_at IS NULL AND first_response_escalated_at IS NULL
                  AND first_response_due_at >= \(now) AND first_response_due_at < \(warnBefore)
                ORDER BY first_response_due_at LIMIT \(limit) FOR UPDATE SKIP LOCKED
                """
        case (.resolution, .escalation):
            return """
                SELECT id FROM complaints
                WHERE resolution_escalated_at IS NULL AND resolution_due_date IS NOT NULL
                  AND status IN ('filed', 'acknowledged', 'investigating', 'reopened')
                  AND resolution_due_date < \(today)::date
                ORDER BY resolution_due_date LIMIT \(limit) FOR UPDATE SKIP LOCKED
                """
        case (.resolution, .warning):
            return """
                SELECT id FROM complaints
                WHERE resolution_escalated_at IS NULL AND resolution_due_date IS NOT NULL
                  AND status IN ('filed', 'acknowledged', 'investigating', 'reopened')
                  AND resolution_warned_at IS NULL AND resolution_warn_date < \(today)::date
                  AND resolution_due_date >= \(today)::date
                ORDER BY resolution_due_date LIMIT \(limit) FOR UPDATE SKIP LOCKED
                """
        }
    }

    /// Who hears of a step: the supervisor for escalations and for major complaints (which the
    /// supervisor holds); otherwise the department's contact from the rules file, falling back to
    /// the supervisor so that no warning goes unheard.
    private func recipient(_ step: Step, of record: ComplaintRecord) -> (id: String, name: String, phone: String?, email: String?) {
        let supervisor = configuration.supervisor
        if step.level == .warning, record.severity == .general, let department = record.department,
            let contact = configuration.rules.departmentContacts?[department]
        {
            return (contact.id ?? "department:\(department)", contact.name, contact.phone, contact.email)
        }
        return (supervisor.id, supervisor.name, supervisor.phone, supervisor.email)
    }

    /// Marks the complaint, records the level, audits and notifies; false when another scan had
    /// already recorded it.
    private func take(_ step: Step, on record: inout ComplaintRecord, now: Date, connection c: PostgresConnection) async throws -> Bool {
        let before = record.auditSnapshot
        let due: String
        let limit: String
        switch step.timer {
        case .firstResponse:
            due = ComplaintsHandlers.format(record.firstResponseDueAt, in: configuration.calendar.timeZone)
            limit = "no first contact with the complainant within \(configuration.firstResponseHours) hour(s) of filing"
        case .resolution:
            due = record.resolutionDueDate ?? "?"
            limit = "not resolved within its resolution limit (\(record.severity == .major ? configuration.majorResolutionWorkingDays : configuration.resolutionWorkingDays) working day(s))"
        }
        switch (step.timer, step.level) {
        case (.firstResponse, .warning): record.firstResponseWarnedAt = now
        case (.firstResponse, .escalation): record.firstResponseEscalatedAt = now
        case (.resolution, .warning): record.resolutionWarnedAt = now
        case (.resolution, .escalation): record.resolutionEscalatedAt = now
        }
        try await store.update(record, connection: c)
        let to = recipient(step, of: record)
        let reason = step.level == .warning
            ? "\(step.timer == .firstResponse ? "first response" : "resolution") due \(due); \(configuration.warningPercent)% of the limit is used"
            : "\(limit) (due \(due))"
        guard try await store.recordEscalation(
            complaintID: record.id, kind: step.timer.rawValue, level: step.level.rawValue, reason: reason, to: to.id, connection: c
        ) else { return false }
        try await store.audit(
            complaintID: record.id, action: "\(step.timer.rawValue)_\(step.level == .warning ? "warned" : "escalated")",
            from: record.status, to: record.status,
            actor: ComplaintStore.Actor(id: "system", role: "deadline_monitor", trace: nil),
            before: before, after: record.auditSnapshot, connection: c
        )
        let id = record.id.lowercasedString
        switch step.level {
        case .warning:
            try await ComplaintsHandlers.notifyStaff(
                name: to.name, phone: to.phone, email: to.email, template: .staffDeadlineNear,
                key: "complaints/\(id)/deadline_near/\(step.timer.rawValue)", record: record,
                variables: ["dueDate": due], connection: c
            )
        case .escalation:
            let late = step.timer == .firstResponse ? "not acknowledged in time" : "not resolved in time"
            try await ComplaintsHandlers.notifyStaff(
                name: to.name, phone: to.phone, email: to.email, template: .staffEscalation,
                key: "complaints/\(id)/escalation/\(step.timer.rawValue)", record: record,
                variables: ["subject": "Complaint \(record.number) (\(record.category)) \(late)", "reason": reason], connection: c
            )
        }
        return true
    }
}
