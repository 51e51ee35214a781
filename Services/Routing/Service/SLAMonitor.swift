import Contracts
import Logging
import Metrics
import Postgres
import ServiceKit
import ServiceLifecycle
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// What one SLA scan did.
public struct SLAScanReport: Sendable, Equatable {
    /// Handlers warned that a due date is near.
    public var warned = 0
    /// Cases found overdue and escalated to their department head.
    public var escalated = 0
    /// Cases overdue by more than the margin and escalated to the supervisor.
    public var escalatedToSupervisor = 0
    /// Handlers warned that a case has used the at-risk share (80%) of its time.
    public var atRisk = 0

    public init(warned: Int = 0, escalated: Int = 0, escalatedToSupervisor: Int = 0, atRisk: Int = 0) {
        self.warned = warned
        self.escalated = escalated
        self.escalatedToSupervisor = escalatedToSupervisor
        self.atRisk = atRisk
    }
}

/// Open cases of one department as the gauges report them.
public struct SLADepartmentLoad: Sendable, Equatable {
    /// Not completed (running or paused).
    public var open: Int
    /// Running, not yet overdue, with at least the at-risk share of their time used.
    public var atRisk: Int
    /// Past their due date (a paused case counts when its pause began after the due date).
    public var overdue: Int

    public init(open: Int, atRisk: Int, overdue: Int) {
        self.open = open
        self.atRisk = atRisk
        self.overdue = overdue
    }
}

/// Periodically warns handlers whose cases near their due date, escalates overdue cases to the
/// department head and, once overdue by more than the configured margin, to the supervisor:
/// each level once per case and due date (a new due date arms them again), recorded and
/// announced through the outbox in the transaction that marks the case.
///
/// Each scan also warns the handler of a case that has used the at-risk share (80%) of its time
/// and refreshes the per-department gauges `routing_cases_open`, `routing_cases_at_risk` and
/// `routing_cases_overdue` (dimension `department`). Every replica sets the same figures, so
/// dashboards take max, not sum, over instances.
///
/// Several replicas may run it: cases are claimed with `FOR UPDATE SKIP LOCKED` and the notice
/// and escalation rows are unique, so nothing is sent twice. Each scan reads only the partial
/// indexes of cases not yet warned / escalated for their current due date, and the gauges an
/// index of open cases.
public struct SLAMonitor: Service {
    let database: PostgresPool
    let settings: RoutingSettings
    let logger: Logger
    private let metrics: any MetricsFactory
    private let escalations: Counter
    private let warnings: Counter
    /// Departments given a gauge value so far: one that no longer has open cases is set to 0
    /// rather than left showing its last count.
    private let reported = Reported()

    private final class Reported: Sendable {
        let departments = Mutex<Set<String>>([])
    }

    /// `metrics`: where the counters and gauges go; the process-wide (Prometheus) factory unless
    /// a test reads them itself.
    public init(database: PostgresPool, settings: RoutingSettings, logger: Logger, metrics: any MetricsFactory = MetricsSystem.factory) {
        self.database = database
        self.settings = settings
        self.logger = logger
        self.metrics = metrics
        self.escalations = Counter(label: "routing_sla_escalations_total", factory: metrics)
        self.warnings = Counter(label: "routing_sla_warnings_total", factory: metrics)
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                let report = try await scan(now: settings.now())
                if report.warned + report.escalated + report.escalatedToSupervisor + report.atRisk > 0 {
                    logger.info("sla scan", metadata: [
                        "sla.warned": "\(report.warned)", "sla.at_risk": "\(report.atRisk)",
                        "sla.escalated": "\(report.escalated)", "sla.escalated_supervisor": "\(report.escalatedToSupervisor)",
                    ])
                }
            } catch {
                logger.warning("sla scan failed; trying again next interval", metadata: ["error": "\(error)"])
            }
            do {
                try await cancelWhenGracefulShutdown { [interval = settings.slaInterval] in try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }

    /// One scan as of `now`: every case past its due date escalated, every case due within the
    /// warning window or past the at-risk share of its time warned, then the gauges refreshed.
    public func scan(now: Date) async throws -> SLAScanReport {
        let calendar = settings.calendar
        let today = calendar.today(at: now)
        let cutoff = calendar.adding(workingDays: settings.warnWorkingDaysBefore, to: today)
        var report = SLAScanReport()
        while true {
            let done = try await database.withTransaction { c in try await escalateBatch(today: today, now: now, on: c) }
            report.escalated += done
            if done < settings.slaBatchSize { break }
        }
        if let margin = settings.supervisorMarginWorkingDays {
            let latestDue = Self.latestDueDate(overdueByMoreThan: margin, today: today, on: calendar)
            while true {
                let done = try await database.withTransaction { c in
                    try await supervisorBatch(latestDue: latestDue, today: today, now: now, on: c)
                }
                report.escalatedToSupervisor += done
                if done < settings.slaBatchSize { break }
            }
        }
        // The handler gets one warning per due date: at the at-risk share of the time or within
        // the warning window before the due date, whichever comes first (each marks the other
        // done). At-risk goes first so that when both fall on one scan, the issue's rule is the
        // one recorded.
        while true {
            let done = try await database.withTransaction { c in try await atRiskBatch(today: today, now: now, on: c) }
            report.atRisk += done.warned
            if done.claimed < settings.slaBatchSize { break }
        }
        while true {
            let done = try await database.withTransaction { c in try await warnBatch(today: today, cutoff: cutoff, now: now, on: c) }
            report.warned += done
            if done < settings.slaBatchSize { break }
        }
        escalations.increment(by: report.escalated + report.escalatedToSupervisor)
        warnings.increment(by: report.warned + report.atRisk)
        _ = try await refreshGauges(today: today)
        return report
    }

    // MARK: At risk

    /// The SQL of the at-risk scan, for EXPLAIN in the benchmark.
    public static func atRiskQuery(today: LocalDate, limit: Int) -> SQL {
        """
        SELECT case_id FROM routing_assignments
        WHERE state IN ('assigned', 'in_progress') AND at_risk_warned_for IS DISTINCT FROM due_date
          AND at_risk_on <= \(today.description)::date AND due_date >= \(today.description)::date
        ORDER BY at_risk_on LIMIT \(limit) FOR UPDATE SKIP LOCKED
        """
    }

    /// Warns the handler (the head when there is none) of each running case whose at-risk day
    /// has come, once per case and due date: the marker column takes the case out of the index,
    /// the unique notice row stops a second message should two replicas ever both get here.
    private func atRiskBatch(today: LocalDate, now: Date, on c: PostgresConnection) async throws -> (claimed: Int, warned: Int) {
        let ids = try await c.query(Self.atRiskQuery(today: today, limit: settings.slaBatchSize))
            .map { try $0.decode(String.self, column: "case_id") }
        var warned = 0
        for caseId in ids {
            guard let a = try await RoutingStore.assignment(caseId: caseId, forUpdate: false, on: c),
                  let recipient = try await warnOnce(a, kind: "at_risk", now: now, on: c) else { continue }
            warned += 1
            let used = settings.calendar.workingDays(from: a.acceptedOn, through: today) - a.pausedDays
            let allowed = a.timeLimitDays + a.extendedDays
            try await RoutingStore.audit(
                actor: "system", role: "sla_monitor", action: "assignment.at_risk_warning", subject: "case/\(a.caseId)",
                before: nil as String?,
                after: [
                    "dueDate": a.dueDate.description, "warned": recipient?.id ?? "",
                    "workingDaysUsed": "\(used)", "workingDaysAllowed": "\(allowed)",
                ],
                trace: nil, on: c
            )
        }
        return (ids.count, warned)
    }

    // MARK: Gauges

    /// The gauges' three counts per department as of `today`, each its own query so each reads
    /// one index: every open case once (index-only, the table's width not read), and only the
    /// ranges of at-risk and overdue ones.
    public static func departmentLoadQueries(today: LocalDate) -> (open: SQL, atRisk: SQL, overdue: SQL) {
        (
            open: "SELECT department, count(*)::int8 AS n FROM routing_assignments WHERE state <> 'completed' GROUP BY department",
            atRisk: """
                SELECT department, count(*)::int8 AS n FROM routing_assignments
                WHERE state IN ('assigned', 'in_progress') AND at_risk_on <= \(today.postgres) AND due_date >= \(today.postgres)
                GROUP BY department
                """,
            overdue: """
                SELECT department, count(*)::int8 AS n FROM routing_assignments
                WHERE state <> 'completed' AND due_date < \(today.postgres) AND \(RoutingStore.overdueCondition(today: today))
                GROUP BY department
                """
        )
    }

    /// Counts the open cases per department and sets the gauges; departments set before and
    /// now without open cases, and set-up departments with none, are set to 0.
    @discardableResult
    public func refreshGauges(today: LocalDate) async throws -> [String: SLADepartmentLoad] {
        let queries = Self.departmentLoadQueries(today: today)
        func counts(_ query: SQL, on c: PostgresConnection) async throws -> [String: Int] {
            var counts: [String: Int] = [:]
            for row in try await c.query(query) {
                counts[try row.decode(String.self, column: "department")] = Int(try row.decode(Int64.self, column: "n"))
            }
            return counts
        }
        // One snapshot for the three counts, so a case changing between them is counted once.
        let (open, atRisk, overdue, known) = try await database.withTransaction(isolation: .repeatableRead) { c in
            (

                try await counts(queries.open, on: c), try await counts(queries.atRisk, on: c),
                try await counts(queries.overdue, on: c),
                try await c.query("SELECT code FROM routing_departments").map { try $0.decode(String.self, column: "code") }
            )
        }
        var loads: [String: SLADepartmentLoad] = [:]
        for (department, n) in open {
            loads[department] = SLADepartmentLoad(open: n, atRisk: atRisk[department] ?? 0, overdue: overdue[department] ?? 0)
        }
        let zeros = reported.departments.withLock { seen in
            let all = seen.union(known)
            seen = all.union(loads.keys)
            return all.subtracting(loads.keys)
        }
        for department in zeros { loads[department] = SLADepartmentLoad(open: 0, atRisk: 0, overdue: 0) }
        for (department, load) in loads {
            let dimensions = [("department", department)]
            Gauge(label: "routing_cases_open", dimensions: dimensions, factory: metrics).record(load.open)
            Gauge(label: "routing_cases_at_risk", dimensions: dimensions, factory: metrics).record(load.atRisk)
            Gauge(label: "routing_cases_overdue", dimensions: dimensions, factory: metrics).record(load.overdue)
        }
        return loads
    }

    /// The SQL of the overdue scan, for EXPLAIN in the benchmark.
    public static func overdueQuery(today: LocalDate, limit: Int) -> SQL {
        """
        SELECT case_id FROM routing_assignments
        WHERE state IN ('assigned', 'in_progress') AND escalated_for IS DISTINCT FROM due_date
          AND due_date < \(today.description)::date
        ORDER BY due_date LIMIT \(limit) FOR UPDATE SKIP LOCKED
        """
    }

    /// The one warning a case gets per due date, from whichever rule reaches it first (the 80 %
    /// share or the days-before window): marks both rules done, records the notice once (the
    /// unique row stops a second message should two replicas both get here) and tells the
    /// handler (the head when there is none). Nil when the notice was already recorded;
    /// `.some(nil)` when recorded but nobody could be told.
    private func warnOnce(_ a: AssignmentRecord, kind: String, now: Date, on c: PostgresConnection) async throws -> RoutingStaffContact?? {
        try await c.execute("""
            UPDATE routing_assignments SET at_risk_warned_for = due_date, near_notified_for = due_date WHERE id = \(a.id)
            """)
        let recipient = try await staffToWarn(a, on: c)
        let fresh = try await c.query("""
            INSERT INTO routing_sla_notices (assignment_id, kind, due_date, sent_to, at)
            VALUES (\(a.id), \(kind), \(a.dueDate.description)::date, \(recipient?.id), \(now))
            ON CONFLICT DO NOTHING RETURNING 1 AS fresh
            """)
        guard !fresh.isEmpty else { return nil }
        if let recipient {
            try await RoutingMessages.notifyStaff(
                .staffDeadlineNear, to: recipient, key: "routing/\(a.caseId)/\(kind)/\(a.dueDate)",
                variables: ["staffName": recipient.name, "reference": a.trackingNumber, "dueDate": a.dueDate.description],
                caseId: a.caseId, locale: settings.staffLocale, on: c
            )
        }
        return .some(recipient)
    }

    private func warnBatch(today: LocalDate, cutoff: LocalDate, now: Date, on c: PostgresConnection) async throws -> Int {
        let ids = try await c.query("""
            SELECT case_id FROM routing_assignments
            WHERE state IN ('assigned', 'in_progress') AND near_notified_for IS DISTINCT FROM due_date
              AND due_date >= \(today.description)::date AND due_date <= \(cutoff.description)::date
            ORDER BY due_date LIMIT \(settings.slaBatchSize) FOR UPDATE SKIP LOCKED
            """).map { try $0.decode(String.self, column: "case_id") }
        for caseId in ids {
            guard let a = try await RoutingStore.assignment(caseId: caseId, forUpdate: false, on: c) else { continue }
            _ = try await warnOnce(a, kind: "deadline_near", now: now, on: c)
        }
        return ids.count
    }

    private func escalateBatch(today: LocalDate, now: Date, on c: PostgresConnection) async throws -> Int {
        let ids = try await c.query(Self.overdueQuery(today: today, limit: settings.slaBatchSize))
            .map { try $0.decode(String.self, column: "case_id") }
        for caseId in ids {
            guard let a = try await RoutingStore.assignment(caseId: caseId, forUpdate: false, on: c) else { continue }
            try await c.execute("""
                UPDATE routing_assignments SET escalated_for = due_date, near_notified_for = due_date,
                    at_risk_warned_for = due_date
                WHERE id = \(a.id)
                """)
            let department = try await RoutingStore.department(a.department, on: c)
            let handler = try await a.handlerId.asyncMap { try await RoutingStore.handler($0, on: c) } ?? nil
            let system = StaffRef(id: "system", role: "sla_monitor")

            let passed = try await c.query("""
                INSERT INTO routing_sla_notices (assignment_id, kind, due_date, sent_to, at)
                VALUES (\(a.id), 'deadline_passed', \(a.dueDate.description)::date, \(handler?.id), \(now))
                ON CONFLICT DO NOTHING RETURNING 1 AS fresh
                """)
            if !passed.isEmpty {
                if let handler {
                    try await RoutingMessages.notifyStaff(
                        .staffDeadlinePassed, to: handler.contact, key: "routing/\(a.caseId)/deadline_passed/\(a.dueDate)",
                        variables: ["staffName": handler.name, "reference": a.trackingNumber, "dueDate": a.dueDate.description],
                        caseId: a.caseId, locale: settings.staffLocale, urgent: true, on: c
                    )
                }
                try await RoutingMessages.progress(
                    .overdue, of: a, actor: system, departmentName: department?.nameZh, handlerName: handler?.name,
                    note: "due \(a.dueDate)", at: now, on: c
                )
            }

            let head = department?.head
            let escalated = try await c.query("""
                INSERT INTO routing_escalations (id, assignment_id, level, due_date, department, escalated_to, at)
                VALUES (\(UUID.v7(at: now)), \(a.id), 'department_head', \(a.dueDate.description)::date, \(a.department), \(head?.id), \(now))
                ON CONFLICT DO NOTHING RETURNING 1 AS fresh
                """)
            guard !escalated.isEmpty else { continue }
            let overdueDays = settings.calendar.workingDays(from: a.dueDate, through: today)
            let reason = "overdue since \(a.dueDate) (\(overdueDays) working day(s)); handler \(handler?.name ?? "none assigned")"
            if let head {
                try await RoutingMessages.notifyStaff(
                    .staffEscalation, to: head, key: "routing/\(a.caseId)/escalation/department_head/\(a.dueDate)",
                    variables: ["staffName": head.name, "subject": RoutingMessages.subject(of: a), "reference": a.trackingNumber, "reason": reason],
                    caseId: a.caseId, locale: settings.staffLocale, urgent: true, on: c
                )
            }
            try await RoutingMessages.progress(
                .escalated, of: a, actor: system, departmentName: department?.nameZh, handlerName: handler?.name,
                reasons: [reason], note: head.map { "escalated to \($0.id)" } ?? "department has no head on file", at: now, on: c
            )
            try await RoutingStore.audit(
                actor: "system", role: "sla_monitor", action: "assignment.escalate", subject: "case/\(a.caseId)",
                before: nil as String?, after: ["level": "department_head", "dueDate": a.dueDate.description, "escalatedTo": head?.id ?? ""],
                trace: nil, on: c
            )
        }
        return ids.count
    }

    /// The latest due date that is more than `margin` working days before `today`: a case due on
    /// it or earlier is overdue by more than the margin.
    static func latestDueDate(overdueByMoreThan margin: Int, today: LocalDate, on calendar: WorkCalendar) -> LocalDate {
        var day = today.adding(days: -1)
        // Bounded: every week has working days, and the margin is at most a year of them.
        while calendar.workingDays(from: day, through: today) <= margin, day > today.adding(days: -3_660) {
            day = day.adding(days: -1)
        }
        return day
    }

    private func supervisorBatch(latestDue: LocalDate, today: LocalDate, now: Date, on c: PostgresConnection) async throws -> Int {
        let ids = try await c.query("""
            SELECT case_id FROM routing_assignments
            WHERE state IN ('assigned', 'in_progress') AND supervisor_escalated_for IS DISTINCT FROM due_date
              AND due_date <= \(latestDue.description)::date
            ORDER BY due_date LIMIT \(settings.slaBatchSize) FOR UPDATE SKIP LOCKED
            """).map { try $0.decode(String.self, column: "case_id") }
        let supervisor = settings.supervisor
        for caseId in ids {
            guard let a = try await RoutingStore.assignment(caseId: caseId, forUpdate: false, on: c) else { continue }
            try await c.execute("UPDATE routing_assignments SET supervisor_escalated_for = due_date WHERE id = \(a.id)")
            let escalated = try await c.query("""
                INSERT INTO routing_escalations (id, assignment_id, level, due_date, department, escalated_to, at)
                VALUES (\(UUID.v7(at: now)), \(a.id), 'supervisor', \(a.dueDate.description)::date, \(a.department), \(supervisor.id), \(now))
                ON CONFLICT DO NOTHING RETURNING 1 AS fresh
                """)
            guard !escalated.isEmpty else { continue }
            let department = try await RoutingStore.department(a.department, on: c)
            let handler = try await a.handlerId.asyncMap { try await RoutingStore.handler($0, on: c) } ?? nil
            let overdueDays = settings.calendar.workingDays(from: a.dueDate, through: today)
            let reason = "overdue since \(a.dueDate) by \(overdueDays) working day(s), more than the \(settings.supervisorMarginWorkingDays ?? 0) allowed before the supervisor is called; department \(a.department), handler \(handler?.name ?? "none assigned")"
            try await RoutingMessages.notifyStaff(
                .staffEscalation, to: supervisor, key: "routing/\(a.caseId)/escalation/supervisor/\(a.dueDate)",
                variables: ["staffName": supervisor.name, "subject": RoutingMessages.subject(of: a), "reference": a.trackingNumber, "reason": reason],
                caseId: a.caseId, locale: settings.staffLocale, urgent: true, on: c
            )
            try await RoutingMessages.progress(
                .escalated, of: a, actor: StaffRef(id: "system", role: "sla_monitor"), departmentName: department?.nameZh,
                handlerName: handler?.name, reasons: [reason], note: "escalated to the supervisor \(supervisor.id)", at: now, on: c
            )
            try await RoutingStore.audit(
                actor: "system", role: "sla_monitor", action: "assignment.escalate", subject: "case/\(a.caseId)",
                before: nil as String?, after: ["level": "supervisor", "dueDate": a.dueDate.description, "escalatedTo": supervisor.id],
                trace: nil, on: c
            )
        }
        return ids.count
    }

    /// The handler, or the head when no handler is assigned.
    private func staffToWarn(_ a: AssignmentRecord, on c: PostgresConnection) async throws -> RoutingStaffContact? {
        if let id = a.handlerId, let handler = try await RoutingStore.handler(id, on: c) { return handler.contact }
        return try await RoutingStore.department(a.department, on: c)?.head
    }
}
