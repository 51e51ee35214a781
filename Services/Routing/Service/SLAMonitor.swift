import Contracts
import Logging
import Metrics
import Postgres
import ServiceKit
import ServiceLifecycle

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

    public init(warned: Int = 0, escalated: Int = 0, escalatedToSupervisor: Int = 0) {
        self.warned = warned
        self.escalated = escalated
        self.escalatedToSupervisor = escalatedToSupervisor
    }
}

/// Periodically warns handlers whose cases near their due date, escalates overdue cases to the
/// department head and, once overdue by more than the configured margin, to the supervisor:
/// each level once per case and due date (a new due date arms them again), recorded and
/// announced through the outbox in the transaction that marks the case.
///
/// Several replicas may run it: cases are claimed with `FOR UPDATE SKIP LOCKED` and the notice
/// and escalation rows are unique, so nothing is sent twice. Each scan reads only the two
/// partial indexes of cases not yet warned / escalated for their current due date.
public struct SLAMonitor: Service {
    let database: PostgresPool
    let settings: RoutingSettings
    let logger: Logger
    private let escalations = Counter(label: "routing_sla_escalations_total")
    private let warnings = Counter(label: "routing_sla_warnings_total")

    public init(database: PostgresPool, settings: RoutingSettings, logger: Logger) {
        self.database = database
        self.settings = settings
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                let report = try await scan(now: settings.now())
                if report.warned + report.escalated > 0 {
                    logger.info("sla scan", metadata: ["sla.warned": "\(report.warned)", "sla.escalated": "\(report.escalated)"])
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

    /// One scan as of `now`: every case due within the warning window is warned, every case
    /// past its due date escalated.
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
        while true {
            let done = try await database.withTransaction { c in try await warnBatch(today: today, cutoff: cutoff, on: c) }
            report.warned += done
            if done < settings.slaBatchSize { break }
        }
        escalations.increment(by: report.escalated + report.escalatedToSupervisor)
        warnings.increment(by: report.warned)
        return report
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

    private func warnBatch(today: LocalDate, cutoff: LocalDate, on c: PostgresConnection) async throws -> Int {
        let ids = try await c.query("""
            SELECT case_id FROM routing_assignments
            WHERE state IN ('assigned', 'in_progress') AND near_notified_for IS DISTINCT FROM due_date
              AND due_date >= \(today.description)::date AND due_date <= \(cutoff.description)::date
            ORDER BY due_date LIMIT \(settings.slaBatchSize) FOR UPDATE SKIP LOCKED
            """).map { try $0.decode(String.self, column: "case_id") }
        for caseId in ids {
            guard let a = try await RoutingStore.assignment(caseId: caseId, forUpdate: false, on: c) else { continue }
            try await c.execute("UPDATE routing_assignments SET near_notified_for = due_date WHERE id = \(a.id)")
            let recipient = try await staffToWarn(a, on: c)
            let fresh = try await c.query("""
                INSERT INTO routing_sla_notices (assignment_id, kind, due_date, sent_to)
                VALUES (\(a.id), 'deadline_near', \(a.dueDate.description)::date, \(recipient?.id))
                ON CONFLICT DO NOTHING RETURNING 1 AS fresh
                """)
            guard !fresh.isEmpty, let recipient else { continue }
            try await RoutingMessages.notifyStaff(
                .staffDeadlineNear, to: recipient, key: "routing/\(a.caseId)/deadline_near/\(a.dueDate)",
                variables: ["staffName": recipient.name, "reference": a.trackingNumber, "dueDate": a.dueDate.description],
                caseId: a.caseId, locale: settings.staffLocale, on: c
            )
        }
        return ids.count
    }

    private func escalateBatch(today: LocalDate, now: Date, on c: PostgresConnection) async throws -> Int {
        let ids = try await c.query(Self.overdueQuery(today: today, limit: settings.slaBatchSize))
            .map { try $0.decode(String.self, column: "case_id") }
        for caseId in ids {
            guard let a = try await RoutingStore.assignment(caseId: caseId, forUpdate: false, on: c) else { continue }
            try await c.execute("""
                UPDATE routing_assignments SET escalated_for = due_date, near_notified_for = due_date WHERE id = \(a.id)
                """)
            let department = try await RoutingStore.department(a.department, on: c)
            let handler = try await a.handlerId.asyncMap { try await RoutingStore.handler($0, on: c) } ?? nil
            let system = StaffRef(id: "system", role: "sla_monitor")

            let passed = try await c.query("""
                INSERT INTO routing_sla_notices (assignment_id, kind, due_date, sent_to)
                VALUES (\(a.id), 'deadline_passed', \(a.dueDate.description)::date, \(handler?.id))
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
                INSERT INTO routing_escalations (id, assignment_id, level, due_date, department, escalated_to)
                VALUES (\(UUID.v7(at: now)), \(a.id), 'department_head', \(a.dueDate.description)::date, \(a.department), \(head?.id))
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
                INSERT INTO routing_escalations (id, assignment_id, level, due_date, department, escalated_to)
                VALUES (\(UUID.v7(at: now)), \(a.id), 'supervisor', \(a.dueDate.description)::date, \(a.department), \(supervisor.id))
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
