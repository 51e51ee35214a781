import ArgumentParser
import Contracts
import LineProtocol
import Logging
import Postgres
import ReviewService
import ServiceKit
import TestSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Review check throughput with 1, 2, 4 and 8 `review worker` processes against an external
/// verifier taking 20 ms, and without any external call. Prints a markdown table.
///
///     swift build -c release --scratch-path .build-review --product review
///     swift run -c release --scratch-path .build-review onestop-bench-review
@main
struct ReviewBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "onestop-bench-review", abstract: "Review worker throughput.")

    @Option(help: "Worker process counts for the external-call runs.")
    var processes: [Int] = [1, 2, 4, 8]
    @Option(help: "Check jobs each worker process runs at once.")
    var concurrency = 1
    @Option(help: "Tasks per worker process in the external-call runs.")
    var tasksPerProcess = 150
    @Option(help: "Milliseconds the external verifier takes.")
    var verifierMilliseconds = 20
    @Option(help: "Tasks in the run without an external call.")
    var localTasks = 8000
    /// With nothing to wait for, one process with 24 checks at once uses the two cores best:
    /// a second process adds its own relay, whose claims walk the messages the first one has
    /// in flight (2 × 16 measured 915–997 tasks/s against 866–1,161 for 1 × 24, 24 Nov).
    @Option(help: "Worker processes in the run without an external call.")
    var localProcesses = 1
    @Option(help: "Concurrency of each process in the run without an external call.")
    var localConcurrency = 24

    struct Row {
        var scenario: String
        var processes: Int
        var concurrency: Int
        var tasks: Int
        var seconds: Double
        /// Transactions committed in the review database per task while the workers ran
        /// (claims, reads, decisions, the relays' rounds, timers).
        var transactionsPerTask: Double
        /// CPU milliseconds per task while the workers ran: the worker processes, and Postgres.
        var workerCPUPerTask: Double
        var postgresCPUPerTask: Double
        var perSecond: Double { Double(tasks) / seconds }
    }

    func run() async throws {
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let verifier = StubHTTPServer(.init(delay: .milliseconds(verifierMilliseconds), body: #"{"outcome":"passed"}"#))
        let verifierPort = try await verifier.start()
        var rows: [Row] = []
        for count in processes {
            let row = try await measure(
                scenario: "external check \(verifierMilliseconds) ms", processes: count, concurrency: concurrency,
                tasks: count * tasksPerProcess, verifierPort: verifierPort, logger: logger
            )
            rows.append(row)
            FileHandle.standardError.write(Data("\(row.scenario), \(count) process(es): \(Int(row.perSecond)) tasks/s\n".utf8))
        }
        let local = try await measure(
            scenario: "no external call", processes: localProcesses, concurrency: localConcurrency,
            tasks: localTasks, verifierPort: nil, logger: logger
        )
        rows.append(local)
        await verifier.stop()

        var table = "| scenario | worker processes | concurrency each | tasks | seconds | checked tasks/s | vs 1 process | transactions per task | CPU ms per task: workers | Postgres |\n"
        table += "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
        let base = rows.first { $0.processes == 1 && $0.scenario.hasPrefix("external") }?.perSecond
        for row in rows {
            let ratio = row.scenario.hasPrefix("external") ? base.map { String(format: "%.2f×", row.perSecond / $0) } ?? "" : ""
            table += "| \(row.scenario) | \(row.processes) | \(row.concurrency) | \(row.tasks) | \(String(format: "%.2f", row.seconds)) | \(Int(row.perSecond.rounded())) | \(ratio) | \(String(format: "%.1f", row.transactionsPerTask)) | \(String(format: "%.2f", row.workerCPUPerTask)) | \(String(format: "%.2f", row.postgresCPUPerTask)) |\n"
        }
        FileHandle.standardOutput.write(Data(table.utf8))
    }

    /// Submits `tasks` auto-approvable tasks with their jobs held back, starts the worker
    /// processes, releases the jobs at once and times until every task is decided.
    func measure(scenario: String, processes: Int, concurrency: Int, tasks: Int, verifierPort: Int?, logger: Logger) async throws -> Row {
        let database = try await PostgresCluster.shared().createDatabase(prefix: "reviewbench")
        let peers = BenchPeers()
        let targets = try await peers.start()
        var configuration = ServiceConfiguration.forTesting(
            service: .review, databaseURL: database.connectionString, peers: [.intake: [targets.intake], .routing: [targets.routing]]
        )
        configuration.databasePoolSize = 8
        let settings = ReviewSettings(workerConcurrency: 0)
        let app = ServiceApp(definition: ReviewService.definition(settings: settings), configuration: configuration, logger: logger)
        let pool = PostgresPool(configuration: database, maxConnections: 2, logger: logger)
        let (ready, continuation) = AsyncStream<ServiceAddresses>.makeStream()
        let row: Row = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run { continuation.yield($0) } }
            var iterator = ready.makeAsyncIterator()
            guard let addresses = await iterator.next() else { throw BenchError(description: "the review service did not start") }
            var clientConfiguration = configuration.clientConfiguration(for: .review)
            clientConfiguration.targets = [addresses.rpcTarget]
            let client = RPCClient(configuration: clientConfiguration, logger: logger)

            // Submit everything first; hold the jobs back until the workers are up.
            try await withThrowingTaskGroup(of: Void.self) { submitters in
                for lane in 0..<32 {
                    submitters.addTask {
                        for index in stride(from: lane, to: tasks, by: 32) {
                            _ = try await client.call(ReviewSubmit.self, Self.submission(index), meta: RPCMeta(messageId: UUID().uuidString))
                        }
                    }
                }
                try await submitters.waitForAll()
            }
            // The submissions' dead row versions are cleaned and the statistics fresh before the
            // run, as they are in a system that has been running: otherwise autovacuum starts on
            // them during some runs and not others.
            try await pool.execute("VACUUM ANALYZE")
            // The workers' claims wait behind this lock until every worker is up. (Holding the
            // jobs back by moving their run_at, as before, left two dead versions of every job
            // for autovacuum to clean during the measured run.)
            let (release, released) = AsyncStream<Void>.makeStream()
            let (locked, lockTaken) = AsyncStream<Void>.makeStream()
            group.addTask {
                try await pool.withTransaction { connection in
                    try await connection.execute("LOCK TABLE messaging_jobs IN SHARE MODE")
                    lockTaken.yield()
                    for await _ in release { break }
                }
            }
            for await _ in locked { break }

            var environment: [String: String] = [
                "ONESTOP_DATABASE_URL": database.connectionString,
                "ONESTOP_INTAKE_ADDRESSES": "\(targets.intake)",
                "ONESTOP_ROUTING_ADDRESSES": "\(targets.routing)",
                "ONESTOP_REVIEW_WORKER_CONCURRENCY": "\(concurrency)",
                "ONESTOP_DB_POOL_SIZE": "\(concurrency + 4)",
                "ONESTOP_LOG_FORMAT": "text",
                "ONESTOP_LOG_LEVEL": "info",
            ]
            if let verifierPort {
                environment["ONESTOP_REVIEW_VERIFIER_URL"] = "http://127.0.0.1:\(verifierPort)/verify"
            }
            var workers: [ChildProcess] = []
            for index in 0..<processes {
                environment["ONESTOP_INSTANCE"] = "bench-worker-\(index)"
                workers.append(try ChildProcess(executable: "review", arguments: ["worker"], environment: environment))
            }
            for worker in workers { try await worker.waitForOutput("review check workers started") }
            try await Task.sleep(for: .milliseconds(500))

            let committedBefore = try await committedTransactions(pool)
            let workerCPUBefore = workers.reduce(0) { $0 + (ProcessCPU.seconds($1.pid) ?? 0) }
            let postgresCPUBefore = ProcessCPU.postgresSeconds()
            let started = ContinuousClock.now
            released.yield()
            // Decisions are only ever inserted, so counting them stays cheap while the run
            // leaves thousands of dead job and task row versions behind (counting open jobs or
            // checking tasks cost the database several milliseconds a poll).
            while true {
                let rows = try await pool.query("SELECT count(*)::int8 AS n FROM review_decisions")
                if try rows[0].decode(Int64.self, column: "n") >= tasks { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            let elapsed = ContinuousClock.now - started
            let workerCPU = workers.reduce(0) { $0 + (ProcessCPU.seconds($1.pid) ?? 0) } - workerCPUBefore
            let postgresCPU = ProcessCPU.postgresSeconds() - postgresCPUBefore
            // Backends publish their counts within a second of going idle.
            try await Task.sleep(for: .milliseconds(1500))
            let committed = try await committedTransactions(pool) - committedBefore
            let decided = try await pool.query("SELECT count(*)::int8 AS n FROM review_tasks WHERE state = 'approved_automatically'")
            let approved = try decided[0].decode(Int64.self, column: "n")
            guard approved == tasks else {
                throw BenchError(description: "\(approved) of \(tasks) tasks approved automatically; the checks flagged something")
            }
            for worker in workers { worker.kill(SIGTERM) }
            for worker in workers { await worker.waitForExit(timeout: .seconds(15)) }
            await client.shutdown()
            await app.triggerGracefulShutdown()
            try await group.waitForAll()
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return Row(
                scenario: scenario, processes: processes, concurrency: concurrency, tasks: tasks, seconds: seconds,
                transactionsPerTask: Double(committed) / Double(tasks),
                workerCPUPerTask: 1000 * workerCPU / Double(tasks), postgresCPUPerTask: 1000 * postgresCPU / Double(tasks)
            )
        }
        await pool.close()
        await peers.stop()
        return row
    }

    func committedTransactions(_ pool: PostgresPool) async throws -> Int64 {
        let rows = try await pool.query("SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()")
        return try rows[0].decode(Int64.self, column: "n")
    }

    static func submission(_ index: Int) -> ReviewSubmit.Params {
        let caseId = "bench-\(index)-\(UUID().uuidString.prefix(8))"
        return ReviewSubmit.Params(
            caseId: caseId, trackingNumber: "SQ\(index)", serviceType: "license", serviceName: "Business license",
            applicantType: .individual,
            applicant: .init(name: "Zhang San", idType: "resident_id", idNumber: "11010519491231002X", customerKey: "ck-\(index)"),
            priority: index % 10 == 0 ? .urgent : .regular, confidentiality: .normal, channel: .online,
            description: "benchmark case", materials: [MaterialItem(code: "id_card")], requiredMaterials: [MaterialItem(code: "id_card")],
            autoApprovalAllowed: true, department: "market", timeLimitWorkingDays: 5, declaredAmount: 10, acceptedAt: Date()
        )
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
}

/// Intake and routing as the workers meet them: no open cases, progress and dispatches accepted.
final class BenchPeers: Sendable {
    let intake: RPCServer
    let routing: RPCServer

    init() {
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        var intakeMethods = RPCMethodTable()
        intakeMethods.register(IntakeOpenCasesOfCustomer.self) { _, _ in IntakeOpenCasesOfCustomer.Result(cases: []) }
        intakeMethods.register(IntakeRecordProgress.self) { params, _ in IntakeRecordProgress.Result(caseId: params.caseId, status: .inReview) }
        var routingMethods = RPCMethodTable()
        routingMethods.register(RoutingDispatch.self) { params, _ in
            RoutingDispatch.Result(assignmentId: params.caseId, department: params.department, handler: nil, dueDate: "2026-12-01")
        }
        intake = RPCServer(configuration: RPCServerConfiguration(serviceName: "intake"), methods: intakeMethods, logger: logger)
        routing = RPCServer(configuration: RPCServerConfiguration(serviceName: "routing"), methods: routingMethods, logger: logger)
    }

    func start() async throws -> (intake: RPCTarget, routing: RPCTarget) {
        let i = try await intake.start()
        let r = try await routing.start()
        return (RPCTarget(host: "127.0.0.1", port: i.port!), RPCTarget(host: "127.0.0.1", port: r.port!))
    }

    func stop() async {
        await intake.shutdown(gracePeriod: .zero)
        await routing.shutdown(gracePeriod: .zero)
    }
}
