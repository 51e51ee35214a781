import Contracts
import JSONCoding
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Rows written before migration 0003 hold personal data in clear columns; these seal them and
/// empty the clear columns, a batch per transaction. Rows locked elsewhere (a worker recording an
/// attempt, another replica sealing) are waited for rather than skipped, so none is left in clear;
/// locking in key order keeps two replicas sealing at once from deadlocking, and a row another
/// replica sealed meanwhile no longer matches once its lock is released.
extension NotificationStore {
    /// Replaces up to `limit` suppressions kept by clear address with their keyed hash. Once no
    /// clear row is left, every suppressed address is found by its hash, so the worker (started
    /// after this) sends nothing to it.
    func hashLegacySuppressions(limit: Int, connection: PostgresConnection) async throws -> Int {
        let rows = try await connection.query("""
            SELECT channel, address, reason, created_at FROM notification_suppressions
            WHERE address IS NOT NULL ORDER BY channel, address LIMIT \(limit) FOR UPDATE
            """)
        for row in rows {
            let channelText = try row.decode(String.self, column: "channel")
            let channel = NotificationChannel(rawValue: channelText) ?? .sms
            let address = try row.decode(String.self, column: "address")
            try await connection.execute("""
                DELETE FROM notification_suppressions WHERE channel = \(channelText) AND address = \(address)
                """)
            // The address may have been suppressed again (by hash) since the upgrade.
            try await connection.execute("""
                INSERT INTO notification_suppressions (channel, address_hash, reason, created_at)
                VALUES (\(channelText), \(vault.addressHash(address, channel: channel)), \(try row.decode(String.self, column: "reason")),
                        \(try row.decode(Date.self, column: "created_at")))
                ON CONFLICT DO NOTHING
                """)
        }
        return rows.count
    }

    /// Seals up to `limit` deliveries whose address, name and content are still in clear.
    func sealLegacyDeliveries(limit: Int, connection: PostgresConnection) async throws -> Int {
        let rows = try await connection.query("""
            SELECT id, channel, address, recipient_name, content FROM notification_deliveries
            WHERE address IS NOT NULL ORDER BY id LIMIT \(limit) FOR UPDATE
            """)
        for row in rows {
            let channel = NotificationChannel(rawValue: try row.decode(String.self, column: "channel")) ?? .sms
            let address = try row.decode(String.self, column: "address")
            let name = try row.decode(String?.self, column: "recipient_name")
            let content = try row.decode(PostgresJSONB.self, column: "content").rawJSON
            try await connection.execute("""
                UPDATE notification_deliveries
                SET sealed_key_id = \(vault.keyID), address_cipher = \(try vault.seal(address)),
                    name_cipher = \(try name.map { try vault.seal($0) }), content_cipher = \(try vault.seal(content)),
                    address_hash = \(vault.addressHash(address, channel: channel)), address_masked = \(SendPlan.mask(address, channel: channel)),
                    address = NULL, recipient_name = NULL, content = NULL
                WHERE id = \(try row.decode(UUID.self, column: "id"))
                """)
        }
        return rows.count
    }

    /// Seals up to `limit` messages whose variables are still in clear.
    func sealLegacyMessages(limit: Int, connection: PostgresConnection) async throws -> Int {
        let rows = try await connection.query("""
            SELECT id, variables FROM notification_messages
            WHERE variables IS NOT NULL ORDER BY id LIMIT \(limit) FOR UPDATE
            """)
        for row in rows {
            let variables = try row.decode(PostgresJSONB.self, column: "variables").rawJSON
            try await connection.execute("""
                UPDATE notification_messages SET sealed_key_id = \(vault.keyID), variables_cipher = \(try vault.seal(variables)), variables = NULL
                WHERE id = \(try row.decode(UUID.self, column: "id"))
                """)
        }
        return rows.count
    }

    /// Seals everything still in clear, suppressions first; returns how many rows it changed.
    func sealLegacyRows(batchSize: Int = 200) async throws -> Int {
        var total = 0
        let steps: [(Int, PostgresConnection) async throws -> Int] = [
            hashLegacySuppressions(limit:connection:), sealLegacyDeliveries(limit:connection:), sealLegacyMessages(limit:connection:),
        ]
        for step in steps {
            while true {
                let changed = try await database.withTransaction { connection in
                    try await step(batchSize, connection)
                }
                total += changed
                if changed == 0 { break }
            }
        }
        return total
    }
}
