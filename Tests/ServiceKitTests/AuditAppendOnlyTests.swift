import ComplaintsService
import GatewayService
import IntakeService
import Logging
import NotificationService
import Postgres
import ReviewService
import RoutingService
import ServiceKit
import Testing
import TestSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// ASVS V7.3 (log protection): each service connects to its database as the owner of its
/// tables, so its audit tables are guarded by triggers; an UPDATE, DELETE or TRUNCATE of an
/// audit row fails for the service's own role.
@Suite("Audit rows cannot be changed or removed by the service's own role")
struct AuditAppendOnlyTests {
    struct AuditTable: Sendable, CustomTestStringConvertible {
        var definition: @Sendable () -> ServiceDefinition
        var table: String
        /// Inserts one row (and whatever it refers to).
        var insert: [String]
        var testDescription: String { table }
    }

    static let tables: [AuditTable] = [
        AuditTable(definition: { GatewayService.definition(environment: [:]) }, table: "access_audit", insert: [
            "INSERT INTO access_audit (request_id, principal, action, outcome, detail) VALUES ('r1', 'someone', 'login', 'denied', 'test')",
        ]),
        AuditTable(definition: { IntakeService.definition(environment: [:]) }, table: "audit_log", insert: [
            "INSERT INTO audit_log (actor, action) VALUES ('officer', 'case.read')",
        ]),
        AuditTable(definition: { ReviewService.definition(settings: nil) }, table: "review_audit", insert: [
            "INSERT INTO review_audit (actor_id, actor_role, action) VALUES ('reviewer', 'reviewer', 'decide')",
        ]),
        AuditTable(definition: { RoutingService.definition(settings: nil) }, table: "routing_audit", insert: [
            "INSERT INTO routing_audit (actor_id, actor_role, action, subject) VALUES ('handler', 'handler', 'accept', 'slip')",
        ]),
        AuditTable(definition: { NotificationService.definition(settings: nil) }, table: "notification_audit", insert: [
            "INSERT INTO notification_audit (action, entity_id) VALUES ('send', 'm1')",
        ]),
        AuditTable(definition: { NotificationService.definition(settings: nil) }, table: "notification_attempts", insert: [
            "INSERT INTO notification_messages (id, key, template, locale, urgency, variables) VALUES ('00000000-0000-7000-8000-000000000001', 'k', 't', 'en', 'normal', '{}')",
            "INSERT INTO notification_deliveries (id, message_id, position, channel, address, content) VALUES ('00000000-0000-7000-8000-000000000002', '00000000-0000-7000-8000-000000000001', 0, 'email', 'a@example.com', '{}')",
            "INSERT INTO notification_attempts (delivery_id, attempt, outcome, started_at) VALUES ('00000000-0000-7000-8000-000000000002', 1, 'sent', now())",
        ]),
        AuditTable(definition: { ComplaintsService.definition(configuration: { try ComplaintsConfiguration.defaults }) }, table: "complaint_audit", insert: [
            "INSERT INTO complaint_audit (action, actor_id) VALUES ('file', 'officer')",
        ]),
    ]

    @Test(arguments: tables)
    func updateDeleteAndTruncateFail(_ audit: AuditTable) async throws {
        let logger = Logger(label: "audit-test", factory: { _ in SwiftLogNoOpLogHandler() })
        let configuration = try await PostgresCluster.shared().createDatabase(prefix: "audit")
        let pool = PostgresPool(configuration: configuration, maxConnections: 1, logger: logger)
        do {
            let directory = try #require(audit.definition().migrationsDirectory)
            try await Migrator(migrations: try Migrations.load(directory: directory), logger: logger).apply(on: pool)
            for statement in audit.insert { try await pool.execute(SQL(unsafeSQL: statement)) }
            let table = SQL(unsafeSQL: audit.table)
            await #expect(throws: (any Error).self) { try await pool.execute("UPDATE \(table) SET id = id") }
            await #expect(throws: (any Error).self) { try await pool.execute("DELETE FROM \(table)") }
            await #expect(throws: (any Error).self) { try await pool.execute("TRUNCATE \(table) CASCADE") }
            #expect(try await pool.query("SELECT count(*)::int8 AS n FROM \(table)")[0].decode(Int64.self, column: "n") == 1)
            // Appending still works.
            try await pool.execute(SQL(unsafeSQL: audit.insert.last!))
        } catch {
            await pool.close()
            throw error
        }
        await pool.close()
    }
}
