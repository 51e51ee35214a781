import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What operators ask of a service's messaging tables: backlog, lag, dead letters, replays.
/// Used by the `onestop-ops` command line.
public struct MessagingOperations: Sendable {
    public struct Backlog: Sendable, Codable {
        public var pending: Int64
        public var oldestPendingSeconds: Double?
        public var dead: Int64
        public var deliveredLastFiveMinutes: Int64
        /// Commit-to-acknowledged delay of messages delivered in the last five minutes.
        public var lagP50Milliseconds: Double?
        public var lagP99Milliseconds: Double?
        public var jobs: [String: JobCounts]
    }

    public struct JobCounts: Sendable, Codable {
        public var ready: Int64
        public var running: Int64
        public var dead: Int64
    }

    public struct DeadLetter: Sendable, Codable {
        public var id: Int64
        public var destination: String
        public var method: String
        public var aggregateKey: String
        public var attempts: Int
        public var lastError: String?
        public var createdAt: Date
    }

    public struct DeadJob: Sendable, Codable {
        public var id: Int64
        public var queue: String
        public var attempts: Int
        public var errors: String
        public var finishedAt: Date?
    }

    private let database: PostgresPool

    public init(database: PostgresPool) {
        self.database = database
    }

    public func backlog() async throws -> Backlog {
        let outbox = try await database.query("""
            SELECT
              count(*) FILTER (WHERE status = 'pending')::int8 AS pending,
              extract(epoch FROM now() - min(created_at) FILTER (WHERE status = 'pending'))::float8 AS oldest,
              count(*) FILTER (WHERE status = 'dead')::int8 AS dead,
              count(*) FILTER (WHERE status = 'delivered' AND delivered_at > now() - interval '5 minutes')::int8 AS recent,
              (percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM delivered_at - created_at))
                 FILTER (WHERE status = 'delivered' AND delivered_at > now() - interval '5 minutes') * 1000)::float8 AS p50,
              (percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM delivered_at - created_at))
                 FILTER (WHERE status = 'delivered' AND delivered_at > now() - interval '5 minutes') * 1000)::float8 AS p99
            FROM messaging_outbox
            """)[0]
        var jobs: [String: JobCounts] = [:]
        for row in try await database.query("""
            SELECT queue,
              count(*) FILTER (WHERE status = 'ready')::int8 AS ready,
              count(*) FILTER (WHERE status = 'running')::int8 AS running,
              count(*) FILTER (WHERE status = 'dead')::int8 AS dead
            FROM messaging_jobs WHERE status <> 'done' GROUP BY queue ORDER BY queue
            """) {
            jobs[try row.decode(String.self, column: "queue")] = JobCounts(
                ready: try row.decode(Int64.self, column: "ready"),
                running: try row.decode(Int64.self, column: "running"),
                dead: try row.decode(Int64.self, column: "dead")
            )
        }
        return Backlog(
            pending: try outbox.decode(Int64.self, column: "pending"),
            oldestPendingSeconds: try outbox.decode(Double?.self, column: "oldest"),
            dead: try outbox.decode(Int64.self, column: "dead"),
            deliveredLastFiveMinutes: try outbox.decode(Int64.self, column: "recent"),
            lagP50Milliseconds: try outbox.decode(Double?.self, column: "p50"),
            lagP99Milliseconds: try outbox.decode(Double?.self, column: "p99"),
            jobs: jobs
        )
    }

    public func deadLetters(limit: Int = 100) async throws -> [DeadLetter] {
        try await database.query("""
            SELECT id, destination, method, aggregate_key, attempts, last_error, created_at
            FROM messaging_outbox WHERE status = 'dead' ORDER BY id LIMIT \(limit)
            """).map { row in
            DeadLetter(
                id: try row.decode(Int64.self, column: "id"),
                destination: try row.decode(String.self, column: "destination"),
                method: try row.decode(String.self, column: "method"),
                aggregateKey: try row.decode(String.self, column: "aggregate_key"),
                attempts: try row.decode(Int.self, column: "attempts"),
                lastError: try row.decode(String?.self, column: "last_error"),
                createdAt: try row.decode(Date.self, column: "created_at")
            )
        }
    }

    /// Puts dead letters back in the queue (all of them when `ids` is nil) with a fresh retry
    /// budget; returns how many. The relays are woken at commit.
    public func replayDeadLetters(ids: [Int64]?) async throws -> Int {
        try await database.withTransaction { connection in
            let filter: SQL = ids.map { "AND id = ANY(\($0))" } ?? ""
            let replayed = try await connection.execute("""
                UPDATE messaging_outbox
                SET status = 'pending', attempts = 0, next_attempt_at = now(), claimed_until = NULL
                WHERE status = 'dead'
                """ + filter)
            try await connection.query("SELECT pg_notify('messaging_outbox', '')")
            return replayed
        }
    }

    public func deadJobs(limit: Int = 100) async throws -> [DeadJob] {
        try await database.query("""
            SELECT id, queue, attempts, errors::text AS errors, finished_at
            FROM messaging_jobs WHERE status = 'dead' ORDER BY id LIMIT \(limit)
            """).map { row in
            DeadJob(
                id: try row.decode(Int64.self, column: "id"),
                queue: try row.decode(String.self, column: "queue"),
                attempts: try row.decode(Int.self, column: "attempts"),
                errors: try row.decode(String.self, column: "errors"),
                finishedAt: try row.decode(Date?.self, column: "finished_at")
            )
        }
    }

    /// Makes dead jobs ready again with a fresh attempt budget (their error history is kept).
    public func replayDeadJobs(ids: [Int64]?) async throws -> Int {
        try await database.withTransaction { connection in
            let filter: SQL = ids.map { "AND id = ANY(\($0))" } ?? ""
            let replayed = try await connection.execute("""
                UPDATE messaging_jobs
                SET status = 'ready', attempts = 0, run_at = now(), lease_until = NULL, worker = NULL, finished_at = NULL
                WHERE status = 'dead'
                """ + filter)
            try await connection.query("SELECT pg_notify('messaging_jobs', queue) FROM (SELECT DISTINCT queue FROM messaging_jobs WHERE status = 'ready') q")
            return replayed
        }
    }
}
