import ArgumentParser
import JSONCoding
import LineProtocol
import Logging
import Messaging
import Postgres
import ServiceLifecycle
import TestSupport
import Synchronization
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Processes the messaging tests start and kill: a receiver, a relay and a queue worker, each
/// running until SIGTERM (or a SIGKILL from the test).
@main
struct MessagingProbe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "messaging-probe",
        abstract: "Test peer for reliable messaging (started by Tests/MessagingTests).",
        subcommands: [Receiver.self, Relay.self, Worker.self]
    )
}

func probeLogger() -> Logger {
    var logger = Logger(label: "probe") { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = .warning
    return logger
}

func announce(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func runUntilTerminated(_ services: [any Service], logger: Logger) async throws {
    let group = ServiceGroup(configuration: ServiceGroupConfiguration(
        services: services.map { .init(service: $0) },
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger
    ))
    try await group.run()
}

struct Receiver: AsyncParsableCommand {
    @Option var database: String
    @Option var port: Int = 0
    @Option(help: "Kill this process (SIGKILL) right after the Nth effect commits, before answering.")
    var crashAfterCommit: Int?

    func run() async throws {
        let logger = probeLogger()
        let pool = PostgresPool(configuration: PostgresConfiguration(connectionString: database), maxConnections: 8, logger: logger)
        let crashAt = crashAfterCommit
        let committed = CommitCounter()
        let receiver = ProbeReceiver(database: pool) { _ in
            let count = committed.increment()
            if let crashAt, count == crashAt { raise(SIGKILL) }
        }
        try await receiver.prepare()
        let server = RPCServer(configuration: RPCServerConfiguration(serviceName: "receiver", port: port), methods: receiver.methods(), logger: logger)
        let address = try await server.start()
        announce("ready port=\(address.port!)")
        try await runUntilTerminated([ServerService(server: server)], logger: logger)
    }
}

struct Relay: AsyncParsableCommand {
    @Option var database: String
    @Option(help: "NAME=host:port of the destination service.")
    var destination: String
    @Option var leaseSeconds: Int = 30

    func run() async throws {
        let logger = probeLogger()
        let parts = destination.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, let target = RPCTarget(parts[1]) else { throw ValidationError("--destination NAME=host:port") }
        let configuration = PostgresConfiguration(connectionString: database)
        let pool = PostgresPool(configuration: configuration, maxConnections: 4, logger: logger)
        let client = RPCClient(configuration: RPCClientConfiguration(serviceName: parts[0], targets: [target], callerName: "probe-relay"), logger: logger)
        var relayConfiguration = OutboxRelayConfiguration()
        relayConfiguration.lease = .seconds(leaseSeconds)
        relayConfiguration.initialBackoff = .milliseconds(50)
        relayConfiguration.maxBackoff = .milliseconds(500)
        relayConfiguration.maxAttempts = 1000
        relayConfiguration.pollInterval = .milliseconds(200)
        let relay = OutboxRelay(database: pool, listenerConfiguration: configuration, configuration: relayConfiguration, logger: logger) { name in
            name == parts[0] ? client : nil
        }
        announce("ready")
        try await runUntilTerminated([relay], logger: logger)
    }
}

struct Worker: AsyncParsableCommand {
    @Option var database: String
    @Option var queue: String = "probe"
    @Option var concurrency: Int = 4
    @Option var jobMilliseconds: Int = 0
    @Option var leaseSeconds: Int = 30

    func run() async throws {
        let logger = probeLogger()
        let configuration = PostgresConfiguration(connectionString: database)
        let pool = PostgresPool(configuration: configuration, maxConnections: concurrency + 2, logger: logger)
        let workQueue = WorkQueue(name: queue, database: pool)
        let pause = Duration.milliseconds(jobMilliseconds)
        let worker = QueueWorker(
            queue: workQueue,
            listenerConfiguration: configuration,
            workerName: "probe-\(getpid())",
            configuration: QueueWorkerConfiguration(concurrency: concurrency, lease: .seconds(leaseSeconds), pollInterval: .milliseconds(200)),
            logger: logger
        ) { job in
            if pause > .zero { try await Task.sleep(for: pause) }
            try await pool.withTransaction { connection in
                try await connection.execute("INSERT INTO probe_job_effects (job_id, worker) VALUES (\(job.id), \(job.worker))")
                try await workQueue.complete(job, on: connection)
            }
        }
        announce("ready")
        try await runUntilTerminated([worker], logger: logger)
    }
}

/// Runs an RPC server until graceful shutdown.
struct ServerService: Service {
    let server: RPCServer
    func run() async throws {
        try? await gracefulShutdown()
        await server.shutdown(gracePeriod: .seconds(5))
    }
}

final class CommitCounter: Sendable {
    private let value = Atomic<Int>(0)
    func increment() -> Int { value.wrappingAdd(1, ordering: .relaxed).newValue }
}
