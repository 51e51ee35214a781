import Contracts
import LineProtocol
import Postgres
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// An assignment row as routing works with it.
struct AssignmentRecord: Sendable {
    var id: UUID
    var caseId: String
    var trackingNumber: String
    var serviceType: String
    var serviceName: String
    var priority: CasePriority
    var confidentiality: String
    var customerName: String?
    var department: String
    var handlerId: String?
    var state: RoutingAssignmentState
    var acceptedOn: LocalDate
    var timeLimitDays: Int
    var pausedDays: Int
    var extendedDays: Int
    var maxExtensionDays: Int
    var dueDate: LocalDate
    var pausedSince: LocalDate?
    var result: String?
    var pickup: Pickup?
    var completedAt: Date?

    /// The due date from the case's own figures: acceptance day + limit + paused + extended.
    func recomputedDueDate(on calendar: WorkCalendar) -> LocalDate {
        calendar.adding(workingDays: timeLimitDays + pausedDays + extendedDays, to: acceptedOn)
    }

    func view(handlerName: String? = nil) -> RoutingAssignment {
        RoutingAssignment(
            assignmentId: id.uuidString.lowercased(), caseId: caseId, trackingNumber: trackingNumber,
            serviceType: serviceType, serviceName: serviceName, priority: priority, department: department,
            handler: handlerId.map { StaffRef(id: $0, name: handlerName, role: "handler") }, state: state,
            acceptedOn: acceptedOn.description, timeLimitWorkingDays: timeLimitDays, pausedWorkingDays: pausedDays,
            extendedWorkingDays: extendedDays, dueDate: dueDate.description, result: result, pickup: pickup,
            completedAt: completedAt
        )
    }
}

struct HandlerRecord: Sendable {
    var id: String
    var name: String
    var department: String
    var email: String?
    var phone: String?
    var active: Bool
    var skills: [String]
}

struct DepartmentRecord: Sendable {
    var code: String
    var nameZh: String
    var nameEn: String
    var head: RoutingStaffContact?
}

extension LocalDate {
    /// As a typed `date` parameter: a text one cast in SQL is converted again for every row a
    /// filter reads (the cast is only stable), which the gauges over a million rows notice.
    var postgres: PostgresDate {
        let (year, month, day) = components
        return PostgresDate(year: year, month: month, day: day)
    }
}

/// Routing's SQL. Every function runs on the caller's connection (usually inside its transaction).
enum RoutingStore {
    // MARK: Organisation

    static func upsertDepartment(_ d: RoutingDepartment, on c: PostgresConnection) async throws {
        try await c.execute("""
            INSERT INTO routing_departments (code, name_zh, name_en, head_id, head_name, head_email, head_phone)
            VALUES (\(d.code), \(d.nameZh), \(d.nameEn), \(d.head?.id), \(d.head?.name), \(d.head?.email), \(d.head?.phone))
            ON CONFLICT (code) DO UPDATE SET name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en,
                head_id = EXCLUDED.head_id, head_name = EXCLUDED.head_name, head_email = EXCLUDED.head_email,
                head_phone = EXCLUDED.head_phone, updated_at = now()
            """)
    }

    static func department(_ code: String, on c: PostgresConnection) async throws -> DepartmentRecord? {
        let rows = try await c.query("""
            SELECT code, name_zh, name_en, head_id, head_name, head_email, head_phone
            FROM routing_departments WHERE code = \(code)
            """)
        return try rows.first.map(decodeDepartment)
    }

    static func departments(on c: PostgresConnection) async throws -> [DepartmentRecord] {
        try await c.query("""
            SELECT code, name_zh, name_en, head_id, head_name, head_email, head_phone
            FROM routing_departments ORDER BY code
            """).map(decodeDepartment)
    }

    private static func decodeDepartment(_ row: PostgresRow) throws -> DepartmentRecord {
        let headId = try row.decode(String?.self, column: "head_id")
        return DepartmentRecord(
            code: try row.decode(String.self, column: "code"),
            nameZh: try row.decode(String.self, column: "name_zh"),
            nameEn: try row.decode(String.self, column: "name_en"),
            head: try headId.map {
                RoutingStaffContact(
                    id: $0, name: try row.decode(String?.self, column: "head_name") ?? $0,
                    email: try row.decode(String?.self, column: "head_email"),
                    phone: try row.decode(String?.self, column: "head_phone")
                )
            }
        )
    }

    static func upsertHandler(_ h: RoutingHandler, on c: PostgresConnection) async throws {
        try await c.execute("""
            INSERT INTO routing_handlers (id, name, department, skills, capacity, email, phone, active)
            VALUES (\(h.id), \(h.name), \(h.department), \(h.skills), \(h.capacity), \(h.email), \(h.phone), \(h.active))
            ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, department = EXCLUDED.department,
                skills = EXCLUDED.skills, capacity = EXCLUDED.capacity, email = EXCLUDED.email,
                phone = EXCLUDED.phone, active = EXCLUDED.active, updated_at = now()
            """)
    }

    static func handlers(on c: PostgresConnection) async throws -> [RoutingHandler] {
        try await c.query("""
            SELECT id, name, department, skills, capacity, email, phone, active, open_cases
            FROM routing_handlers ORDER BY department, id
            """).map { row in
            RoutingHandler(
                id: try row.decode(String.self, column: "id"), name: try row.decode(String.self, column: "name"),
                department: try row.decode(String.self, column: "department"),
                skills: try row.decode([String].self, column: "skills"),
                capacity: try row.decode(Int.self, column: "capacity"),
                email: try row.decode(String?.self, column: "email"), phone: try row.decode(String?.self, column: "phone"),
                active: try row.decode(Bool.self, column: "active"), openCases: try row.decode(Int.self, column: "open_cases")
            )
        }
    }

    static func handler(_ id: String, on c: PostgresConnection) async throws -> HandlerRecord? {
        try await c.query("""
            SELECT id, name, department, email, phone, active, skills FROM routing_handlers WHERE id = \(id)
            """).first.map(decodeHandler)
    }

    private static func decodeHandler(_ row: PostgresRow) throws -> HandlerRecord {
        HandlerRecord(
            id: try row.decode(String.self, column: "id"), name: try row.decode(String.self, column: "name"),
            department: try row.decode(String.self, column: "department"),
            email: try row.decode(String?.self, column: "email"), phone: try row.decode(String?.self, column: "phone"),
            active: try row.decode(Bool.self, column: "active"), skills: try row.decode([String].self, column: "skills")
        )
    }

    static func setRule(serviceType: String, priority: String, department: String?, on c: PostgresConnection) async throws {
        if let department {
            try await c.execute("""
                INSERT INTO routing_rules (service_type, priority, department) VALUES (\(serviceType), \(priority), \(department))
                ON CONFLICT (service_type, priority) DO UPDATE SET department = EXCLUDED.department, updated_at = now()
                """)
        } else {
            try await c.execute("DELETE FROM routing_rules WHERE service_type = \(serviceType) AND priority = \(priority)")
        }
    }

    static func rules(serviceType: String? = nil, on c: PostgresConnection) async throws -> [RoutingRule] {
        try await c.query("""
            SELECT service_type, priority, department FROM routing_rules
            WHERE \(serviceType)::text IS NULL OR service_type = \(serviceType)
            ORDER BY service_type, priority
            """).map { row in
            let priority = try row.decode(String.self, column: "priority")
            return RoutingRule(
                serviceType: try row.decode(String.self, column: "service_type"),
                priority: CasePriority(rawValue: priority),
                department: try row.decode(String.self, column: "department")
            )
        }
    }

    /// Locks and returns the qualified active handler of `department` with the fewest open cases
    /// relative to capacity; among equals the one who waited longest since their last case.
    ///
    /// A handler another transaction is handing a case to right now is skipped (the next best is
    /// taken) so concurrent dispatches do not queue on one row; only when every qualified
    /// handler is busy does it wait.
    static func pickHandler(
        department: String, serviceType: String, excluding: String? = nil, on c: PostgresConnection
    ) async throws -> HandlerRecord? {
        for lock in ["FOR UPDATE SKIP LOCKED", "FOR UPDATE"] {
            let rows = try await c.query("""
                SELECT id, name, department, email, phone, active, skills FROM routing_handlers
                WHERE department = \(department) AND active AND skills @> \([serviceType])
                  AND id IS DISTINCT FROM \(excluding)
                ORDER BY open_cases::float8 / capacity, last_turn, id
                LIMIT 1 \(unsafeRaw: lock)
                """)
            if let row = rows.first { return try decodeHandler(row) }
        }
        return nil
    }

    /// One more open case for `handler` (and its turn in the round robin is used).
    static func handlerTookCase(_ handler: String, on c: PostgresConnection) async throws {
        try await c.execute("""
            UPDATE routing_handlers SET open_cases = open_cases + 1, last_turn = nextval('routing_handler_turns')
            WHERE id = \(handler)
            """)
    }

    static func handlerReleasedCase(_ handler: String?, on c: PostgresConnection) async throws {
        guard let handler else { return }
        try await c.execute("UPDATE routing_handlers SET open_cases = greatest(open_cases - 1, 0) WHERE id = \(handler)")
    }

    // MARK: Assignments

    private static let assignmentColumns = """
        id, case_id, tracking_number, service_type, service_name, priority, confidentiality, customer_name,
        department, handler_id, state, accepted_on::text AS accepted_on, time_limit_days, paused_days, extended_days,
        max_extension_days, due_date::text AS due_date, paused_since::text AS paused_since, result, pickup, completed_at
        """

    static func assignment(caseId: String, forUpdate: Bool, on c: PostgresConnection) async throws -> AssignmentRecord? {
        let lock = forUpdate ? " FOR UPDATE" : ""
        return try await c.query("""
            SELECT \(unsafeRaw: assignmentColumns) FROM routing_assignments WHERE case_id = \(caseId)\(unsafeRaw: lock)
            """).first.map(decodeAssignment)
    }

    /// The newest assignment of a tracking number (a number names one case; newest first in case
    /// a case was ever dispatched under a new id).
    static func assignment(trackingNumber: String, on c: PostgresConnection) async throws -> AssignmentRecord? {
        try await c.query("""
            SELECT \(unsafeRaw: assignmentColumns) FROM routing_assignments WHERE tracking_number = \(trackingNumber)
            ORDER BY created_at DESC LIMIT 1
            """).first.map(decodeAssignment)
    }

    /// When the case was last reopened (its clock restarted), from its slips.
    static func lastReopen(assignment: UUID, on c: PostgresConnection) async throws -> Date? {
        try await c.query("""
            SELECT at FROM routing_slips WHERE assignment_id = \(assignment) AND kind = 'reopen' ORDER BY seq DESC LIMIT 1
            """).first?.decode(Date.self, column: "at")
    }

    /// A department's open cases after `cursor`, most urgent first, then by due date and id. The
    /// order is an index's (migration 0006), so a page costs the same at any depth.
    static func queue(
        department: String, states: [RoutingAssignmentState], handler: String?, after cursor: ListCursor?, limit: Int, on c: PostgresConnection
    ) async throws -> [AssignmentRecord] {
        try await c.query(queueQuery(department: department, states: states, handler: handler, after: cursor, limit: limit)).map(decodeAssignment)
    }

    static func queueQuery(department: String, states: [RoutingAssignmentState], handler: String?, after cursor: ListCursor?, limit: Int) -> SQL {
        """
        SELECT \(unsafeRaw: assignmentColumns) FROM routing_assignments
        WHERE department = \(department) AND state <> 'completed' AND state = ANY(\(states.map(\.rawValue)))
          AND (\(handler)::text IS NULL OR handler_id = \(handler))
          AND (\(unsafeRaw: urgencyOrder), routing_assignments.due_date, id)
              > (\(cursor?.urgency ?? -1), \(cursor?.due.postgres ?? ListCursor.lowestDate), \(cursor?.id ?? ListCursor.lowestID))
        ORDER BY \(unsafeRaw: urgencyOrder), routing_assignments.due_date, id
        LIMIT \(limit)
        """
    }

    /// Urgent first, then special, then regular; written exactly as the queue index is.
    static let urgencyOrder = "(CASE priority WHEN 'urgent' THEN 0 WHEN 'special' THEN 1 ELSE 2 END)"

    static func urgency(of priority: CasePriority) -> Int {
        switch priority {
        case .urgent: 0
        case .special: 1
        default: 2
        }
    }

    /// Past the due date: running after it, or paused since after it (the same rule as
    /// `isOverdue`). Every such case also has `due_date < today`, which lets callers add that
    /// range for an index.
    static func overdueCondition(today: LocalDate) -> SQL {
        """
        ((state IN ('assigned', 'in_progress') AND due_date < \(today.postgres))
            OR (state = 'info_requested' AND paused_since > due_date))
        """
    }

    /// A handler's open cases after `cursor`, by (due date, id).
    static func handlerCases(
        handler: String, states: [RoutingAssignmentState], after cursor: ListCursor?, limit: Int, on c: PostgresConnection
    ) async throws -> [AssignmentRecord] {
        try await c.query(handlerCasesQuery(handler: handler, states: states, after: cursor, limit: limit)).map(decodeAssignment)
    }

    static func handlerCasesQuery(handler: String, states: [RoutingAssignmentState], after cursor: ListCursor?, limit: Int) -> SQL {
        """
        SELECT \(unsafeRaw: assignmentColumns) FROM routing_assignments
        WHERE handler_id = \(handler) AND state <> 'completed' AND state = ANY(\(states.map(\.rawValue)))
          AND (routing_assignments.due_date, id) > (\(cursor?.due.postgres ?? ListCursor.lowestDate), \(cursor?.id ?? ListCursor.lowestID))
        ORDER BY routing_assignments.due_date, id LIMIT \(limit)
        """
    }

    /// Overdue open cases after `cursor`, by (due date, id): the most late first.
    static func overdueCases(
        department: String?, today: LocalDate, after cursor: ListCursor?, limit: Int, on c: PostgresConnection
    ) async throws -> [AssignmentRecord] {
        try await c.query(overdueCasesQuery(department: department, today: today, after: cursor, limit: limit)).map(decodeAssignment)
    }

    static func overdueCasesQuery(department: String?, today: LocalDate, after cursor: ListCursor?, limit: Int) -> SQL {
        """
        SELECT \(unsafeRaw: assignmentColumns) FROM routing_assignments
        WHERE state <> 'completed' AND routing_assignments.due_date < \(today.postgres) AND \(overdueCondition(today: today))
          AND (\(department)::text IS NULL OR department = \(department))
          AND (routing_assignments.due_date, id) > (\(cursor?.due.postgres ?? ListCursor.lowestDate), \(cursor?.id ?? ListCursor.lowestID))
        ORDER BY routing_assignments.due_date, id LIMIT \(limit)
        """
    }

    /// Whether routing knows a department: set up, or holding cases (a case for a department
    /// not yet set up waits in its queue).
    static func departmentKnown(_ code: String, on c: PostgresConnection) async throws -> Bool {
        try await c.query("""
            SELECT EXISTS (SELECT 1 FROM routing_departments WHERE code = \(code))
                OR EXISTS (SELECT 1 FROM routing_assignments WHERE department = \(code)) AS known
            """).first?.decode(Bool.self, column: "known") ?? false
    }

    /// The departments `staff` heads.
    static func departmentsHeaded(by staff: String, on c: PostgresConnection) async throws -> [String] {
        try await c.query("SELECT code FROM routing_departments WHERE head_id = \(staff) ORDER BY code")
            .map { try $0.decode(String.self, column: "code") }
    }

    static func decodeAssignment(_ row: PostgresRow) throws -> AssignmentRecord {
        func date(_ column: String) throws -> LocalDate {
            let text = try row.decode(String.self, column: column)
            guard let date = LocalDate(text) else { throw RPCError.internal("bad date \(text) in \(column)") }
            return date
        }
        let priority = try row.decode(String.self, column: "priority")
        let state = try row.decode(String.self, column: "state")
        let pickup = try row.decode(PostgresJSONB?.self, column: "pickup")
        return AssignmentRecord(
            id: try row.decode(UUID.self, column: "id"),
            caseId: try row.decode(String.self, column: "case_id"),
            trackingNumber: try row.decode(String.self, column: "tracking_number"),
            serviceType: try row.decode(String.self, column: "service_type"),
            serviceName: try row.decode(String.self, column: "service_name"),
            priority: CasePriority(rawValue: priority) ?? .regular,
            confidentiality: try row.decode(String.self, column: "confidentiality"),
            customerName: try row.decode(String?.self, column: "customer_name"),
            department: try row.decode(String.self, column: "department"),
            handlerId: try row.decode(String?.self, column: "handler_id"),
            state: RoutingAssignmentState(rawValue: state) ?? .assigned,
            acceptedOn: try date("accepted_on"),
            timeLimitDays: try row.decode(Int.self, column: "time_limit_days"),
            pausedDays: try row.decode(Int.self, column: "paused_days"),
            extendedDays: try row.decode(Int.self, column: "extended_days"),
            maxExtensionDays: try row.decode(Int.self, column: "max_extension_days"),
            dueDate: try date("due_date"),
            pausedSince: try row.decode(String?.self, column: "paused_since").flatMap(LocalDate.init),
            result: try row.decode(String?.self, column: "result"),
            pickup: try pickup.map { try $0.decode(Pickup.self) },
            completedAt: try row.decode(Date?.self, column: "completed_at")
        )
    }

    /// Writes back every mutable field of an assignment, with the at-risk day of its due date.
    static func updateAssignment(_ a: AssignmentRecord, atRiskOn: LocalDate, at: Date, on c: PostgresConnection) async throws {
        let pickup = try a.pickup.map { try PostgresJSONB(encoding: $0) }
        try await c.execute("""
            UPDATE routing_assignments SET department = \(a.department), handler_id = \(a.handlerId),
                state = \(a.state.rawValue), accepted_on = \(a.acceptedOn.description)::date,
                time_limit_days = \(a.timeLimitDays), paused_days = \(a.pausedDays), extended_days = \(a.extendedDays),
                due_date = \(a.dueDate.description)::date, paused_since = \(a.pausedSince?.description)::date,
                result = \(a.result), pickup = \(pickup), completed_at = \(a.completedAt),
                at_risk_on = \(atRiskOn.description)::date, updated_at = \(at)
            WHERE id = \(a.id)
            """)
    }

    // MARK: Slips, pauses, extensions

    static func insertSlip(_ s: RoutingSlip, assignment: UUID, on c: PostgresConnection) async throws {
        try await c.execute("""
            INSERT INTO routing_slips (id, assignment_id, kind, at, from_department, from_handler, to_department, to_handler, reason, by_staff)
            VALUES (\(UUID(uuidString: s.slipId) ?? UUID.v7()), \(assignment), \(s.kind.rawValue), \(s.at),
                \(s.fromDepartment), \(s.fromHandler), \(s.toDepartment), \(s.toHandler), \(s.reason), \(s.by))
            """)
    }

    static func slips(assignment: UUID, on c: PostgresConnection) async throws -> [RoutingSlip] {
        try await c.query("""
            SELECT id, kind, at, from_department, from_handler, to_department, to_handler, reason, by_staff
            FROM routing_slips WHERE assignment_id = \(assignment) ORDER BY seq
            """).map { row in
            RoutingSlip(
                slipId: try row.decode(UUID.self, column: "id").uuidString.lowercased(),
                kind: RoutingSlip.Kind(rawValue: try row.decode(String.self, column: "kind")) ?? .dispatch,
                at: try row.decode(Date.self, column: "at"),
                fromDepartment: try row.decode(String?.self, column: "from_department"),
                fromHandler: try row.decode(String?.self, column: "from_handler"),
                toDepartment: try row.decode(String.self, column: "to_department"),
                toHandler: try row.decode(String?.self, column: "to_handler"),
                reason: try row.decode(String.self, column: "reason"),
                by: try row.decode(String.self, column: "by_staff")
            )
        }
    }

    static func startPause(assignment: UUID, reason: RoutingPauseReason, question: String, on day: LocalDate, at: Date, c: PostgresConnection) async throws {
        try await c.execute("""
            INSERT INTO routing_pauses (id, assignment_id, reason_type, question, started_on, started_at)
            VALUES (\(UUID.v7()), \(assignment), \(reason.rawValue), \(question), \(day.description)::date, \(at))
            """)
    }

    static func endPause(assignment: UUID, on day: LocalDate, workingDays: Int, at: Date, c: PostgresConnection) async throws {
        try await c.execute("""
            UPDATE routing_pauses SET ended_on = \(day.description)::date, working_days = \(workingDays), ended_at = \(at)
            WHERE assignment_id = \(assignment) AND ended_on IS NULL
            """)
    }

    static func pauses(assignment: UUID, on c: PostgresConnection) async throws -> [RoutingPause] {
        try await c.query("""
            SELECT reason_type, question, started_on::text AS started_on, ended_on::text AS ended_on, working_days
            FROM routing_pauses WHERE assignment_id = \(assignment) ORDER BY seq
            """).map { row in
            RoutingPause(
                reasonType: RoutingPauseReason(rawValue: try row.decode(String.self, column: "reason_type")) ?? .other,
                question: try row.decode(String.self, column: "question"),
                from: try row.decode(String.self, column: "started_on"),
                until: try row.decode(String?.self, column: "ended_on"),
                workingDays: try row.decode(Int?.self, column: "working_days")
            )
        }
    }

    static func insertExtension(_ e: RoutingExtension, assignment: UUID, on c: PostgresConnection) async throws {
        try await c.execute("""
            INSERT INTO routing_extensions (id, assignment_id, reason, requested_by, requested_at, new_due_date, working_days)
            VALUES (\(UUID(uuidString: e.extensionId) ?? UUID.v7()), \(assignment), \(e.reason), \(e.requestedBy),
                \(e.requestedAt), \(e.newDueDate)::date, \(e.workingDays))
            """)
    }

    static func decideExtension(_ id: String, approved: Bool, by: String, note: String?, at: Date, on c: PostgresConnection) async throws {
        try await c.execute("""
            UPDATE routing_extensions SET status = \(approved ? "approved" : "rejected"), decided_by = \(by),
                decided_at = \(at), note = \(note)
            WHERE id = \(UUID(uuidString: id) ?? UUID()) AND status = 'pending'
            """)
    }

    static func extensions(assignment: UUID, pendingOnly: Bool = false, on c: PostgresConnection) async throws -> [RoutingExtension] {
        try await c.query("""
            SELECT id, reason, requested_by, requested_at, new_due_date::text AS new_due_date, working_days, status,
                decided_by, decided_at, note
            FROM routing_extensions
            WHERE assignment_id = \(assignment) AND (NOT \(pendingOnly) OR status = 'pending')
            ORDER BY seq
            """).map { row in
            RoutingExtension(
                extensionId: try row.decode(UUID.self, column: "id").uuidString.lowercased(),
                reason: try row.decode(String.self, column: "reason"),
                requestedBy: try row.decode(String.self, column: "requested_by"),
                requestedAt: try row.decode(Date.self, column: "requested_at"),
                newDueDate: try row.decode(String.self, column: "new_due_date"),
                workingDays: try row.decode(Int.self, column: "working_days"),
                status: RoutingExtension.Status(rawValue: try row.decode(String.self, column: "status")) ?? .pending,
                decidedBy: try row.decode(String?.self, column: "decided_by"),
                decidedAt: try row.decode(Date?.self, column: "decided_at"),
                note: try row.decode(String?.self, column: "note")
            )
        }
    }

    static func rejectPendingExtensions(assignment: UUID, note: String, at: Date, on c: PostgresConnection) async throws {
        try await c.execute("""
            UPDATE routing_extensions SET status = 'rejected', decided_by = 'system', decided_at = \(at), note = \(note)
            WHERE assignment_id = \(assignment) AND status = 'pending'
            """)
    }

    // MARK: Audit

    static func audit(
        actor: String, role: String, action: String, subject: String,
        before: (any Encodable)?, after: (any Encodable)?, trace: String?, on c: PostgresConnection
    ) async throws {
        let beforeJSON = try before.map { try PostgresJSONB(encoding: $0) }
        let afterJSON = try after.map { try PostgresJSONB(encoding: $0) }
        try await c.execute("""
            INSERT INTO routing_audit (actor_id, actor_role, action, subject, before, after, trace_id)
            VALUES (\(actor), \(role), \(action), \(subject), \(beforeJSON), \(afterJSON), \(trace))
            """)
    }
}
