import Foundation
import Postgres
import Testing

@Suite("Migrations")
struct MigrationTests {
    static let migrations = [
        Migration(
            version: 1, name: "things",
            sql: "CREATE TABLE things (id serial PRIMARY KEY, label text NOT NULL); SELECT pg_sleep(0.2); INSERT INTO things (label) VALUES ('seed');"
        ),
        Migration(version: 2, name: "more", sql: "ALTER TABLE things ADD COLUMN note text;"),
    ]

    @Test func concurrentMigratorsApplyEachMigrationOnce() async throws {
        let configuration = try await PostgresCluster.sharedDatabase()
        let poolA = PostgresPool(configuration: configuration, maxConnections: 2, logger: quietLogger)
        let poolB = PostgresPool(configuration: configuration, maxConnections: 2, logger: quietLogger)
        async let appliedA = Migrator(migrations: Self.migrations, logger: quietLogger).apply(on: poolA)
        async let appliedB = Migrator(migrations: Self.migrations, logger: quietLogger).apply(on: poolB)
        let applied = try await appliedA + appliedB

        #expect(applied.map(\.version).sorted() == [1, 2])
        let seeds = try await poolA.query("SELECT count(*) AS n FROM things")
        #expect(try seeds[0].decode(Int.self, column: "n") == 1)
        let recorded = try await poolA.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
        #expect(try recorded.map { try $0.decode(Int.self, column: "version") } == [1, 2])
        #expect(try recorded[0].decode(String.self, column: "checksum") == Self.migrations[0].checksum)

        #expect(try await Migrator(migrations: Self.migrations, logger: quietLogger).apply(on: poolB).isEmpty)
        await poolA.close()
        await poolB.close()
    }

    @Test func editedAppliedMigrationIsRefused() async throws {
        let (pool, _) = try await makePool()
        defer { Task { await pool.close() } }
        try await Migrator(migrations: Self.migrations, logger: quietLogger).apply(on: pool)

        let edited = [Migration(version: 1, name: "things", sql: "CREATE TABLE things (id bigserial PRIMARY KEY);")]
        let error = await #expect(throws: PostgresError.self) {
            try await Migrator(migrations: edited, logger: quietLogger).apply(on: pool)
        }
        #expect(error?.code == .migrationChecksumMismatch)
        #expect(error?.message.contains("0001_things.sql") == true)
        #expect(error?.message.contains("add a new migration") == true)
    }

    @Test func failingMigrationIsRolledBackAndReported() async throws {
        let (pool, _) = try await makePool()
        defer { Task { await pool.close() } }
        let broken = [
            Migration(version: 1, name: "ok", sql: "CREATE TABLE a (id int);"),
            Migration(version: 2, name: "bad", sql: "CREATE TABLE b (id int); SELEC oops;"),
        ]
        let error = await #expect(throws: PostgresError.self) {
            try await Migrator(migrations: broken, logger: quietLogger).apply(on: pool)
        }
        #expect(error?.code == .migrationFailed)
        #expect(error?.message.contains("0002_bad.sql") == true)
        let tables = try await pool.query("SELECT to_regclass('a') IS NOT NULL AS a, to_regclass('b') IS NOT NULL AS b")
        #expect(try tables[0].decode(Bool.self, column: "a") == true)
        #expect(try tables[0].decode(Bool.self, column: "b") == false)
        // The lock was released: a fixed set applies.
        let fixed = [broken[0], Migration(version: 2, name: "bad", sql: "CREATE TABLE b (id int);")]
        #expect(try await Migrator(migrations: fixed, logger: quietLogger).apply(on: pool).map(\.version) == [2])
    }

    @Test func loadReadsNumberedFilesInOrder() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "CREATE TABLE b ();".write(to: directory.appendingPathComponent("0002_second.sql"), atomically: true, encoding: .utf8)
        try "CREATE TABLE a ();".write(to: directory.appendingPathComponent("0001_cases.sql"), atomically: true, encoding: .utf8)
        try "".write(to: directory.appendingPathComponent(".gitkeep"), atomically: true, encoding: .utf8)
        try "notes".write(to: directory.appendingPathComponent("README.md"), atomically: true, encoding: .utf8)

        let loaded = try Migrations.load(directory: directory)
        #expect(loaded.map(\.version) == [1, 2])
        #expect(loaded.map(\.name) == ["cases", "second"])
        #expect(loaded[0].fileName == "0001_cases.sql")
        #expect(loaded[0].checksum.count == 64)

        try "CREATE TABLE c ();".write(to: directory.appendingPathComponent("1_duplicate.sql"), atomically: true, encoding: .utf8)
        let error = #expect(throws: PostgresError.self) { try Migrations.load(directory: directory) }
        #expect(error?.message.contains("share version 1") == true)
    }
}

import TestSupport

extension PostgresCluster {
    static func sharedDatabase() async throws -> PostgresConfiguration {
        try await shared().createDatabase()
    }
}
