import Foundation
import Postgres
import Synchronization
import TestSupport
import Testing

@Suite("Connection pool")
struct PoolTests {
    @Test func exhaustedPoolTimesOut() async throws {
        let (pool, _) = try await makePool(maxConnections: 2, acquireTimeout: .milliseconds(300))
        let holders = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<2 { group.addTask { try await pool.query("SELECT pg_sleep(2)") } }
                try await group.waitForAll()
            }
        }
        #expect(try await eventually { pool.statistics.inUse == 2 })

        let started = ContinuousClock.now
        let error = await #expect(throws: PostgresError.self) { try await pool.query("SELECT 1") }
        let waited = ContinuousClock.now - started
        #expect(error?.code == .poolTimeout)
        #expect(error?.description.contains("ONESTOP_DB_POOL_SIZE") == true)
        #expect(waited >= .milliseconds(250) && waited < .seconds(10), "waited \(waited)")
        #expect(pool.statistics.waiting == 0)

        try await holders.value
        try await pool.ping()
        await pool.close()
    }

    @Test func waitersAreServedInArrivalOrder() async throws {
        let (pool, _) = try await makePool(maxConnections: 1)
        let order = LockedBox<[Int]>([])
        let release = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await pool.withConnection { _ in
                for await _ in release.stream { break }
            }
        }
        #expect(try await eventually { pool.statistics.inUse == 1 })
        var waiters: [Task<Void, any Error>] = []
        for index in 0..<3 {
            waiters.append(Task { try await pool.withConnection { _ in order.withLock { $0.append(index) } } })
            #expect(try await eventually { pool.statistics.waiting == index + 1 })
        }
        release.continuation.yield()
        try await holder.value
        for waiter in waiters { try await waiter.value }
        #expect(order.current == [0, 1, 2])
        await pool.close()
    }

    @Test func killedIdleConnectionIsReplaced() async throws {
        let (pool, configuration) = try await makePool(maxConnections: 1)
        let admin = PostgresPool(configuration: configuration, maxConnections: 1, logger: quietLogger)
        let first = try await pool.query("SELECT pg_backend_pid() AS pid")[0].decode(Int32.self, column: "pid")

        try await terminateBackends(using: admin, pid: first)

        let second = try await pool.query("SELECT pg_backend_pid() AS pid")[0].decode(Int32.self, column: "pid")
        #expect(second != first)
        #expect(pool.statistics.open == 1)
        await admin.close()
        await pool.close()
    }

    @Test func connectionKilledDuringUseIsDiscarded() async throws {
        let (pool, configuration) = try await makePool(maxConnections: 1)
        let admin = PostgresPool(configuration: configuration, maxConnections: 1, logger: quietLogger)
        let error = await #expect(throws: PostgresError.self) {
            try await pool.withConnection { connection in
                try await terminateBackends(using: admin, pid: connection.backendPID)
                do {
                    try await connection.query("SELECT 1")
                } catch {
                    #expect(connection.isBroken)
                    throw error
                }
            }
        }
        #expect(error?.code == .connectionLost)
        #expect(pool.statistics.open == 0)
        try await pool.ping()
        #expect(pool.statistics.open == 1)
        await admin.close()
        await pool.close()
    }

    @Test func poolSurvivesAServerRestart() async throws {
        let cluster = try await PostgresCluster.startDedicated()
        let configuration = try await cluster.createDatabase()
        let pool = PostgresPool(configuration: configuration, maxConnections: 2, logger: quietLogger)
        try await pool.ping()
        try await cluster.restart()
        try await pool.ping()
        await pool.close()
        try await cluster.stop()
    }

    @Test func closedPoolRefusesWork() async throws {
        let (pool, _) = try await makePool(maxConnections: 1)
        try await pool.ping()
        await pool.close()
        let error = await #expect(throws: PostgresError.self) { try await pool.ping() }
        #expect(error?.code == .poolClosed)
        #expect(pool.statistics.open == 0)
    }

    @Test func unreachableServerFailsToConnect() async throws {
        let pool = PostgresPool(
            configuration: PostgresConfiguration(connectionString: "host=127.0.0.1 port=1 connect_timeout=2"),
            maxConnections: 1, logger: quietLogger
        )
        let error = await #expect(throws: PostgresError.self) { try await pool.ping() }
        #expect(error?.code == .connectionFailed)
        #expect(pool.statistics.open == 0)
        await pool.close()
    }

    @Test func poolIsUsableFromAnActor() async throws {
        let (pool, _) = try await makePool()
        let store = CaseStore(pool: pool)
        try await store.setUp()
        try await store.add("first")
        #expect(try await store.count() == 1)
        await pool.close()
    }
}

/// Checks that isolated callers (a service's store actor) can pass closures to the pool.
actor CaseStore {
    let pool: PostgresPool
    var added = 0

    init(pool: PostgresPool) { self.pool = pool }

    func setUp() async throws {
        try await pool.query("CREATE TABLE cases (title text)")
    }

    func add(_ title: String) async throws {
        try await pool.withTransaction { connection in
            try await connection.execute("INSERT INTO cases VALUES (\(title))")
        }
        added += 1
    }

    func count() async throws -> Int {
        try await pool.withConnection { connection in
            try await connection.query("SELECT count(*) FROM cases")[0].decode(Int.self, at: 0)
        }
    }
}
