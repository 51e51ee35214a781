import Contracts
import LineProtocol
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// `routing.stats`: timeliness per department for the management's KPIs.
extension RoutingProcessor {
    func stats(_ p: RoutingStats.Params, context: RPCContext) async throws -> RoutingStats.Result {
        let readers: Set<String> = [RoutingRole.officer, RoutingRole.admin, StaffRole.supervisor.rawValue]
        guard let actor = context.meta.actor, !readers.isDisjoint(with: actor.roles) else {
            throw RPCError.forbidden("routing statistics are for routing officers, supervisors and administrators", zh: "分办统计仅供分办员、主管和管理员查看")
        }
        if let from = p.from, let before = p.before, from >= before {
            throw RPCError.invalidParams("from must be before before", zh: "from 必须早于 before")
        }
        let today = settings.today.description
        // Local dates of completion compare with due dates, which are local working days.
        let zone = calendar.timeZone.identifier
        let rows = try await database.query("""
            WITH scope AS (
                SELECT * FROM routing_assignments WHERE \(p.department == nil) OR department = \(p.department ?? "")
            ), done AS (
                SELECT * FROM scope
                WHERE state = 'completed'
                  AND completed_at >= coalesce(\(p.from), '-infinity'::timestamptz)
                  AND completed_at < coalesce(\(p.before), 'infinity'::timestamptz)
            ), reopened AS (
                SELECT a.department, count(*)::int8 AS n FROM routing_slips s JOIN scope a ON a.id = s.assignment_id
                WHERE s.kind = 'reopen' AND s.at >= coalesce(\(p.from), '-infinity'::timestamptz)
                  AND s.at < coalesce(\(p.before), 'infinity'::timestamptz)
                GROUP BY a.department
            ), departments AS (
                SELECT department FROM scope GROUP BY department
            )
            SELECT d.department,
                (SELECT count(*) FROM scope s WHERE s.department = d.department AND s.state <> 'completed')::int8 AS open,
                (SELECT count(*) FROM scope s WHERE s.department = d.department AND s.state <> 'completed'
                    AND s.paused_since IS NULL AND s.due_date < \(today)::date)::int8 AS overdue,
                (SELECT count(*) FROM done x WHERE x.department = d.department)::int8 AS completed,
                (SELECT count(*) FROM done x WHERE x.department = d.department
                    AND (x.completed_at AT TIME ZONE \(zone))::date <= x.due_date)::int8 AS on_time,
                (SELECT avg(extract(epoch FROM x.completed_at - x.created_at)) FROM done x WHERE x.department = d.department)::float8 AS processing,
                (SELECT coalesce(sum(x.paused_days), 0) FROM done x WHERE x.department = d.department)::int8 AS paused,
                coalesce((SELECT n FROM reopened r WHERE r.department = d.department), 0)::int8 AS reopened
            FROM departments d ORDER BY d.department
            """)
        return RoutingStats.Result(departments: try rows.map { row in
            RoutingStats.Department(
                department: try row.decode(String.self, column: "department"),
                open: Int(try row.decode(Int64.self, column: "open")),
                overdue: Int(try row.decode(Int64.self, column: "overdue")),
                completed: Int(try row.decode(Int64.self, column: "completed")),
                completedOnTime: Int(try row.decode(Int64.self, column: "on_time")),
                processingSecondsAverage: try row.decode(Double?.self, column: "processing"),
                pausedWorkingDays: Int(try row.decode(Int64.self, column: "paused")),
                reopened: Int(try row.decode(Int64.self, column: "reopened"))
            )
        })
    }
}
