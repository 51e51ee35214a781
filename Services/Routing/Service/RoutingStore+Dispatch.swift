import Contracts
import LineProtocol
import Postgres
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Dispatch's two statements. A dispatch runs at the rate cases are approved, so its reads and its
/// writes are each one round trip instead of one per table.
extension RoutingStore {
    /// Where a new case goes: the department its rule names (else `fallback`), that department's
    /// record (nil when routing does not know it) and the handler picked and locked for it.
    struct DispatchTarget: Sendable {
        var department: String
        var departmentRecord: DepartmentRecord?
        var handler: HandlerRecord?
    }

    /// Rule, department and handler in one statement. The handler is picked as `pickHandler`
    /// does, skipping rows other dispatches hold; only when that finds nobody is `pickHandler`
    /// asked again (it then waits for a held one).
    static func dispatchTarget(
        serviceType: String, priority: CasePriority, fallback: String, on c: PostgresConnection
    ) async throws -> DispatchTarget {
        let rows = try await c.query("""
            WITH rule AS (
                SELECT coalesce((
                    SELECT department FROM routing_rules
                    WHERE service_type = \(serviceType) AND priority IN (\(priority.rawValue), '*')
                    ORDER BY priority = '*' LIMIT 1
                ), \(fallback)) AS code
            ), picked AS (
                SELECT h.id, h.name, h.department, h.email, h.phone, h.active, h.skills
                FROM routing_handlers h, rule
                WHERE h.department = rule.code AND h.active AND h.skills @> \([serviceType])
                ORDER BY h.open_cases::float8 / h.capacity, h.last_turn, h.id
                LIMIT 1 FOR UPDATE OF h SKIP LOCKED
            )
            SELECT rule.code AS department,
                d.code AS department_code, d.name_zh, d.name_en, d.head_id, d.head_name, d.head_email, d.head_phone,
                p.id AS handler_id, p.name AS handler_name, p.email AS handler_email, p.phone AS handler_phone,
                p.active AS handler_active, p.skills AS handler_skills
            FROM rule
            LEFT JOIN routing_departments d ON d.code = rule.code
            LEFT JOIN picked p ON true
            """)
        guard let row = rows.first else { throw RPCError.internal("the dispatch target query returned no row") }
        let department = try row.decode(String.self, column: "department")
        var target = DispatchTarget(department: department)
        if try row.decode(String?.self, column: "department_code") != nil {
            let headId = try row.decode(String?.self, column: "head_id")
            target.departmentRecord = DepartmentRecord(
                code: department,
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
        if let handlerId = try row.decode(String?.self, column: "handler_id") {
            target.handler = HandlerRecord(
                id: handlerId, name: try row.decode(String.self, column: "handler_name"), department: department,
                email: try row.decode(String?.self, column: "handler_email"), phone: try row.decode(String?.self, column: "handler_phone"),
                active: try row.decode(Bool.self, column: "handler_active"), skills: try row.decode([String].self, column: "handler_skills")
            )
        } else {
            target.handler = try await pickHandler(department: department, serviceType: serviceType, on: c)
        }
        return target
    }

    /// Writes a new case's assignment, its handler's extra open case, its dispatch slip and its
    /// audit row in one statement. Returns false, writing nothing, when the case already has an
    /// assignment (another message dispatched it; a concurrent one waits here on the unique
    /// case id until that commits).
    static func recordDispatch(
        _ a: AssignmentRecord, atRiskOn: LocalDate, at: Date, slip s: RoutingSlip,
        auditActor: String, auditAfter: some Encodable, trace: String?, on c: PostgresConnection
    ) async throws -> Bool {
        let after = try PostgresJSONB(encoding: auditAfter)
        let rows = try await c.query("""
            WITH added AS (
                INSERT INTO routing_assignments (id, case_id, tracking_number, service_type, service_name, priority,
                    confidentiality, customer_name, department, handler_id, state, accepted_on, time_limit_days,
                    paused_days, extended_days, max_extension_days, due_date, at_risk_on, created_at, updated_at)
                VALUES (\(a.id), \(a.caseId), \(a.trackingNumber), \(a.serviceType), \(a.serviceName), \(a.priority.rawValue),
                    \(a.confidentiality), \(a.customerName), \(a.department), \(a.handlerId), \(a.state.rawValue),
                    \(a.acceptedOn.description)::date, \(a.timeLimitDays), \(a.pausedDays), \(a.extendedDays),
                    \(a.maxExtensionDays), \(a.dueDate.description)::date, \(atRiskOn.description)::date, \(at), \(at))
                ON CONFLICT (case_id) DO NOTHING
                RETURNING id, handler_id
            ), took AS (
                UPDATE routing_handlers h SET open_cases = open_cases + 1, last_turn = nextval('routing_handler_turns')
                FROM added WHERE h.id = added.handler_id
                RETURNING h.id
            ), slipped AS (
                INSERT INTO routing_slips (id, assignment_id, kind, at, from_department, from_handler, to_department, to_handler, reason, by_staff)
                SELECT \(UUID(uuidString: s.slipId) ?? UUID.v7()), added.id, \(s.kind.rawValue), \(s.at),
                    \(s.fromDepartment), \(s.fromHandler), \(s.toDepartment), \(s.toHandler), \(s.reason), \(s.by)
                FROM added
                RETURNING id
            ), audited AS (
                INSERT INTO routing_audit (actor_id, actor_role, action, subject, before, after, trace_id)
                SELECT \(auditActor), 'system', 'assignment.dispatch', \("case/" + a.caseId), NULL, \(after), \(trace)
                FROM added
                RETURNING id
            )
            SELECT (SELECT count(*) FROM added)::int8 AS added
            """)
        return try rows.first?.decode(Int64.self, column: "added") == 1
    }
}
