import Logging
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The messaging tables every service's database holds (outbox, inbox, jobs). They are migrated
/// with their own history table, so a service's numbered migrations and these never collide.
public enum MessagingSchema {
    public static let historyTable = "messaging_schema_migrations"

    public static func migrations() throws -> [Migration] {
        guard let directory = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            throw PostgresError(code: .migrationFailed, message: "the messaging migrations are missing from the Messaging resource bundle; rebuild the service")
        }
        return try Migrations.load(directory: directory)
    }

    public static func migrator(logger: Logger) throws -> Migrator {
        Migrator(migrations: try migrations(), table: historyTable, logger: logger)
    }
}
