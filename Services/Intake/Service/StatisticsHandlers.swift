import Contracts
import LineProtocol
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// `intake.stats`: volume and first-time completeness for the management's KPIs, and the case
/// counts behind complaints' complaint rate.
struct StatisticsHandlers: Sendable {
    let database: PostgresPool

    /// Services that may read the counts without acting for a member of staff: complaints
    /// computes its complaint rate per 1,000 cases from them. The figures are counts only, no
    /// customer data.
    static let serviceReaders: Set<String> = [OneStopService.complaints.rawValue]

    func stats(_ params: IntakeStats.Params, _ context: RPCContext) async throws -> IntakeStats.Result {
        if context.meta.actor == nil, let caller = context.caller, Self.serviceReaders.contains(caller) {
            // A service reading counts for its own statistics.
        } else {
            _ = try context.requireStaff(.supervisor, .administrator, doing: "reading intake statistics")
        }
        if let from = params.from, let before = params.before, from >= before {
            throw RPCError.invalidParams("from must be before before", zh: "from 必须早于 before")
        }
        if let department = params.department, department.isEmpty || department.count > 64 {
            throw RPCError.invalidParams("department must be 1 to 64 characters", zh: "department 须为 1 至 64 个字符")
        }
        let period: SQL = """
            registered_at >= coalesce(\(params.from), '-infinity'::timestamptz)
            AND registered_at < coalesce(\(params.before), 'infinity'::timestamptz)
            AND (\(params.department == nil) OR department = \(params.department ?? ""))
            """
        return try await database.withTransaction(isolation: .repeatableRead) { c in
            func counts(_ key: String) async throws -> [KeyedCount] {
                try await c.query("SELECT \(unsafeRaw: key) AS key, count(*)::int8 AS n FROM cases WHERE \(period) GROUP BY 1 ORDER BY 1").map {
                    KeyedCount(key: try $0.decode(String.self, column: "key"), count: Int(try $0.decode(Int64.self, column: "n")))
                }
            }
            let totals = try await c.query("""
                SELECT count(*)::int8 AS registered,
                       count(*) FILTER (WHERE accepted_at IS NOT NULL)::int8 AS accepted,
                       count(*) FILTER (WHERE accepted_at IS NOT NULL AND NOT EXISTS (
                           SELECT 1 FROM case_timeline t WHERE t.case_id = cases.id AND t.event = 'materials_missing'))::int8 AS first_time,
                       count(*) FILTER (WHERE status = 'not_accepted')::int8 AS not_accepted,
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM accepted_at - registered_at))
                           FILTER (WHERE accepted_at IS NOT NULL) AS p50
                FROM cases WHERE \(period)
                """)[0]
            return IntakeStats.Result(
                registered: Int(try totals.decode(Int64.self, column: "registered")),
                byChannel: try await counts("channel"),
                byServiceType: try await counts("service_type"),
                byDay: try await counts("to_char(registered_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')"),
                byStatus: try await counts("status"),
                accepted: Int(try totals.decode(Int64.self, column: "accepted")),
                firstTimeComplete: Int(try totals.decode(Int64.self, column: "first_time")),
                notAccepted: Int(try totals.decode(Int64.self, column: "not_accepted")),
                secondsToAcceptanceP50: try totals.decode(Double?.self, column: "p50")
            )
        }
    }
}
