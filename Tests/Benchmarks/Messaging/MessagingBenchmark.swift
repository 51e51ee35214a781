import ArgumentParser
import JSONCoding
import LineProtocol
import Logging
import Messaging
import Postgres
import Synchronization
import TestSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Measures the reliable-messaging layer on this machine against a throwaway Postgres:
/// relay lag at a steady offered rate, the drain rate of a large backlog, and no-op job
/// throughput of the work queue with 1, 2 and 4 workers. Prints a markdown table.
///
///     swift run -c release onestop-bench-messaging
@main
struct MessagingBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "onestop-bench-messaging", abstract: "Benchmark the outbox relay and the work queue.")

    @Option(help: "Messages per second offered in the lag run.") var rate = 500
    @Option(help: "Seconds the lag run lasts.") var seconds = 10
    @Option(help: "Messages queued before the drain run starts.") var backlog = 100_000
    @Option(help: "No-op jobs per work-queue run.") var jobs = 20_000
    @Option(help: "Jobs each worker runs at once.") var workerConcurrency = 8
    @Option(help: "Relay batch size.") var batchSize = 256

    static let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })

    func run() async throws {
        let cluster = try await PostgresCluster.shared()
        var rows: [(String, String, String)] = []

        let lag = try await relayLag(cluster: cluster)
        rows.append(("relay lag at \(rate) msg/s for \(seconds) s (commit → acknowledged)",
                     "p50 \(format(lag.p50)) ms · p99 \(format(lag.p99)) ms · max \(format(lag.max)) ms", "p99 < 50 ms"))
        let drain = try await drainRate(cluster: cluster)
        rows.append(("drain of \(backlog) queued messages (batch \(batchSize))", "\(Int(drain)) msg/s", "≥ 5,000 msg/s"))
        for workers in [1, 2, 4] {
            let throughput = try await queueThroughput(cluster: cluster, workers: workers)
            rows.append(("work queue, no-op jobs, \(workers) worker(s) × \(workerConcurrency) slots", "\(Int(throughput)) jobs/s", workers == 4 ? "≥ 3,000 jobs/s" : ""))
        }
        print("| measurement | result | target |")
        print("| --- | --- | --- |")
        for row in rows { print("| \(row.0) | \(row.1) | \(row.2) |") }
        fflush(nil)
    }

    func format(_ value: Double) -> String { String(format: "%.1f", value) }

    // MARK: Relay lag

    final class CommitTimes: Sendable {
        let times = Mutex<[Int: UInt64]>([:])
    }

    /// A receiver that notes when each message arrives.
    final class Arrivals: Sendable {
        let times = Mutex<[Int: UInt64]>([:])
        let count = Atomic<Int>(0)

        func methods() -> RPCMethodTable {
            var table = RPCMethodTable()
            table.register(name: "bench.receive", idempotent: true) { params, _ in
                let now = DispatchTime.now().uptimeNanoseconds
                if case .integer(let sequence)? = params?["sequence"] {
                    self.times.withLock { $0[Int(sequence)] = now }
                }
                self.count.add(1, ordering: .relaxed)
                return ["ok": true]
            }
            return table
        }
    }

    func receiverAndRelay(_ database: PostgresConfiguration, pool: PostgresPool, arrivals: Arrivals) async throws -> (RPCServer, OutboxRelay, RPCClient) {
        let server = RPCServer(configuration: RPCServerConfiguration(serviceName: "receiver", maxInFlightPerConnection: 1024),
                               methods: arrivals.methods(), logger: Self.logger)
        let port = try await server.start().port!
        let client = RPCClient(configuration: RPCClientConfiguration(
            serviceName: "receiver", targets: [RPCTarget(host: "127.0.0.1", port: port)], callerName: "bench", connectionsPerTarget: 2
        ), logger: Self.logger)
        var configuration = OutboxRelayConfiguration()
        configuration.batchSize = batchSize
        configuration.pollInterval = .milliseconds(500)
        let relay = OutboxRelay(database: pool, listenerConfiguration: database, configuration: configuration, logger: Self.logger) { name in
            name == "receiver" ? client : nil
        }
        return (server, relay, client)
    }

    func prepare(_ cluster: PostgresCluster, prefix: String, connections: Int) async throws -> (PostgresConfiguration, PostgresPool) {
        let database = try await cluster.createDatabase(prefix: prefix)
        let pool = PostgresPool(configuration: database, maxConnections: connections, logger: Self.logger)
        try await MessagingSchema.migrator(logger: Self.logger).apply(on: pool)
        return (database, pool)
    }

    func relayLag(cluster: PostgresCluster) async throws -> (p50: Double, p99: Double, max: Double) {
        let (database, pool) = try await prepare(cluster, prefix: "bench_lag", connections: 8)
        let arrivals = Arrivals()
        let (server, relay, client) = try await receiverAndRelay(database, pool: pool, arrivals: arrivals)
        let total = rate * seconds
        let committed = CommitTimes()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await relay.run() }
            // Open loop: message n is due at start + n/rate, whatever earlier commits cost.
            let start = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { senders in
                for sequence in 0..<total {
                    try await ContinuousClock().sleep(until: start + .nanoseconds(Int64(sequence) * 1_000_000_000 / Int64(rate)))
                    senders.addTask {
                        try await pool.withTransaction { connection in
                            try await Outbox.enqueue(destination: "receiver", method: "bench.receive", params: ["sequence": .integer(Int64(sequence))],
                                                     aggregateKey: "case-\(sequence % 200)", on: connection)
                        }
                        let now = DispatchTime.now().uptimeNanoseconds
                        committed.times.withLock { $0[sequence] = now }
                    }
                }
                try await senders.waitForAll()
            }
            while arrivals.count.load(ordering: .relaxed) < total { try await Task.sleep(for: .milliseconds(20)) }
            group.cancelAll()
        }
        await client.shutdown()
        await server.shutdown()
        await pool.close()
        let sent = committed.times.withLock { $0 }
        let lags = arrivals.times.withLock { times in
            times.compactMap { sequence, arrived in sent[sequence].map { Double(Int64(arrived) - Int64($0)) / 1_000_000 } }.sorted()
        }
        func percentile(_ p: Double) -> Double { lags[min(lags.count - 1, Int(Double(lags.count) * p))] }
        return (percentile(0.5), percentile(0.99), lags.last ?? 0)
    }

    // MARK: Backlog drain

    func drainRate(cluster: PostgresCluster) async throws -> Double {
        let (database, pool) = try await prepare(cluster, prefix: "bench_drain", connections: 8)
        try await pool.execute("""
            INSERT INTO messaging_outbox (message_id, destination, method, params, aggregate_key)
            SELECT gen_random_uuid(), 'receiver', 'bench.receive', jsonb_build_object('sequence', n), 'case-' || (n % 1000)
            FROM generate_series(0, \(backlog - 1)) AS n
            """)
        let arrivals = Arrivals()
        let (server, relay, client) = try await receiverAndRelay(database, pool: pool, arrivals: arrivals)
        let clock = ContinuousClock()
        let start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await relay.run() }
            while true {
                let pending = try await pool.query("SELECT count(*)::int8 AS n FROM messaging_outbox WHERE status <> 'delivered'")[0].decode(Int64.self, column: "n")
                if pending == 0 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            group.cancelAll()
        }
        let elapsed = clock.now - start
        await client.shutdown()
        await server.shutdown()
        await pool.close()
        return Double(backlog) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    // MARK: Work queue

    func queueThroughput(cluster: PostgresCluster, workers: Int) async throws -> Double {
        let (database, pool) = try await prepare(cluster, prefix: "bench_jobs", connections: 4 + workers * workerConcurrency)
        let queue = WorkQueue(name: "bench", database: pool)
        try await pool.execute("""
            INSERT INTO messaging_jobs (queue, payload) SELECT 'bench', jsonb_build_object('n', n) FROM generate_series(1, \(jobs)) AS n
            """)
        let done = Atomic<Int>(0)
        let clock = ContinuousClock()
        let start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<workers {
                let worker = QueueWorker(
                    queue: queue, listenerConfiguration: database, workerName: "bench-\(index)",
                    configuration: QueueWorkerConfiguration(concurrency: workerConcurrency, pollInterval: .milliseconds(50)),
                    logger: Self.logger
                ) { _ in done.add(1, ordering: .relaxed) }
                group.addTask { try await worker.run() }
            }
            while true {
                let left = try await pool.query("SELECT count(*)::int8 AS n FROM messaging_jobs WHERE status <> 'done'")[0].decode(Int64.self, column: "n")
                if left == 0 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            group.cancelAll()
        }
        let elapsed = clock.now - start
        await pool.close()
        return Double(jobs) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }
}
