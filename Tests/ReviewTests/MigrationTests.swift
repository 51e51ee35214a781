import Postgres
@testable import ReviewService
import Testing
import TestSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Migrations that move data: what was stored before reads the same after.
struct ReviewMigrationTests {
    /// 0006 moves every result onto its task as one jsonb array and keeps only the results that
    /// did not pass as rows.
    @Test func resultsStoredAsRowsMoveOntoTheirTaskAndOnlyFlagsStayRows() async throws {
        let database = try await PostgresCluster.shared().createDatabase(prefix: "reviewmig")
        let pool = PostgresPool(configuration: database, maxConnections: 2, logger: quietLogger)
        let all = try Migrations.load(directory: try #require(ReviewService.migrations))
        try await Migrator(migrations: all.filter { $0.version <= 5 }, logger: quietLogger).apply(on: pool)

        let checked = UUID(), unchecked = UUID()
        for (id, caseID) in [(checked, "case-1"), (unchecked, "case-2")] {
            try await pool.execute("""
                INSERT INTO review_tasks (id, case_id, tracking_number, service_type, service_name, priority, priority_rank,
                                          customer_key, applicant_name, applicant_id_masked, submission, identity_checks, checked_at)
                VALUES (\(id), \(caseID), 'T1', 'license', 'License', 'regular', 0, 'ck', 'Zhang San', '1101**********002X',
                        '{}'::jsonb, '[]'::jsonb, CASE WHEN \(caseID) = 'case-1' THEN now() END)
                """)
        }
        try await pool.execute("""
            INSERT INTO review_check_results (task_id, rule_id, outcome, detail) VALUES
                (\(checked), 'risk.watchlist', 'flagged', 'on the watch list'),
                (\(checked), 'fields.required', 'passed', 'all present'),
                (\(checked), 'external.verification', 'could_not_verify', 'verifier down')
            """)

        try await Migrator(migrations: all, logger: quietLogger).apply(on: pool)

        let rows = try await pool.query("""
            SELECT check_results::text AS results FROM review_tasks WHERE id = \(checked)
            """)
        let results = try JSONDecoder().decode([ReviewCheckResultRow].self, from: Data(try rows[0].decode(String.self, column: "results").utf8))
        #expect(results == [
            ReviewCheckResultRow(ruleId: "external.verification", outcome: "could_not_verify", detail: "verifier down"),
            ReviewCheckResultRow(ruleId: "fields.required", outcome: "passed", detail: "all present"),
            ReviewCheckResultRow(ruleId: "risk.watchlist", outcome: "flagged", detail: "on the watch list"),
        ])
        let untouched = try await pool.query("SELECT check_results IS NULL AS empty FROM review_tasks WHERE id = \(unchecked)")
        #expect(try untouched[0].decode(Bool.self, column: "empty"))
        let flags = try await pool.query("SELECT rule_id FROM review_check_results ORDER BY rule_id").map { try $0.decode(String.self, column: "rule_id") }
        #expect(flags == ["external.verification", "risk.watchlist"])
        // A passed result can no longer be stored as a row.
        await #expect(throws: PostgresError.self) {
            try await pool.execute("INSERT INTO review_check_results (task_id, rule_id, outcome, detail) VALUES (\(checked), 'materials.count', 'passed', 'ok')")
        }
        await pool.close()
    }

    struct ReviewCheckResultRow: Decodable, Equatable {
        var ruleId: String
        var outcome: String
        var detail: String
    }
}
