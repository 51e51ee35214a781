import JSONCoding
import LineProtocol
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The sending half of reliable messaging: a message to another service is a row written in the
/// same transaction as the change it announces, so both happen or neither does. `OutboxRelay`
/// delivers it afterwards.
public enum Outbox {
    /// The channel that wakes relays when a transaction with messages commits: a NOTIFY channel
    /// for relays in other processes, a `CommitSignals` channel for the writer's own.
    public static let notifyChannel = "messaging_outbox"

    /// Adds a message inside the caller's open transaction (`connection` must be the one running
    /// it). Messages with the same `aggregateKey` are delivered one at a time in the order written.
    /// With `sealing`, the params are stored encrypted and the relay (given the same sealing)
    /// opens them before delivery.
    @discardableResult
    public static func enqueue(
        destination: String,
        method: String,
        params: JSON,
        aggregateKey: String,
        messageID: UUID = .v7(),
        sealedWith sealing: (any OutboxSealing)? = nil,
        on connection: PostgresConnection
    ) async throws -> UUID {
        let message = try OutboxMessage(destination: destination, method: method, params: params, aggregateKey: aggregateKey, messageID: messageID)
        try await enqueue([message], sealedWith: sealing, on: connection)
        return messageID
    }

    /// Adds several messages in one statement (one round trip instead of one each), in the
    /// order given: within a key they are delivered in this order.
    public static func enqueue(_ messages: [OutboxMessage], sealedWith sealing: (any OutboxSealing)? = nil, on connection: PostgresConnection) async throws {
        guard !messages.isEmpty else { return }
        try await connection.query("""
            WITH added AS (\(insertion(messages, sealedWith: sealing)))
            \(wakingRelays(after: "added", on: connection))
            """)
    }

    /// The `INSERT … RETURNING id` that adds `messages`, for a caller that writes them as a
    /// data-modifying CTE of a larger statement (one round trip and one commit for a change and
    /// its messages). They are written only when `condition` (SQL, e.g. `EXISTS (SELECT 1 FROM
    /// done)`) holds. Finish the statement with `wakingRelays(after:on:)` naming the CTE.
    public static func insertion(_ messages: [OutboxMessage], sealedWith sealing: (any OutboxSealing)? = nil, onlyIf condition: SQL = "true") throws -> SQL {
        var rows: SQL = ""
        for (index, message) in messages.enumerated() {
            let stored = try sealing.map { try SealedOutboxParams.seal(message.params, with: $0) } ?? message.params
            let jsonb = PostgresJSONB(rawJSON: stored.jsonString)
            if index > 0 { rows += ", " }
            rows += "(\(message.messageID), \(message.destination), \(message.method), \(jsonb), \(message.aggregateKey), \(index))"
        }
        return """
            INSERT INTO messaging_outbox (message_id, destination, method, params, aggregate_key)
            SELECT m.message_id, m.destination, m.method, m.params, m.aggregate_key
            FROM (VALUES \(rows)) AS m (message_id, destination, method, params, aggregate_key, position)
            WHERE \(condition)
            ORDER BY m.position
            RETURNING id
            """
    }

    /// The statement's last part, after the CTE `added` (an `insertion`): relays wake when the
    /// transaction commits. The relay of this process is woken directly (`CommitSignals`); only
    /// a writer whose process runs no relay on this pool says NOTIFY, because every notifying
    /// commit in the cluster waits for the one before it.
    public static func wakingRelays(after added: String, on connection: PostgresConnection) -> SQL {
        if connection.wakeAfterCommit(notifyChannel) {
            return "SELECT count(*) FROM \(unsafeRaw: added)"
        }
        return "SELECT pg_notify('\(unsafeRaw: notifyChannel)', '') FROM (SELECT 1 FROM \(unsafeRaw: added) LIMIT 1) one"
    }

    /// Adds a typed message for a method defined in `Contracts`.
    @discardableResult
    public static func enqueue<M: RPCMethod>(
        _ method: M.Type,
        _ params: M.Params,
        to destination: String,
        aggregateKey: String,
        messageID: UUID = .v7(),
        sealedWith sealing: (any OutboxSealing)? = nil,
        on connection: PostgresConnection
    ) async throws -> UUID {
        try await enqueue(
            destination: destination,
            method: M.name,
            params: JSONValueEncoder().encode(params),
            aggregateKey: aggregateKey,
            messageID: messageID,
            sealedWith: sealing,
            on: connection
        )
    }
}

/// A message to be written to the outbox; see `Outbox.enqueue(_:sealedWith:on:)`.
public struct OutboxMessage: Sendable {
    public var destination: String
    public var method: String
    public var params: JSON
    public var aggregateKey: String
    public var messageID: UUID

    /// Fails when `params` is not a JSON object (every method takes named params).
    public init(destination: String, method: String, params: JSON, aggregateKey: String, messageID: UUID = .v7()) throws {
        guard case .object = params else {
            throw RPCError.invalidParams("outbox params for \(method) must be a JSON object")
        }
        self.destination = destination
        self.method = method
        self.params = params
        self.aggregateKey = aggregateKey
        self.messageID = messageID
    }

    /// A typed message for a method defined in `Contracts`.
    public init<M: RPCMethod>(_ method: M.Type, _ params: M.Params, to destination: String, aggregateKey: String, messageID: UUID = .v7()) throws {
        try self.init(destination: destination, method: M.name, params: JSONValueEncoder().encode(params), aggregateKey: aggregateKey, messageID: messageID)
    }
}
