import JSONCoding
import LineProtocol
import Logging
import Metrics
import Postgres
import ServiceLifecycle
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Delivers outbox rows to their destination services with `_meta.messageId`.
///
/// Woken by NOTIFY on commit, with a slow poll as a safety net. Claims by status under a lease
/// with `FOR UPDATE SKIP LOCKED` — never "id > last seen", which skips rows whose sequence value
/// committed late. Only the oldest pending message of each aggregate key is claimable, and not
/// while it is leased, so several relay replicas keep per-key order with at most one message of a
/// key in flight.
public struct OutboxRelay: Service {
    private let database: PostgresPool
    private let listenerConfiguration: PostgresConfiguration
    private let destinations: @Sendable (String) -> RPCClient?
    private let configuration: OutboxRelayConfiguration
    private let logger: Logger
    private let sealing: (any OutboxSealing)?
    private let metrics = RelayMetrics()

    /// - Parameters:
    ///   - sealing: opens params the service sealed on enqueue (nil: it seals none).
    ///   - destinations: the client for a destination service name (nil: unknown).
    public init(
        database: PostgresPool,
        listenerConfiguration: PostgresConfiguration,
        configuration: OutboxRelayConfiguration = OutboxRelayConfiguration(),
        sealing: (any OutboxSealing)? = nil,
        logger: Logger,
        destinations: @escaping @Sendable (String) -> RPCClient?
    ) {
        self.database = database
        self.sealing = sealing
        self.listenerConfiguration = listenerConfiguration
        self.destinations = destinations
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        let wake = WakeSignal()
        // Commits of this process's own messages wake the relay directly, NOTIFY or not.
        let local = database.commitSignals.listen(Outbox.notifyChannel) { wake.signal() }
        defer { local.cancel() }
        let listener = configuration.wakesOnNotify
            ? PostgresListener(configuration: listenerConfiguration, channels: [Outbox.notifyChannel], logger: logger)
            : nil
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                if let listener {
                    group.addTask {
                        do {
                            for try await _ in listener.notifications() { wake.signal() }
                        } catch {
                            logger.debug("outbox listener ended", metadata: ["error": .string("\(error)")])
                        }
                    }
                }
                await loop(wake: wake)
                await listener?.close()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            wake.signal()
        }
    }

    private func loop(wake: WakeSignal) async {
        var lastPurge = ContinuousClock.now
        var lastGauge = ContinuousClock.now - .seconds(10)
        let inFlight = RoundsInFlight()
        // While one batch is being delivered the next is claimed: the database and the deliveries
        // then work at the same time instead of taking turns. Rounds of one relay keep out of each
        // other's way exactly as rounds of two relays do (lease and head-of-key rule), so per-key
        // order and one-in-flight-per-key hold however many overlap.
        await withDiscardingTaskGroup { rounds in
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                let now = ContinuousClock.now
                if now - lastGauge > .seconds(1) {
                    lastGauge = now
                    await updateGauges()
                }
                if now - lastPurge > configuration.purgeInterval {
                    lastPurge = now
                    await purge()
                }
                if inFlight.count >= configuration.batchesInFlight {
                    // A finishing round signals.
                    await wake.wait(upTo: configuration.pollInterval)
                    continue
                }
                let messages: [ClaimedMessage]
                do {
                    messages = try await claim()
                } catch {
                    messages = []
                    logger.warning("outbox relay round failed; retrying", metadata: ["error": .string("\(error)")])
                }
                if !messages.isEmpty {
                    inFlight.add(1)
                    rounds.addTask {
                        do {
                            try await deliverAndRecord(messages)
                        } catch {
                            // The leases run out and the messages are claimed again.
                            logger.warning("recording outbox deliveries failed; they will be delivered again after their lease", metadata: ["error": .string("\(error)")])
                        }
                        inFlight.add(-1)
                        // Delivered heads make their keys' next messages claimable.
                        wake.signal()
                    }
                }
                if messages.count >= configuration.batchSize { continue }
                await wake.wait(upTo: configuration.pollInterval)
            }
            // Rounds in flight finish and record their outcomes before the relay stops.
        }
    }

    /// Claims a batch, delivers it, records each outcome. Returns how many were claimed.
    @discardableResult
    public func relayOnce() async throws -> Int {
        let messages = try await claim()
        guard !messages.isEmpty else { return 0 }
        try await deliverAndRecord(messages)
        return messages.count
    }

    private func deliverAndRecord(_ messages: [ClaimedMessage]) async throws {
        let outcomes = await withTaskGroup(of: (ClaimedMessage, DeliveryOutcome).self) { group in
            for message in messages {
                group.addTask { (message, await deliver(message)) }
            }
            var outcomes: [(ClaimedMessage, DeliveryOutcome)] = []
            outcomes.reserveCapacity(messages.count)
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        try await record(outcomes)
    }

    // MARK: Steps

    struct ClaimedMessage: Sendable {
        let id: Int64
        let messageID: UUID
        let destination: String
        let method: String
        let params: JSON
        let attempts: Int
    }

    enum DeliveryOutcome: Sendable {
        case delivered
        case retry(String)
        case dead(String)
    }

    private func claim() async throws -> [ClaimedMessage] {
        // The claim's SQL is messaging_outbox_claim (Migrations/0002): a function only so that it
        // can pin its plan to the ordered walk of the pending index in the same round trip.
        let rows = try await database.query("""
            SELECT id, message_id, destination, method, params, attempts
            FROM messaging_outbox_claim(\(configuration.batchSize)::integer, \(Double(configuration.lease.milliseconds) / 1000)::float8)
            """)
        return try rows.map { row in
            let params = try row.decode(PostgresJSONB.self, column: "params")
            return ClaimedMessage(
                id: try row.decode(Int64.self, column: "id"),
                messageID: try row.decode(UUID.self, column: "message_id"),
                destination: try row.decode(String.self, column: "destination"),
                method: try row.decode(String.self, column: "method"),
                params: (try? JSON.parse(params.rawJSON)) ?? .object([:]),
                attempts: try row.decode(Int.self, column: "attempts")
            )
        }
    }

    private func deliver(_ message: ClaimedMessage) async -> DeliveryOutcome {
        guard let client = destinations(message.destination) else {
            return .dead("no route to service \"\(message.destination)\"; configure ONESTOP_\(message.destination.uppercased())_ADDRESSES")
        }
        let params: JSON
        do {
            params = try SealedOutboxParams.open(message.params, with: sealing)
        } catch {
            // A key missing from the configuration does not come back by retrying; once it is
            // configured again, the dead letter can be replayed.
            return .dead("cannot open the sealed params of \(message.method): \(error)")
        }
        do {
            _ = try await client.call(
                method: message.method,
                params: params,
                meta: RPCMeta(messageId: message.messageID.uuidString.lowercased()),
                timeout: configuration.deliveryTimeout,
                idempotent: true
            )
            return .delivered
        } catch let error as RPCError {
            let text = "\(message.destination) answered \(message.method): \(error)"
            guard error.isRetryable else { return .dead(text) }
            return message.attempts >= configuration.maxAttempts
                ? .dead("gave up after \(message.attempts) attempts; last: \(text)")
                : .retry(text)
        } catch {
            let text = "delivery of \(message.method) to \(message.destination) failed: \(error)"
            return message.attempts >= configuration.maxAttempts ? .dead(text) : .retry(text)
        }
    }

    private func record(_ outcomes: [(ClaimedMessage, DeliveryOutcome)]) async throws {
        let delivered = outcomes.compactMap { message, outcome -> Int64? in
            if case .delivered = outcome { return message.id }
            return nil
        }
        if !delivered.isEmpty {
            let lags = try await database.query("""
                UPDATE messaging_outbox
                SET status = 'delivered', delivered_at = clock_timestamp(), claimed_until = NULL, last_error = NULL
                WHERE id = ANY(\(delivered))
                RETURNING extract(epoch FROM delivered_at - created_at)::float8 AS lag
                """)
            for row in lags {
                if let lag = try? row.decode(Double.self, column: "lag") {
                    metrics.lag.recordNanoseconds(Int64(max(0, lag) * 1e9))
                }
            }
            metrics.delivered.increment(by: delivered.count)
        }
        for (message, outcome) in outcomes {
            switch outcome {
            case .delivered:
                continue
            case .retry(let reason):
                let pause = RetryBackoff.delay(attempt: message.attempts, initial: configuration.initialBackoff, maximum: configuration.maxBackoff)
                try await database.execute("""
                    UPDATE messaging_outbox
                    SET claimed_until = NULL, last_error = \(reason),
                        next_attempt_at = now() + make_interval(secs => \(Double(pause.milliseconds) / 1000))
                    WHERE id = \(message.id)
                    """)
                metrics.retries.increment()
                logger.info("outbox delivery will be retried", metadata: [
                    "outbox.id": .stringConvertible(message.id), "outbox.method": .string(message.method),
                    "outbox.attempts": .stringConvertible(message.attempts), "error": .string(reason),
                ])
            case .dead(let reason):
                try await database.execute("""
                    UPDATE messaging_outbox SET status = 'dead', claimed_until = NULL, last_error = \(reason)
                    WHERE id = \(message.id)
                    """)
                metrics.deadLetters.increment()
                logger.error("outbox message dead-lettered", metadata: [
                    "outbox.id": .stringConvertible(message.id), "outbox.method": .string(message.method), "error": .string(reason),
                ])
            }
        }
    }


    private func updateGauges() async {
        guard let rows = try? await database.query("""
            SELECT (SELECT count(*) FROM messaging_outbox WHERE status = 'pending')::int8 AS pending,
                   (SELECT count(*) FROM messaging_outbox WHERE status = 'dead')::int8 AS dead
            """), let row = rows.first
        else { return }
        metrics.backlog.record((try? row.decode(Int64.self, column: "pending")) ?? 0)
        metrics.dead.record((try? row.decode(Int64.self, column: "dead")) ?? 0)
    }

    /// Deletes delivered rows past the retention, a bounded chunk at a time so no long lock.
    public func purge() async {
        let seconds = Double(configuration.retention.milliseconds) / 1000
        do {
            while true {
                let removed = try await database.execute("""
                    DELETE FROM messaging_outbox WHERE id IN (
                        SELECT id FROM messaging_outbox
                        WHERE status = 'delivered' AND delivered_at < now() - make_interval(secs => \(seconds))
                        LIMIT 5000)
                    """)
                if removed < 5000 { break }
            }
        } catch {
            logger.warning("outbox purge failed", metadata: ["error": .string("\(error)")])
        }
    }
}

/// Rounds of one relay delivering now; shared by the claim loop and the rounds.
private final class RoundsInFlight: Sendable {
    private let value = Atomic<Int>(0)
    var count: Int { value.load(ordering: .relaxed) }
    func add(_ delta: Int) { value.wrappingAdd(delta, ordering: .relaxed) }
}

struct RelayMetrics: Sendable {
    let lag = Metrics.Timer(label: "messaging_outbox_delivery_lag_seconds", preferredDisplayUnit: .seconds)
    let delivered = Counter(label: "messaging_outbox_delivered_total")
    let retries = Counter(label: "messaging_outbox_retries_total")
    let deadLetters = Counter(label: "messaging_outbox_dead_letters_total")
    let backlog = Gauge(label: "messaging_outbox_backlog")
    let dead = Gauge(label: "messaging_outbox_dead")
}
