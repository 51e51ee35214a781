import JSONCoding
import LineProtocol
import Logging
import Messaging
import Postgres
import TestSupport

#if canImport(Glibc)
import Glibc
#endif
import Foundation

let quietLogger: Logger = {
    var logger = Logger(label: "messaging-test") { _ in SwiftLogNoOpLogHandler() }
    logger.logLevel = .critical
    return logger
}()

/// A sender database with the messaging tables, and a receiver database with probe effects.
struct MessagingFixture {
    let senderConfiguration: PostgresConfiguration
    let sender: PostgresPool
    let receiverConfiguration: PostgresConfiguration
    let receiverPool: PostgresPool
    let receiver: ProbeReceiver

    static func make() async throws -> MessagingFixture {
        let cluster = try await PostgresCluster.shared()
        let senderConfiguration = try await cluster.createDatabase(prefix: "sender")
        let receiverConfiguration = try await cluster.createDatabase(prefix: "receiver")
        let sender = PostgresPool(configuration: senderConfiguration, maxConnections: 8, logger: quietLogger)
        try await MessagingSchema.migrator(logger: quietLogger).apply(on: sender)
        let receiverPool = PostgresPool(configuration: receiverConfiguration, maxConnections: 8, logger: quietLogger)
        let receiver = ProbeReceiver(database: receiverPool)
        try await receiver.prepare()
        return MessagingFixture(
            senderConfiguration: senderConfiguration, sender: sender,
            receiverConfiguration: receiverConfiguration, receiverPool: receiverPool, receiver: receiver
        )
    }

    /// Enqueues `count` messages over `keys` keys, 50 per transaction; sequence numbers grow per
    /// key. `through` another pool than the relays' stands for another process writing.
    func enqueue(_ count: Int, keys: Int, destination: String = "receiver", through pool: PostgresPool? = nil) async throws {
        var index = 0
        while index < count {
            let upper = min(count, index + 50)
            let range = index..<upper
            try await (pool ?? sender).withTransaction { connection in
                for i in range {
                    try await Outbox.enqueue(
                        ProbeApply.self, ProbeApply.Params(key: "k\(i % keys)", sequence: i / keys),
                        to: destination, aggregateKey: "k\(i % keys)", on: connection
                    )
                }
            }
            index = upper
        }
    }

    func startReceiver(port: Int = 0) async throws -> RPCServer {
        let server = RPCServer(configuration: RPCServerConfiguration(serviceName: "receiver", port: port), methods: receiver.methods(delay: receiverDelay), logger: quietLogger)
        try await server.start()
        return server
    }

    var receiverDelay: Duration { .milliseconds(2) }

    func relay(
        to port: Int, batchSize: Int = 64, lease: Duration = .seconds(30), maxAttempts: Int = 1000, sealing: (any OutboxSealing)? = nil,
        pollInterval: Duration = .milliseconds(100), wakesOnNotify: Bool = true
    ) -> OutboxRelay {
        let client = RPCClient(
            configuration: RPCClientConfiguration(
                serviceName: "receiver", targets: [RPCTarget(host: "127.0.0.1", port: port)], callerName: "test",
                defaultTimeout: .seconds(5), initialBackoff: .milliseconds(20), maxBackoff: .milliseconds(200), maxRetries: 0
            ),
            logger: quietLogger
        )
        var configuration = OutboxRelayConfiguration()
        configuration.batchSize = batchSize
        configuration.lease = lease
        configuration.pollInterval = pollInterval
        configuration.wakesOnNotify = wakesOnNotify
        configuration.initialBackoff = .milliseconds(50)
        configuration.maxBackoff = .milliseconds(300)
        configuration.maxAttempts = maxAttempts
        configuration.deliveryTimeout = .seconds(2)
        return OutboxRelay(database: sender, listenerConfiguration: senderConfiguration, configuration: configuration, sealing: sealing, logger: quietLogger) { name in
            name == "receiver" ? client : nil
        }
    }

    func outboxCounts() async throws -> (pending: Int, delivered: Int, dead: Int) {
        let row = try await sender.query("""
            SELECT count(*) FILTER (WHERE status = 'pending')::int8 AS pending,
                   count(*) FILTER (WHERE status = 'delivered')::int8 AS delivered,
                   count(*) FILTER (WHERE status = 'dead')::int8 AS dead
            FROM messaging_outbox
            """)[0]
        return (Int(try row.decode(Int64.self, column: "pending")), Int(try row.decode(Int64.self, column: "delivered")), Int(try row.decode(Int64.self, column: "dead")))
    }

    /// Every message applied exactly once, and in order within each key.
    func expectExactlyOnceInOrder(_ count: Int, keys: Int) async throws -> [String] {
        var problems: [String] = []
        let effects = try await receiver.effects()
        if effects.count != count { problems.append("\(effects.count) effects for \(count) messages") }
        let distinct = Set(effects.compactMap(\.messageID))
        if distinct.count != count { problems.append("\(distinct.count) distinct message ids for \(count) messages") }
        var lastSequence: [String: Int] = [:]
        for effect in effects {
            if let last = lastSequence[effect.key], effect.sequence <= last {
                problems.append("key \(effect.key): sequence \(effect.sequence) applied after \(last)")
            }
            lastSequence[effect.key] = effect.sequence
        }
        if lastSequence.count != keys { problems.append("\(lastSequence.count) keys seen for \(keys)") }
        let outbox = try await outboxCounts()
        if outbox.delivered != count { problems.append("outbox: \(outbox.delivered) delivered of \(count) (\(outbox.pending) pending, \(outbox.dead) dead)") }
        if receiver.concurrentSameKey != 0 { problems.append("\(receiver.concurrentSameKey) times two messages of one key were in flight together") }
        return problems
    }

    func close() async {
        await sender.close()
        await receiverPool.close()
    }
}

/// Polls `condition` until it holds or `timeout` passes.
func waitUntil(timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}

/// Runs a relay in a child task for the duration of `body`.
func withRelays<T: Sendable>(_ relays: [OutboxRelay], _ body: () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for relay in relays {
            group.addTask { try await relay.run() }
        }
        defer { group.cancelAll() }
        return try await body()
    }
}
