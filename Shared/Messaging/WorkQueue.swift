import JSONCoding
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A claimed job.
public struct Job: Sendable {
    public let id: Int64
    public let queue: String
    public let payload: JSON
    public let priority: Int
    /// Including this one.
    public let attempt: Int
    public let maxAttempts: Int
    /// The worker holding the lease.
    public let worker: String
    /// What the queue's `ClaimReads` read beside the job in the claim's statement (nil when the
    /// queue reads nothing beside its jobs).
    public let context: PostgresRow?
    /// Until when, by this process's clock, the lease taken by the claim is this worker's for
    /// certain: the claim set it to the database's `now()` plus the lease, and that `now()` came
    /// after this instant, when the claim was sent. Heartbeats may hold it longer.
    public let leaseCertainUntil: ContinuousClock.Instant
}

/// A job to add to a queue; see `WorkQueue.insertion(_:onlyIf:)`.
public struct NewJob: Sendable {
    public var payload: JSON
    public var priority: Int
    public var runAt: Date?
    public var maxAttempts: Int
    /// With a key already in the table, the job is not added.
    public var dedupeKey: String?

    public init(_ payload: JSON, priority: Int = 0, runAt: Date? = nil, maxAttempts: Int = 5, dedupeKey: String? = nil) {
        self.payload = payload
        self.priority = priority
        self.runAt = runAt
        self.maxAttempts = maxAttempts
        self.dedupeKey = dedupeKey
    }
}

/// Rows a queue's handler reads first thing, read instead by the claim's own statement: one
/// round trip and one snapshot for a whole batch of jobs, instead of one more of each per job.
///
/// `joins` join onto `claimed`, the jobs just claimed (`id`, `payload`, `priority`, `attempts`,
/// `max_attempts`), and `columns` name what the handler gets in `Job.context`. Join with
/// `LEFT JOIN`: an inner join would claim a job whose rows are gone and never hand it out (it
/// would sit out its lease, again and again, until dead). The job's own columns come back as
/// `job_id`, `job_payload` and so on, so the reads may use any other names.
public struct ClaimReads: Sendable {
    public var columns: SQL
    public var joins: SQL

    public init(columns: SQL, joins: SQL) {
        self.columns = columns
        self.joins = joins
    }
}

/// A job whose lease passed to another worker: its result must not be recorded.
public struct JobLeaseLost: Error, CustomStringConvertible {
    public let jobID: Int64
    public init(jobID: Int64) { self.jobID = jobID }
    public var description: String { "job \(jobID) was claimed by another worker after this one's lease ran out" }
}

/// A named queue of work inside one service, in its `messaging_jobs` table. Workers claim jobs
/// with `FOR UPDATE SKIP LOCKED` under a lease, hold no transaction while they work, and renew
/// the lease by heartbeat; a dead worker's jobs are claimed again when their lease runs out.
public struct WorkQueue: Sendable {
    public static let notifyChannel = "messaging_jobs"

    public let name: String
    public let database: PostgresPool
    /// Read beside every claimed job (nil: nothing).
    public let claimReads: ClaimReads?

    /// The `CommitSignals` channel of this queue's workers in this process.
    var localChannel: String { "\(Self.notifyChannel):\(name)" }

    public init(name: String, database: PostgresPool, claimReads: ClaimReads? = nil) {
        self.name = name
        self.database = database
        self.claimReads = claimReads
    }

    /// Adds a job inside the caller's transaction. With a `dedupeKey`, enqueueing again adds
    /// nothing and returns nil.
    @discardableResult
    public func enqueue(
        _ payload: JSON,
        priority: Int = 0,
        runAt: Date? = nil,
        maxAttempts: Int = 5,
        dedupeKey: String? = nil,
        on connection: PostgresConnection
    ) async throws -> Int64? {
        let job = NewJob(payload, priority: priority, runAt: runAt, maxAttempts: maxAttempts, dedupeKey: dedupeKey)
        let rows = try await connection.query("""
            WITH added AS (\(insertion([job])))
            SELECT id, \(wakingWorkers(after: "added", on: connection)) AS woken FROM added
            """)
        return try rows.first?.decode(Int64.self, column: "id")
    }

    /// The `INSERT … RETURNING id` that adds `jobs` to this queue, for a caller that writes them
    /// as a data-modifying CTE of a larger statement (one round trip and one commit for a change
    /// and its jobs). They are added only when `condition` (SQL, e.g. `EXISTS (SELECT 1 FROM
    /// done)`) holds. Put `wakingWorkers(after:on:)`, naming the CTE, in the statement's select list.
    public func insertion(_ jobs: [NewJob], onlyIf condition: SQL = "true") -> SQL {
        guard !jobs.isEmpty else {
            return "INSERT INTO messaging_jobs (queue, payload) SELECT \(name), '{}'::jsonb WHERE false RETURNING id"
        }
        var rows: SQL = ""
        for (index, job) in jobs.enumerated() {
            if index > 0 { rows += ", " }
            rows += """
                (\(PostgresJSONB(rawJSON: job.payload.jsonString)), \(job.priority)::int4, \(job.runAt)::timestamptz,
                 \(job.maxAttempts)::int4, \(job.dedupeKey)::text)
                """
        }
        return """
            INSERT INTO messaging_jobs (queue, payload, priority, run_at, max_attempts, dedupe_key)
            SELECT \(name), j.payload, j.priority, coalesce(j.run_at, now()), j.max_attempts, j.dedupe_key
            FROM (VALUES \(rows)) AS j (payload, priority, run_at, max_attempts, dedupe_key)
            WHERE \(condition)
            ON CONFLICT (dedupe_key) DO NOTHING
            RETURNING id
            """
    }

    /// A select-list expression after the CTE `added` (an `insertion`): this queue's workers wake
    /// when the transaction commits, if it added a job. A worker of this queue in the writer's
    /// own process is woken directly; NOTIFY, which makes the commit wait for every other
    /// notifying commit in the cluster, only reaches workers elsewhere when this process has none.
    public func wakingWorkers(after added: String, on connection: PostgresConnection) -> SQL {
        if connection.wakeAfterCommit(localChannel) { return "NULL" }
        return "(SELECT pg_notify('\(unsafeRaw: Self.notifyChannel)', \(name)) FROM (SELECT 1 FROM \(unsafeRaw: added) LIMIT 1) one)"
    }

    /// Adds a job in its own transaction.
    @discardableResult
    public func enqueue(_ payload: JSON, priority: Int = 0, runAt: Date? = nil, maxAttempts: Int = 5, dedupeKey: String? = nil) async throws -> Int64? {
        try await database.withTransaction { connection in
            try await enqueue(payload, priority: priority, runAt: runAt, maxAttempts: maxAttempts, dedupeKey: dedupeKey, on: connection)
        }
    }

    /// Claims up to `limit` runnable jobs (ready and due, or running with an expired lease).
    /// Jobs that already used all their attempts by losing leases (a worker dying on them each
    /// time) go dead here instead of running again.
    ///
    /// `completing` are jobs of this worker whose handlers returned: they are marked done in the
    /// same statement (one round trip and one commit for a whole batch of finished jobs instead
    /// of one each), and are never claimed back by it.
    func claim(worker: String, limit: Int, lease: Duration, completing finished: [Int64] = []) async throws -> [Job] {
        var reads: (columns: SQL, joins: SQL) = ("", "")
        if let claimReads { reads = (", " + claimReads.columns, claimReads.joins) }
        let sent = ContinuousClock.now
        let rows = try await database.query("""
            WITH finished AS (
                UPDATE messaging_jobs SET status = 'done', finished_at = now(), lease_until = NULL
                WHERE id = ANY(\(finished)) AND worker = \(worker) AND status = 'running'
            ),
            claimed AS (
                UPDATE messaging_jobs j
                SET status = 'running', attempts = j.attempts + 1, worker = \(worker),
                    lease_until = now() + make_interval(secs => \(Double(lease.milliseconds) / 1000))
                FROM (
                    SELECT id FROM messaging_jobs
                    WHERE queue = \(name)
                      AND ((status = 'ready' AND run_at <= now()) OR (status = 'running' AND lease_until < now()))
                      AND id <> ALL(\(finished))
                    ORDER BY priority DESC, run_at, id
                    LIMIT \(limit)
                    FOR UPDATE SKIP LOCKED
                ) claimable
                WHERE j.id = claimable.id
                RETURNING j.id, j.payload, j.priority, j.attempts, j.max_attempts
            )
            SELECT claimed.id AS job_id, claimed.payload AS job_payload, claimed.priority AS job_priority,
                   claimed.attempts AS job_attempts, claimed.max_attempts AS job_max_attempts\(reads.columns)
            FROM claimed \(reads.joins)
            """)
        var jobs: [Job] = []
        for row in rows {
            let job = Job(
                id: try row.decode(Int64.self, column: "job_id"),
                queue: name,
                payload: (try? JSON.parse(row.decode(PostgresJSONB.self, column: "job_payload").rawJSON)) ?? .null,
                priority: try row.decode(Int.self, column: "job_priority"),
                attempt: try row.decode(Int.self, column: "job_attempts"),
                maxAttempts: try row.decode(Int.self, column: "job_max_attempts"),
                worker: worker,
                context: claimReads == nil ? nil : row,
                leaseCertainUntil: sent + lease
            )
            if job.attempt > job.maxAttempts {
                try await bury(job, error: "its workers stopped (lease expired) on every one of its \(job.maxAttempts) attempts")
            } else {
                jobs.append(job)
            }
        }
        return jobs
    }

    /// Extends the lease; false when the job is no longer this worker's.
    /// Renews the job's lease; false when the job is no longer this worker's (its lease ran out
    /// and it was claimed again). The worker calls it while a job runs; a handler calls it right
    /// before an effect it cannot take back, so that effect happens under a fresh lease or not at all.
    public func heartbeat(_ job: Job, lease: Duration) async throws -> Bool {
        try await database.execute("""
            UPDATE messaging_jobs SET lease_until = now() + make_interval(secs => \(Double(lease.milliseconds) / 1000))
            WHERE id = \(job.id) AND worker = \(job.worker) AND status = 'running'
            """) == 1
    }

    /// Marks the job done inside the caller's transaction, so its effect and its completion
    /// commit together; throws `JobLeaseLost` (rolling the effect back) when another worker
    /// holds it now.
    public func complete(_ job: Job, on connection: PostgresConnection) async throws {
        let updated = try await connection.execute(completion(of: job))
        guard updated == 1 else { throw JobLeaseLost(jobID: job.id) }
    }

    /// The UPDATE that marks the job done while it is still this worker's, for a caller that
    /// completes it as a data-modifying CTE of a larger statement (add `RETURNING id` and make
    /// the job's effects depend on it; no row back means `JobLeaseLost`).
    public func completion(of job: Job) -> SQL {
        """
        UPDATE messaging_jobs SET status = 'done', finished_at = now(), lease_until = NULL
        WHERE id = \(job.id) AND worker = \(job.worker) AND status = 'running'
        """
    }

    /// Marks jobs of `worker` done unless their handlers already did.
    func completeIfRunning(_ ids: [Int64], worker: String) async throws {
        try await database.execute("""
            UPDATE messaging_jobs SET status = 'done', finished_at = now(), lease_until = NULL
            WHERE id = ANY(\(ids)) AND worker = \(worker) AND status = 'running'
            """)
    }

    /// Records a failure: back to ready after `retryIn`, or dead when out of attempts.
    func fail(_ job: Job, error: String, retryIn: Duration) async throws {
        let entry: JSON = ["attempt": .integer(Int64(job.attempt)), "worker": .string(job.worker), "error": .string(error)]
        let entryJSON = PostgresJSONB(rawJSON: JSON.array([entry]).jsonString)
        if job.attempt >= job.maxAttempts {
            try await bury(job, error: error)
            return
        }
        try await database.execute("""
            UPDATE messaging_jobs
            SET status = 'ready', lease_until = NULL, worker = NULL, errors = errors || \(entryJSON),
                run_at = now() + make_interval(secs => \(Double(retryIn.milliseconds) / 1000))
            WHERE id = \(job.id) AND worker = \(job.worker) AND status = 'running'
            """)
    }

    private func bury(_ job: Job, error: String) async throws {
        let entry: JSON = ["attempt": .integer(Int64(job.attempt)), "worker": .string(job.worker), "error": .string(error)]
        try await database.execute("""
            UPDATE messaging_jobs
            SET status = 'dead', lease_until = NULL, finished_at = now(),
                errors = errors || \(PostgresJSONB(rawJSON: JSON.array([entry]).jsonString))
            WHERE id = \(job.id)
            """)
    }

    /// Jobs waiting or running.
    public func depth() async throws -> Int64 {
        let rows = try await database.query("""
            SELECT count(*)::int8 AS n FROM messaging_jobs WHERE queue = \(name) AND status IN ('ready', 'running')
            """)
        return try rows.first?.decode(Int64.self, column: "n") ?? 0
    }
}
