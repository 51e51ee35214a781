import JSONCoding
import LineProtocol
import Postgres

/// The receiving half of reliable messaging: each `_meta.messageId` is recorded in the same
/// transaction as its effect, with the outcome. A redelivery (the sender never saw the answer)
/// is answered with the recorded outcome and has no second effect.
public struct Inbox: Sendable {
    private let database: PostgresPool

    public init(database: PostgresPool) {
        self.database = database
    }

    /// Runs `effect` in a transaction, at most once per message id. Calls without a message id
    /// (direct calls, not outbox deliveries) simply run in a transaction.
    ///
    /// A final error (an `RPCError` that is not retryable, or a domain error that converts to
    /// one) is recorded as the outcome, with the effect rolled back, so a redelivery gets the same
    /// error; retryable failures record nothing and the sender tries again.
    public func receive<Result: Codable & Sendable>(
        _ context: RPCContext,
        _ effect: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        guard let messageID = context.meta.messageId else {
            return try await database.withTransaction { try await effect($0) }
        }
        do {
            let outcome: Swift.Result<Result, RPCError> = try await database.withTransaction { connection in
                let fresh = try await connection.query("""
                    INSERT INTO messaging_inbox (message_id, method) VALUES (\(messageID), \(context.method))
                    ON CONFLICT (message_id) DO NOTHING
                    RETURNING 1 AS fresh
                    """)
                if fresh.isEmpty {
                    return try await recordedOutcome(of: messageID, as: Result.self, on: connection)
                }
                let result: Result
                do {
                    result = try await effect(connection)
                } catch let error where Self.finalError(error) != nil {
                    // Rolls the effect back with the whole transaction; the refusal is recorded
                    // below. (A savepoint would keep the inbox row, at a round trip per message.)
                    throw FinalRefusal(error: Self.finalError(error)!)
                }
                let recorded: JSON = ["result": try JSONValueEncoder().encode(result)]
                try await connection.execute("""
                    UPDATE messaging_inbox SET outcome = \(PostgresJSONB(rawJSON: recorded.jsonString))
                    WHERE message_id = \(messageID)
                    """)
                return .success(result)
            }
            return try outcome.get()
        } catch let refusal as FinalRefusal {
            return try await record(refusal.error, of: messageID, method: context.method, as: Result.self).get()
        }
    }

    /// An effect's final error, carried out of its transaction so that the transaction rolls back.
    private struct FinalRefusal: Error {
        let error: RPCError
    }

    /// Records a refusal as the message's outcome. Another delivery of the same message may have
    /// run and recorded its own outcome since this one rolled back: then that one stands, and is
    /// what this delivery answers too.
    private func record<Result: Decodable & Sendable>(
        _ error: RPCError, of messageID: String, method: String, as type: Result.Type
    ) async throws -> Swift.Result<Result, RPCError> {
        let recorded: JSON = ["error": error.json]
        return try await database.withTransaction { connection in
            let fresh = try await connection.query("""
                INSERT INTO messaging_inbox (message_id, method, outcome)
                VALUES (\(messageID), \(method), \(PostgresJSONB(rawJSON: recorded.jsonString)))
                ON CONFLICT (message_id) DO NOTHING
                RETURNING 1 AS fresh
                """)
            if fresh.isEmpty { return try await recordedOutcome(of: messageID, as: Result.self, on: connection) }
            return .failure(error)
        }
    }

    private func recordedOutcome<Result: Decodable>(
        of messageID: String,
        as type: Result.Type,
        on connection: PostgresConnection
    ) async throws -> Swift.Result<Result, RPCError> {
        let rows = try await connection.query("SELECT outcome FROM messaging_inbox WHERE message_id = \(messageID)")
        guard let stored = try rows.first?.decode(PostgresJSONB?.self, column: "outcome"),
              let outcome = try? JSON.parse(stored.rawJSON)
        else {
            throw RPCError.internal("message \(messageID) is recorded without an outcome")
        }
        if let error = outcome["error"].flatMap(RPCError.init(json:)) {
            return .failure(error)
        }
        return .success(try JSONValueDecoder().decode(Result.self, from: outcome["result"] ?? .null))
    }

    /// The RPC form of an error that redelivery cannot change; nil for transient failures.
    static func finalError(_ error: any Error) -> RPCError? {
        let rpcError: RPCError
        switch error {
        case let error as RPCError: rpcError = error
        case let error as any RPCErrorConvertible: rpcError = error.rpcError
        default: return nil
        }
        return rpcError.isRetryable ? nil : rpcError
    }
}
