import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Prepared statements: each session prepares what it runs again, and copes when the server forgets")
struct PreparedStatementTests {
    private func connect(capacity: Int = 200) async throws -> PostgresConnection {
        var configuration = try await PostgresCluster.shared().createDatabase(prefix: "prep")
        configuration.maxPreparedStatements = capacity
        return try await PostgresConnection.connect(configuration, logger: quietLogger)
    }

    private func preparedNames(_ connection: PostgresConnection) async throws -> [String] {
        // simpleQuery-free and bind-free, so this statement itself is run unprepared twice at most.
        try await connection.query("SELECT name FROM pg_prepared_statements ORDER BY name").map { try $0.decode(String.self, column: "name") }
    }

    @Test func aStatementIsPreparedOnItsSecondRunAndReusedAfter() async throws {
        let connection = try await connect()
        for value in 1...5 {
            let rows = try await connection.query("SELECT \(Int64(value))::int8 + 1 AS n")
            #expect(try rows[0].decode(Int64.self, column: "n") == Int64(value) + 1)
        }
        let prepared = try await connection.query("SELECT count(*)::int8 AS n FROM pg_prepared_statements WHERE statement LIKE 'SELECT $1::int8 + 1%'")
        #expect(try prepared[0].decode(Int64.self, column: "n") == 1, "five runs, one prepared statement")
        await connection.close()
    }

    @Test func textSeenOnceIsNeverPrepared() async throws {
        let connection = try await connect()
        for value in 1...20 {
            try await connection.query(SQL(unsafeSQL: "SELECT \(value) AS once_\(value)"))
        }
        let prepared = try await connection.query("SELECT count(*)::int8 AS n FROM pg_prepared_statements WHERE statement LIKE 'SELECT % AS once_%'")
        #expect(try prepared[0].decode(Int64.self, column: "n") == 0)
        await connection.close()
    }

    @Test func theLeastRecentlyUsedStatementIsDroppedPastTheCapacity() async throws {
        let connection = try await connect(capacity: 2)
        for column in ["a", "b", "c"] {
            for _ in 0..<2 { try await connection.query(SQL(unsafeSQL: "SELECT 1 AS \(column)")) }
        }
        // The eviction is sent before the next prepare, outside a transaction.
        for _ in 0..<2 { try await connection.query(SQL(unsafeSQL: "SELECT 1 AS d")) }
        let statements = try await connection.query("SELECT statement FROM pg_prepared_statements ORDER BY prepare_time")
            .map { try $0.decode(String.self, column: "statement") }
        #expect(statements.count <= 2)
        #expect(statements.contains("SELECT 1 AS d"))
        #expect(!statements.contains("SELECT 1 AS a"))
        await connection.close()
    }

    @Test func aTableThatChangedShapeIsReadAgainWithoutAnError() async throws {
        let connection = try await connect()
        try await connection.simpleQuery("CREATE TABLE shapes (id int8 PRIMARY KEY); INSERT INTO shapes VALUES (1)")
        let select: SQL = "SELECT * FROM shapes WHERE id = \(Int64(1))"
        for _ in 0..<3 { try await connection.query(select) }
        try await connection.simpleQuery("ALTER TABLE shapes ADD COLUMN label text NOT NULL DEFAULT 'new'")
        let rows = try await connection.query(select)
        #expect(try rows[0].decode(String.self, column: "label") == "new")
        let again = try await connection.query(select)
        #expect(try again[0].decode(String.self, column: "label") == "new")
        await connection.close()
    }

    @Test func statementsTheServerForgotArePreparedAgain() async throws {
        let connection = try await connect()
        let select: SQL = "SELECT \(Int64(41)) + 1 AS n"
        for _ in 0..<3 { try await connection.query(select) }
        try await connection.simpleQuery("DEALLOCATE ALL")
        #expect(try await connection.query(select)[0].decode(Int64.self, column: "n") == 42)
        #expect(try await connection.query(select)[0].decode(Int64.self, column: "n") == 42)
        await connection.close()
    }

    @Test func inATransactionAForgottenStatementFailsClearlyAndTheNextTransactionWorks() async throws {
        let connection = try await connect()
        let select: SQL = "SELECT \(Int64(1)) AS n"
        for _ in 0..<3 { try await connection.query(select) }
        try await connection.simpleQuery("DEALLOCATE ALL; BEGIN")
        await #expect(throws: PostgresError.self) { try await connection.query(select) }
        try await connection.simpleQuery("ROLLBACK; BEGIN")
        #expect(try await connection.query(select)[0].decode(Int64.self, column: "n") == 1)
        try await connection.simpleQuery("COMMIT")
        await connection.close()
    }

    @Test func aZeroCapacityPreparesNothing() async throws {
        let connection = try await connect(capacity: 0)
        for _ in 0..<5 { try await connection.query("SELECT \(Int64(7)) AS n") }
        #expect(try await preparedNames(connection).isEmpty)
        await connection.close()
    }

    @Test func aStatementThatDoesNotParseIsAnErrorEveryTimeAndLeavesTheSessionUsable() async throws {
        let connection = try await connect()
        for _ in 0..<3 {
            await #expect(throws: PostgresError.self) { try await connection.query("SELEC \(Int64(1))") }
        }
        #expect(try await connection.query("SELECT \(Int64(2)) AS n")[0].decode(Int64.self, column: "n") == 2)
        await connection.close()
    }
}
