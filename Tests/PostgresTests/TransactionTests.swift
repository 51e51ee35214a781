import Foundation
import Postgres
import Synchronization
import Testing

@Suite("Transactions and server errors")
struct TransactionTests {
    @Test func serializationFailureRetriesTheWholeBody() async throws {
        let (pool, _) = try await makePool(maxConnections: 4)
        defer { Task { await pool.close() } }
        try await pool.simpleQueryOnce("CREATE TABLE counters (id int PRIMARY KEY, value int NOT NULL); INSERT INTO counters VALUES (1, 0), (2, 0)")

        let attempts = LockedBox<[Int: Int]>([:])
        let firstReads = LockedBox(0)
        // Write skew: each reads both rows, then updates its own. Under SERIALIZABLE one must fail with 40001.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in [1, 2] {
                group.addTask {
                    try await pool.withTransaction(isolation: .serializable) { connection in
                        let attempt = attempts.withLock { attempts -> Int in
                            attempts[id, default: 0] += 1
                            return attempts[id]!
                        }
                        _ = try await connection.query("SELECT sum(value) FROM counters")
                        if attempt == 1 {
                            firstReads.withLock { $0 += 1 }
                            _ = try await eventually { firstReads.current >= 2 }
                        }
                        try await connection.execute("UPDATE counters SET value = value + 1 WHERE id = \(id)")
                    }
                }
            }
            try await group.waitForAll()
        }

        let counts = attempts.withLock { $0 }
        // One commits first time; the other fails with 40001 and its whole body runs again (usually
        // twice in all; a third time if its retry started before the winner committed).
        let runs = counts.values.sorted()
        #expect(runs.count == 2 && runs[0] == 1 && runs[1] >= 2, "runs per transaction: \(counts)")
        let rows = try await pool.query("SELECT value FROM counters ORDER BY id")
        #expect(try rows.map { try $0.decode(Int.self, at: 0) } == [1, 1])
    }

    @Test func throwingBodyRollsBack() async throws {
        let (pool, _) = try await makePool()
        defer { Task { await pool.close() } }
        try await pool.query("CREATE TABLE notes (body text)")
        await #expect(throws: ExpectedFailure.self) {
            try await pool.withTransaction { connection in
                try await connection.execute("INSERT INTO notes VALUES (\("draft"))")
                throw ExpectedFailure()
            }
        }
        #expect(try await pool.query("SELECT * FROM notes").isEmpty)
        try await pool.withTransaction { try await $0.execute("INSERT INTO notes VALUES (\("final"))") }
        #expect(try await pool.query("SELECT * FROM notes").count == 1)
    }

    @Test func swallowedStatementErrorFailsTheCommit() async throws {
        let (pool, _) = try await makePool()
        defer { Task { await pool.close() } }
        let error = await #expect(throws: PostgresError.self) {
            try await pool.withTransaction { connection in
                _ = try? await connection.query("SELECT * FROM missing_table")
            }
        }
        #expect(error?.sqlState == "25P02")
    }

    @Test func uniqueViolationIsAConflict() async throws {
        let (pool, _) = try await makePool()
        defer { Task { await pool.close() } }
        try await pool.query("CREATE TABLE people (email text CONSTRAINT people_email_key UNIQUE)")
        try await pool.execute("INSERT INTO people VALUES (\("alice@example.com"))")
        let error = await #expect(throws: PostgresError.self) {
            try await pool.execute("INSERT INTO people VALUES (\("alice@example.com"))")
        }
        #expect(error?.code == .uniqueViolation)
        #expect(error?.isConflict == true)
        #expect(error?.constraint == "people_email_key")
        #expect(error?.description.contains("alice@example.com") == false)
    }

    @Test func otherServerErrorsMapToTheirCodes() async throws {
        let (pool, _) = try await makePool()
        defer { Task { await pool.close() } }
        try await pool.simpleQueryOnce("CREATE TABLE parents (id int PRIMARY KEY); CREATE TABLE kids (parent int REFERENCES parents, age int CHECK (age >= 0) NOT NULL)")
        let cases: [(SQL, PostgresError.Code)] = [
            ("INSERT INTO kids VALUES (\(Int32(1)), \(Int32(3)))", .foreignKeyViolation),
            ("INSERT INTO kids VALUES (NULL, \(Int32(-1)))", .checkViolation),
            ("INSERT INTO kids VALUES (NULL, NULL)", .notNullViolation),
            ("SELECT \("not a uuid")::uuid", .invalidInput),
            ("SELEC 1", .syntaxOrAccess),
            ("SELECT * FROM nowhere", .syntaxOrAccess),
            ("SET statement_timeout = 50; SELECT pg_sleep(1)".asUnsafeSQL, .queryCanceled),
        ]
        for (sql, code) in cases {
            let error = await #expect(throws: PostgresError.self) {
                try await pool.withConnection { connection in
                    if sql.text.hasPrefix("SET") {
                        try await connection.simpleQuery(sql.text)
                    } else {
                        try await connection.query(sql)
                    }
                }
            }
            #expect(error?.code == code, "\(sql.text)")
        }
        try await pool.ping()
    }
}

extension String {
    var asUnsafeSQL: SQL { SQL(unsafeSQL: self) }
}

extension PostgresPool {
    func simpleQueryOnce(_ text: String) async throws {
        try await withConnection { try await $0.simpleQuery(text) }
    }
}
