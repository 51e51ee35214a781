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
    /// The NOTIFY channel that wakes relays when a transaction with messages commits.
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
        messageID: UUID = UUID(),
        sealedWith sealing: (any OutboxSealing)? = nil,
        on connection: PostgresConnection
    ) async throws -> UUID {
        guard case .object = params else {
            throw RPCError.invalidParams("outbox params for \(method) must be a JSON object")
        }
        let stored = try sealing.map { try SealedOutboxParams.seal(params, with: $0) } ?? params
        let jsonb = PostgresJSONB(rawJSON: stored.jsonString)
        // One round trip: the NOTIFY is sent by Postgres when (and only if) the transaction commits.
        try await connection.query("""
            WITH added AS (
                INSERT INTO messaging_outbox (message_id, destination, method, params, aggregate_key)
                VALUES (\(messageID), \(destination), \(method), \(jsonb), \(aggregateKey))
                RETURNING id
            )
            SELECT pg_notify('messaging_outbox', '') FROM added
            """)
        return messageID
    }

    /// Adds a typed message for a method defined in `Contracts`.
    @discardableResult
    public static func enqueue<M: RPCMethod>(
        _ method: M.Type,
        _ params: M.Params,
        to destination: String,
        aggregateKey: String,
        messageID: UUID = UUID(),
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
