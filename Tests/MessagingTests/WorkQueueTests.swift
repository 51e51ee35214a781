import JSONCoding
import Messaging
import Postgres
import Synchronization
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

@Suite("Work queue: leases, heartbeats, retries, dead jobs")
struct WorkQueueTests {
    private func makeQueue() async throws -> (PostgresConfiguration, PostgresPool, WorkQueue) {
        let configuration = try await PostgresCluster.shared().createDatabase(prefix: "jobs")
        let pool = PostgresPool(configuration: configuration, maxConnections: 8, logger: quietLogger)
        try await MessagingSchema.migrator(logger: quietLogger).apply(on: pool)
        try await pool.execute("CREATE TABLE probe_job_effects (id bigserial PRIMARY KEY, job_id bigint NOT NULL, worker text NOT NULL)")
        return (configuration, pool, WorkQueue(name: "probe", database: pool))
    }

    private func statusCounts(_ pool: PostgresPool) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for row in try await pool.query("SELECT status, count(*)::int8 AS n FROM messaging_jobs GROUP BY status") {
            counts[try row.decode(String.self, column: "status")] = Int(try row.decode(Int64.self, column: "n"))
        }
        return counts
    }

    @Test func aWorkerKilledMidJobHasItsJobsRunAgainAfterTheLeaseAndCompletedOnce() async throws {
        let (configuration, pool, queue) = try await makeQueue()
        let count = 10
        for index in 0..<count { try await queue.enqueue(["n": .integer(Int64(index))]) }

        let slow = try ChildProcess(executable: "messaging-probe", arguments: [
            "worker", "--database", configuration.connectionString, "--concurrency", "10", "--job-milliseconds", "5000", "--lease-seconds", "2",
        ])
        try await slow.waitForOutput("ready")
        #expect(try await waitUntil(timeout: .seconds(20)) { try await statusCounts(pool)["running"] == count })
        slow.kill(SIGKILL)
        await slow.waitForExit()

        let fast = try ChildProcess(executable: "messaging-probe", arguments: [
            "worker", "--database", configuration.connectionString, "--concurrency", "4", "--job-milliseconds", "10", "--lease-seconds", "2",
        ])
        try await fast.waitForOutput("ready")
        #expect(try await waitUntil { try await statusCounts(pool)["done"] == count })
        fast.kill(SIGTERM)
        await fast.waitForExit()

        let effects = try await pool.query("SELECT count(*)::int8 AS n, count(DISTINCT job_id)::int8 AS jobs FROM probe_job_effects")[0]
        #expect(try effects.decode(Int64.self, column: "n") == Int64(count))
        #expect(try effects.decode(Int64.self, column: "jobs") == Int64(count))
        let attempts = try await pool.query("SELECT min(attempts)::int8 AS low, max(attempts)::int8 AS high FROM messaging_jobs")[0]
        #expect(try attempts.decode(Int64.self, column: "low") == 2, "each job was claimed by the killed worker, then again")
        #expect(try attempts.decode(Int64.self, column: "high") == 2)
        await pool.close()
    }

    @Test func aPoisonJobEndsDeadAfterItsAttemptsWithEveryErrorKept() async throws {
        let (configuration, pool, queue) = try await makeQueue()
        try await queue.enqueue(["poison": true], maxAttempts: 3)
        for index in 0..<20 { try await queue.enqueue(["n": .integer(Int64(index))]) }
        let ran = Mutex(0)
        struct Poisoned: Error, CustomStringConvertible { var description: String { "this job always fails" } }
        let worker = QueueWorker(
            queue: queue, listenerConfiguration: configuration, workerName: "test-worker",
            configuration: QueueWorkerConfiguration(concurrency: 4, lease: .seconds(5), pollInterval: .milliseconds(50), initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(50)),
            logger: quietLogger
        ) { job in
            if job.payload["poison"] == true { throw Poisoned() }
            ran.withLock { $0 += 1 }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await worker.run() }
            let settled = try await waitUntil(timeout: .seconds(20)) { try await statusCounts(pool) == ["done": 20, "dead": 1] }
            #expect(settled)
            group.cancelAll()
        }
        #expect(ran.withLock { $0 } == 20)
        let dead = try await pool.query("SELECT attempts, jsonb_array_length(errors) AS errors, errors::text AS detail FROM messaging_jobs WHERE status = 'dead'")[0]
        #expect(try dead.decode(Int.self, column: "attempts") == 3)
        #expect(try dead.decode(Int.self, column: "errors") == 3)
        #expect(try dead.decode(String.self, column: "detail").contains("this job always fails"))
        await pool.close()
    }

    @Test func higherPriorityRunsFirstAndFutureJobsWait() async throws {
        let (configuration, pool, queue) = try await makeQueue()
        try await queue.enqueue(["name": "later"], runAt: .now.addingTimeInterval(3600))
        try await queue.enqueue(["name": "low"], priority: 0)
        try await queue.enqueue(["name": "urgent"], priority: 10)
        let order = Mutex<[String]>([])
        let worker = QueueWorker(
            queue: queue, listenerConfiguration: configuration, workerName: "test-worker",
            configuration: QueueWorkerConfiguration(concurrency: 1, pollInterval: .milliseconds(50)),
            logger: quietLogger
        ) { job in
            order.withLock { $0.append(job.payload["name"]?.stringValue ?? "?") }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await worker.run() }
            #expect(try await waitUntil(timeout: .seconds(10)) { order.withLock { $0.count } == 2 })
            try await Task.sleep(for: .milliseconds(300))
            group.cancelAll()
        }
        #expect(order.withLock { $0 } == ["urgent", "low"])
        #expect(try await queue.depth() == 1)
        await pool.close()
    }

    /// A queue's `ClaimReads` bring each job's own rows with the claim; a job whose row is gone,
    /// or whose payload names none, is still handed out, with the read's columns null.
    @Test func aClaimBringsEachJobsRowsAndStillHandsOutJobsWithoutThem() async throws {
        let (configuration, pool, plainQueue) = try await makeQueue()
        try await pool.execute("CREATE TABLE probe_subjects (name text PRIMARY KEY, colour text NOT NULL)")
        try await pool.execute("INSERT INTO probe_subjects VALUES ('a', 'red'), ('b', 'blue')")
        let queue = WorkQueue(
            name: plainQueue.name, database: pool,
            claimReads: ClaimReads(
                columns: "s.name, s.colour, claimed.payload->>'subject' AS asked",
                joins: "LEFT JOIN probe_subjects s ON s.name = claimed.payload->>'subject'"
            )
        )
        for subject in ["a", "b", "gone"] { try await queue.enqueue(["subject": .string(subject)]) }
        try await queue.enqueue(["unrelated": true])
        let seen = Mutex<[String: String]>([:])
        let worker = QueueWorker(
            queue: queue, listenerConfiguration: configuration, workerName: "test-worker",
            configuration: QueueWorkerConfiguration(concurrency: 8, pollInterval: .milliseconds(50)), logger: quietLogger
        ) { job in
            let row = try #require(job.context)
            let asked = try row.decode(String?.self, column: "asked") ?? "-"
            let colour = try row.decode(String?.self, column: "colour") ?? "none"
            #expect(try row.decode(String?.self, column: "name") == job.payload["subject"]?.stringValue.flatMap { $0 == "gone" ? nil : $0 })
            seen.withLock { $0[asked] = colour }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await worker.run() }
            let settled = try await waitUntil(timeout: .seconds(30)) { try await statusCounts(pool)["done"] == 4 }
            #expect(settled)
            group.cancelAll()
        }
        #expect(seen.withLock { $0 } == ["a": "red", "b": "blue", "gone": "none", "-": "none"])
        await pool.close()
    }

    /// A handler may skip renewing its lease until `leaseCertainUntil`; that must never be later
    /// than the lease the database gives the job, or another worker could claim it meanwhile.
    @Test func theLeaseAWorkerCountsOnEndsNoLaterThanTheOneInTheDatabase() async throws {
        let (configuration, pool, queue) = try await makeQueue()
        try await queue.enqueue(["n": 1])
        let lease = Duration.seconds(30)
        let claimed = Mutex<(job: Job, at: ContinuousClock.Instant, databaseLeaseLeft: Double)?>(nil)
        let worker = QueueWorker(
            queue: queue, listenerConfiguration: configuration, workerName: "test-worker",
            configuration: QueueWorkerConfiguration(concurrency: 1, lease: lease, pollInterval: .milliseconds(50)), logger: quietLogger
        ) { job in
            // What is left of the database's lease, read before `at`: no more than that is left at `at`.
            let left = try await pool.query("SELECT extract(epoch FROM lease_until - clock_timestamp())::float8 AS s FROM messaging_jobs WHERE id = \(job.id)")
                .first?.decode(Double.self, column: "s") ?? 0
            let at = ContinuousClock.now
            claimed.withLock { $0 = (job, at, left) }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await worker.run() }
            let ran = try await waitUntil(timeout: .seconds(30)) { claimed.withLock { $0 != nil } }
            #expect(ran)
            group.cancelAll()
        }
        let (job, at, databaseLeft) = try #require(claimed.withLock { $0 })
        let counted = job.leaseCertainUntil - at
        #expect(counted <= .seconds(databaseLeft), "the worker counts on \(counted) of lease, the database holds \(databaseLeft) s")
        #expect(counted > lease - .seconds(5), "the claim's own lease is counted on, less only the time since it was sent: \(counted)")
        await pool.close()
    }

    /// Jobs written as a CTE of a larger statement: only when its condition holds, once per key.
    @Test func jobsWrittenWithAnotherChangeAreAddedOnlyWithItAndOncePerKey() async throws {
        let (_, pool, queue) = try await makeQueue()
        func write(_ effect: Bool, _ jobs: [NewJob]) async throws {
            try await pool.withConnection { connection in
                try await connection.query("""
                    WITH effect AS (INSERT INTO probe_job_effects (job_id, worker) SELECT 0, 'writer' WHERE \(effect) RETURNING id),
                    added AS (\(queue.insertion(jobs, onlyIf: "EXISTS (SELECT 1 FROM effect)")))
                    SELECT \(queue.wakingWorkers(after: "added", on: connection)) AS woken
                    """)
            }
        }
        try await write(false, [NewJob(["n": 1], dedupeKey: "k/1")])
        #expect(try await queue.depth() == 0, "no effect, no job")
        try await write(true, [NewJob(["n": 1], priority: 1, dedupeKey: "k/1"), NewJob(["n": 2], maxAttempts: 3)])
        try await write(true, [NewJob(["n": 1], dedupeKey: "k/1")])
        try await write(true, [])
        let rows = try await pool.query("SELECT payload->>'n' AS n, priority, max_attempts FROM messaging_jobs ORDER BY id")
        #expect(try rows.map { "\(try $0.decode(String.self, column: "n"))/\(try $0.decode(Int.self, column: "priority"))/\(try $0.decode(Int.self, column: "max_attempts"))" } == ["1/1/5", "2/0/3"])
        await pool.close()
    }

    @Test func enqueueingWithTheSameDedupeKeyMakesOneJob() async throws {
        let (_, pool, queue) = try await makeQueue()
        #expect(try await queue.enqueue(["a": 1], dedupeKey: "case-1/check") != nil)
        #expect(try await queue.enqueue(["a": 1], dedupeKey: "case-1/check") == nil)
        #expect(try await queue.depth() == 1)
        await pool.close()
    }
    /// A job enqueued through the pool of a process that runs a worker of its queue wakes that
    /// worker directly; a job from another process (another pool) is announced by NOTIFY.
    @Test func aJobWakesItsOwnProcesssWorkerWithoutANotifyAndOthersByNotify() async throws {
        let (configuration, pool, queue) = try await makeQueue()
        let heard = Mutex(0)
        let listener = PostgresListener(configuration: configuration, channels: [WorkQueue.notifyChannel], logger: quietLogger)
        let listening = Task {
            for try await note in listener.notifications() where note.kind == .notification { heard.withLock { $0 += 1 } }
        }
        let ran = Mutex(0)
        let worker = QueueWorker(
            queue: queue, listenerConfiguration: configuration, workerName: "test-worker",
            configuration: QueueWorkerConfiguration(concurrency: 2, pollInterval: .seconds(30)),
            logger: quietLogger
        ) { _ in ran.withLock { $0 += 1 } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await worker.run() }
            try await Task.sleep(for: .milliseconds(300))  // its first claim found nothing; it sleeps
            try await queue.enqueue(["from": "this process"])
            #expect(try await waitUntil(timeout: .seconds(3)) { ran.withLock { $0 } == 1 }, "woken by its own pool's commit")
            let otherProcess = PostgresPool(configuration: configuration, maxConnections: 2, logger: quietLogger)
            try await WorkQueue(name: queue.name, database: otherProcess).enqueue(["from": "another process"])
            #expect(try await waitUntil(timeout: .seconds(3)) { ran.withLock { $0 } == 2 }, "woken by the other process's NOTIFY")
            await otherProcess.close()
            group.cancelAll()
        }
        #expect(heard.withLock { $0 } == 1)
        await listener.close()
        listening.cancel()
        await pool.close()
    }
}
