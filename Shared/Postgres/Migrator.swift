import Logging

/// Applies pending migrations at service start.
///
/// Replicas may start together, so the migrator takes a session advisory lock first; the others
/// wait, then find nothing left to do. Each migration runs in its own transaction together with its
/// `schema_migrations` row, so it is applied entirely or not at all.
public struct Migrator: Sendable {
    /// The default advisory lock key ("OneStop" in ASCII). All OneStop services sharing a database
    /// serialise their migrations on it.
    public static let defaultLockKey: Int64 = 0x4F6E_6553_746F_70

    public let migrations: [Migration]
    /// The history table (a plain lowercase identifier). Sets of migrations with separate histories
    /// (a service's own and a shared library's) use separate tables.
    public let table: String
    public let lockKey: Int64
    private let logger: Logger

    public init(
        migrations: [Migration], table: String = "schema_migrations", lockKey: Int64 = Migrator.defaultLockKey,
        logger: Logger
    ) {
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.table = table
        self.lockKey = lockKey
        self.logger = logger
    }

    /// Applies every migration not yet recorded and returns those it applied (in order).
    ///
    /// Throws `.migrationChecksumMismatch` if an applied migration's file changed, and
    /// `.migrationFailed` if a script fails (that migration and later ones are not applied).
    @discardableResult
    public func apply(on pool: PostgresPool) async throws -> [Migration] {
        guard let first = table.unicodeScalars.first, first == "_" || ("a"..."z").contains(first),
            table.unicodeScalars.allSatisfy({ $0 == "_" || ("a"..."z").contains($0) || ("0"..."9").contains($0) }),
            table.count <= 63
        else {
            throw PostgresError(
                code: .migrationFailed,
                message: "the migration history table name \"\(table)\" is not a plain lowercase identifier; use letters, digits and _"
            )
        }
        return try await pool.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(lockKey))")
            do {
                let applied = try await applyLocked(on: connection)
                try await connection.query("SELECT pg_advisory_unlock(\(lockKey))")
                return applied
            } catch {
                if !connection.isBroken {
                    _ = try? await connection.query("SELECT pg_advisory_unlock(\(lockKey))")
                }
                throw error
            }
        }
    }

    private func applyLocked(on connection: PostgresConnection) async throws -> [Migration] {
        try await connection.simpleQuery(
            """
            CREATE TABLE IF NOT EXISTS \(table) (
                version integer PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """
        )
        var recorded: [Int: String] = [:]
        for row in try await connection.query("SELECT version, checksum FROM \(unsafeRaw: table)") {
            recorded[try row.decode(Int.self, column: "version")] = try row.decode(String.self, column: "checksum")
        }
        for migration in migrations {
            if let checksum = recorded[migration.version], checksum != migration.checksum {
                throw PostgresError(
                    code: .migrationChecksumMismatch,
                    message: "migration \(migration.fileName) was edited after it was applied (checksum \(checksum.prefix(12))… "
                        + "in the database, \(migration.checksum.prefix(12))… in the file); restore the applied text and "
                        + "add a new migration for the change instead"
                )
            }
        }
        var applied: [Migration] = []
        for migration in migrations where recorded[migration.version] == nil {
            try await apply(migration, on: connection)
            applied.append(migration)
        }
        if applied.isEmpty {
            logger.debug("postgres migrations up to date", metadata: ["db.migrations": "\(migrations.count)"])
        }
        return applied
    }

    private func apply(_ migration: Migration, on connection: PostgresConnection) async throws {
        try await connection.simpleQuery("BEGIN")
        do {
            try await connection.simpleQuery(migration.sql)
            try await connection.query(
                """
                INSERT INTO \(unsafeRaw: table) (version, name, checksum)
                VALUES (\(Int32(migration.version)), \(migration.name), \(migration.checksum))
                """
            )
            try await connection.simpleQuery("COMMIT")
        } catch {
            if !connection.isBroken { _ = try? await connection.simpleQuery("ROLLBACK") }
            let underlying = error as? PostgresError
            throw PostgresError(
                code: underlying?.isConnectionError == true ? underlying!.code : .migrationFailed,
                sqlState: underlying?.sqlState,
                message: "migration \(migration.fileName) failed and was rolled back: "
                    + (underlying.map { "\($0)" } ?? "\(error)") + "; fix the file (it is not recorded as applied) and redeploy",
                detail: underlying?.detail,
                hint: underlying?.hint,
                constraint: underlying?.constraint
            )
        }
        logger.info(
            "postgres migration applied",
            metadata: [
                "db.migration.table": "\(table)", "db.migration.version": "\(migration.version)",
                "db.migration.name": "\(migration.name)",
            ]
        )
    }
}
