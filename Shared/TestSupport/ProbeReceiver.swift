import JSONCoding
import LineProtocol
import Logging
import Messaging
import Postgres
import Synchronization

/// The receiving side used by the messaging tests and the probe process: `probe.apply` records
/// an effect row per message through the inbox, and watches that no two messages of one key are
/// ever handled at once.
public enum ProbeApply: RPCMethod {
    public struct Params: Codable, Sendable {
        public var key: String
        public var sequence: Int
        public init(key: String, sequence: Int) {
            self.key = key
            self.sequence = sequence
        }
    }
    public struct Result: Codable, Sendable {
        public var effectID: Int64
    }
    public static let name = "probe.apply"
    public static let isIdempotent = true
}

public final class ProbeReceiver: Sendable {
    public static let schema = """
        CREATE TABLE IF NOT EXISTS probe_effects (
            id bigserial PRIMARY KEY,
            message_id text,
            key text NOT NULL,
            sequence integer NOT NULL
        )
        """

    private let database: PostgresPool
    private let keysInFlight = Mutex<Set<String>>([])
    private let overlaps = Atomic<Int>(0)
    private let callCount = Atomic<Int>(0)
    /// Called after an effect committed, before the answer is written (crash injection).
    private let afterCommit: @Sendable (Int64) -> Void

    public init(database: PostgresPool, afterCommit: @escaping @Sendable (Int64) -> Void = { _ in }) {
        self.database = database
        self.afterCommit = afterCommit
    }

    /// Times two messages of the same key were being handled at once (must stay 0).
    public var concurrentSameKey: Int { overlaps.load(ordering: .relaxed) }

    /// Deliveries received, repeats included.
    public var calls: Int { callCount.load(ordering: .relaxed) }

    public func prepare() async throws {
        try await database.withConnection { try await $0.simpleQuery(Self.schema) }
        try await MessagingSchema.migrator(logger: Logger(label: "probe")).apply(on: database)
    }

    public func methods(delay: Duration = .zero) -> RPCMethodTable {
        var table = RPCMethodTable()
        let inbox = Inbox(database: database)
        table.register(ProbeApply.self) { [self] params, context in
            callCount.wrappingAdd(1, ordering: .relaxed)
            let fresh = keysInFlight.withLock { $0.insert(params.key).inserted }
            if !fresh { overlaps.wrappingAdd(1, ordering: .relaxed) }
            defer { if fresh { _ = keysInFlight.withLock { $0.remove(params.key) } } }
            if delay > .zero { try await Task.sleep(for: delay) }
            let result = try await inbox.receive(context) { connection in
                let rows = try await connection.query("""
                    INSERT INTO probe_effects (message_id, key, sequence)
                    VALUES (\(context.meta.messageId), \(params.key), \(params.sequence))
                    RETURNING id
                    """)
                return ProbeApply.Result(effectID: try rows[0].decode(Int64.self, column: "id"))
            }
            afterCommit(result.effectID)
            return result
        }
        return table
    }

    /// Effects as (message id, key, sequence) in the order they were applied.
    public func effects() async throws -> [(messageID: String?, key: String, sequence: Int)] {
        try await database.query("SELECT message_id, key, sequence FROM probe_effects ORDER BY id").map {
            (try $0.decode(String?.self, column: "message_id"), try $0.decode(String.self, column: "key"), try $0.decode(Int.self, column: "sequence"))
        }
    }
}
