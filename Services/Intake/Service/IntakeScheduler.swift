import Contracts
import Logging
import Postgres
import ServiceKit
import ServiceLifecycle

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The scheduled work of intake: cases whose materials deadline passed lapse (the customer is
/// told), and finished cases are archived after the retention period. Replicas may all run it:
/// rows are claimed with SKIP LOCKED, and each change is its own transaction.
struct IntakeScheduler: Service {
    let database: PostgresPool
    let catalog: ServiceCatalog
    let notices: CustomerNotices
    let settings: IntakeSettings
    let logger: Logger

    func run() async throws {
        // Graceful shutdown cancels the pause between passes; a pass under way finishes.
        await cancelWhenGracefulShutdown { await loop() }
    }

    private func loop() async {
        while !Task.isCancelled {
            do {
                _ = try await lapseOverdue()
                _ = try await archiveFinished()
            } catch is CancellationError {
                return
            } catch {
                logger.warning("intake scheduler pass failed; retrying next interval", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: settings.sweepInterval)
        }
    }

    /// Lapses cases whose deadline (a working-calendar date) is before today. Returns how many.
    func lapseOverdue(today: LocalDate? = nil) async throws -> Int {
        let day = (today ?? settings.calendar.today()).description
        var count = 0
        while true {
            let lapsed: Bool = try await database.withTransaction { connection in
                guard let row = try await connection.query("""
                    SELECT id FROM cases WHERE status IN ('awaiting_materials', 'returned') AND notice_deadline < \(day)::date
                    ORDER BY notice_deadline LIMIT 1 FOR UPDATE SKIP LOCKED
                    """).first else { return false }
                let id = try row.decode(UUID.self, column: "id")
                guard let record = try await CaseStore.load(id: id, on: connection) else { return false }
                let now = Date()
                try await connection.execute("UPDATE cases SET status = 'lapsed', finished_at = \(now) WHERE id = \(id)")
                try await CaseStore.appendTimeline(id, event: "lapsed", actor: "system", detail: record.notice?.deadline, at: now, on: connection)
                try await AuditTrail.record("case.lapsed", by: .system, caseID: id, before: ["status": .string(record.status.rawValue)],
                                            after: ["status": "lapsed"], context: nil, on: connection)
                let serviceName = try await catalog.serviceType(record.serviceType, on: connection)?.name.text(record.locale) ?? record.serviceType
                try await notices.send(.caseLapsed, for: record, serviceName: serviceName, variables: [:], keySuffix: "lapsed", on: connection)
                return true
            }
            guard lapsed else { return count }
            count += 1
        }
    }

    /// Archives cases that finished more than the retention period ago. Archives are never
    /// altered: the row keeps everything, it only stops showing in searches.
    func archiveFinished(now: Date = Date()) async throws -> Int {
        let cutoff = now.addingTimeInterval(-Double(settings.archiveAfter.components.seconds))
        return try await database.withTransaction { connection in
            let rows = try await connection.query("""
                WITH due AS (
                    SELECT id FROM cases WHERE archived_at IS NULL AND finished_at IS NOT NULL AND finished_at < \(cutoff)
                    LIMIT 500 FOR UPDATE SKIP LOCKED
                )
                UPDATE cases SET archived_at = \(now) FROM due WHERE cases.id = due.id RETURNING cases.id
                """)
            for row in rows {
                try await AuditTrail.record("case.archived", by: .system, caseID: try row.decode(UUID.self, column: "id"),
                                            after: ["archived": true], context: nil, on: connection)
            }
            return rows.count
        }
    }
}
