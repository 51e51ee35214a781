import Contracts
import JSONCoding
import LineProtocol
import Messaging
import Postgres
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// A delivery as the worker needs it.
struct DeliveryRecord: Sendable {
    var id: UUID
    var messageID: UUID
    var key: String
    var urgency: NotificationUrgency
    var createdAt: Date
    var channel: NotificationChannel
    /// The keyed hash of the address: what the suppression list is matched on.
    var addressHash: String
    /// Address, name and content, sealed; opened only for the transfer.
    var recipient: StoredRecipient
    var status: String
    var attempts: Int
    var partsSent: Int
}

/// What one attempt came to, as the worker records it.
struct AttemptRecord: Sendable {
    /// `sent`, `retry`, `failed`, `dead`, `suppressed` or `deferred`.
    var outcome: String
    var reason: String?
    var detail: String?
    var providerStatus: Int?
    var latencyMs: Int?
    var startedAt: Date
    var providerID: String?
    var partsSent: Int?
    /// When the next job runs (`retry`, `deferred`).
    var nextRunAt: Date?
}

/// Every SQL statement of the notification service. Personal data goes in sealed by `vault`
/// and comes out sealed; only `NotificationVault.open` makes it readable again.
struct NotificationStore: Sendable {
    static let queueName = "notification.delivery"
    /// A job is one attempt; it runs again only when its worker died (lease lost).
    static let jobLeaseAttempts = 5

    let database: PostgresPool
    let vault: NotificationVault
    /// A claimed job comes with its delivery, its message and any suppression of its address
    /// (`claimedDelivery(_:)`): the claim's statement reads them, not one more round trip per job.
    var queue: WorkQueue { WorkQueue(name: Self.queueName, database: database, claimReads: Self.deliveryReads) }

    static let deliveryColumns: SQL = """
        d.id, d.message_id, m.key, m.urgency, m.created_at, d.channel, d.address_hash, d.sealed_key_id,
        d.address_cipher, d.name_cipher, d.content_cipher, d.address, d.recipient_name, d.content,
        d.status, d.attempts, d.parts_sent
        """

    static let deliveryReads = ClaimReads(
        columns: deliveryColumns + ", s.reason AS suppression_reason",
        // A payload whose delivery id is not a uuid is not cast, so it cannot fail the claim of
        // every job; its job comes without a delivery and is dropped.
        joins: """
            LEFT JOIN notification_deliveries d ON d.id = CASE
                WHEN claimed.payload->>'delivery' ~ '^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$'
                THEN (claimed.payload->>'delivery')::uuid END
            LEFT JOIN notification_messages m ON m.id = d.message_id
            LEFT JOIN notification_suppressions s ON s.channel = d.channel AND s.address_hash = d.address_hash
            """
    )

    static func jobPayload(_ delivery: UUID, attempt: Int) -> JSON {
        ["delivery": .string(delivery.lowercasedString), "attempt": .integer(Int64(attempt))]
    }

    // MARK: notification.send

    func accept(_ params: NotificationSend.Params, planned: [PlannedDelivery], actor: String?, quietHours: QuietHours?) async throws -> NotificationSend.Result {
        let variables = JSON.object(JSONObject(params.variables.sorted { $0.key < $1.key }.map { ($0.key, JSON.string($0.value)) }))
        let sealedVariables = try vault.seal(variables)
        let urgency = params.urgency ?? .normal
        let now = Date()
        let messageID = UUID.v7()
        var deliveries: SQL = ""
        var jobs: [NewJob] = []
        for delivery in planned {
            let deliveryID = UUID.v7()
            if !jobs.isEmpty { deliveries += ", " }
            deliveries += """
                (\(deliveryID), \(delivery.position)::int4, \(delivery.channel.rawValue), \(try vault.seal(delivery.address)),
                 \(try delivery.name.map { try vault.seal($0) })::bytea, \(try vault.seal(delivery.content)),
                 \(vault.addressHash(delivery.address, channel: delivery.channel)), \(SendPlan.mask(delivery.address, channel: delivery.channel)))
                """
            // Non-urgent SMS wait for the end of quiet hours.
            let runAt = delivery.channel == .sms && urgency == .normal ? quietHours?.end(after: now) : nil
            jobs.append(NewJob(
                Self.jobPayload(deliveryID, attempt: 1), priority: urgency == .urgent ? 1 : 0, runAt: runAt,
                maxAttempts: Self.jobLeaseAttempts, dedupeKey: "notification/\(deliveryID.lowercasedString)/1"
            ))
        }
        if planned.isEmpty {
            // A message with no delivery (nobody to reach) is still recorded: VALUES needs a row.
            deliveries = "(NULL::uuid, NULL::int4, NULL::text, NULL::bytea, NULL::bytea, NULL::bytea, NULL::text, NULL::text)"
        }
        let audited: JSON = ["key": .string(params.key), "template": .string(params.template.rawValue), "deliveries": .integer(Int64(planned.count))]
        // The message, its deliveries, their jobs and the audit row in one statement: one round
        // trip and one commit, all or nothing. A key seen before adds nothing.
        let rows = try await database.withConnection { connection in
            try await connection.query("""
                WITH message AS (
                    INSERT INTO notification_messages (id, key, template, locale, urgency, subject_id, sealed_key_id, variables_cipher, caller)
                    VALUES (\(messageID), \(params.key), \(params.template.rawValue), \(params.locale.rawValue), \(urgency.rawValue), \(params.subjectId),
                            \(vault.keyID), \(sealedVariables), \(actor))
                    ON CONFLICT (key) DO NOTHING
                    RETURNING id
                ), delivered AS (
                    INSERT INTO notification_deliveries (id, message_id, position, channel, sealed_key_id, address_cipher, name_cipher, content_cipher,
                                                         address_hash, address_masked)
                    SELECT p.id, message.id, p.position, p.channel, \(vault.keyID), p.address_cipher, p.name_cipher, p.content_cipher, p.address_hash, p.address_masked
                    FROM message, (VALUES \(deliveries))
                        AS p (id, position, channel, address_cipher, name_cipher, content_cipher, address_hash, address_masked)
                    WHERE p.id IS NOT NULL
                    RETURNING id
                ), added AS (\(queue.insertion(jobs, onlyIf: "EXISTS (SELECT 1 FROM message)"))
                ), audited AS (
                    INSERT INTO notification_audit (actor, action, entity_id, detail)
                    SELECT \(actor), 'message.accepted', \(messageID.lowercasedString), \(PostgresJSONB(rawJSON: audited.jsonString))
                    FROM message
                )
                SELECT (SELECT count(*) FROM message)::int8 AS created, \(queue.wakingWorkers(after: "added", on: connection)) AS woken
                """)
        }
        guard try rows.first?.decode(Int64.self, column: "created") == 1 else {
            let existing = try await database.query("""
                SELECT m.id, (SELECT count(*)::int8 FROM notification_deliveries d WHERE d.message_id = m.id) AS n
                FROM notification_messages m WHERE m.key = \(params.key)
                """)
            guard let row = existing.first else { throw RPCError.unavailable("the message with this key is being written; retry") }
            return NotificationSend.Result(
                messageId: try row.decode(UUID.self, column: "id").lowercasedString, created: false,
                deliveries: Int(try row.decode(Int64.self, column: "n"))
            )
        }
        return NotificationSend.Result(messageId: messageID.lowercasedString, created: true, deliveries: planned.count)
    }

    private func audit(_ connection: PostgresConnection, actor: String?, action: String, entity: String, detail: JSON) async throws {
        try await connection.execute("""
            INSERT INTO notification_audit (actor, action, entity_id, detail)
            VALUES (\(actor), \(action), \(entity), \(PostgresJSONB(rawJSON: detail.jsonString)))
            """)
    }

    // MARK: notification.status

    func status(key: String?, messageID: UUID?) async throws -> NotificationStatus.Result? {
        let messages = try await database.query("""
            SELECT id, key, template, locale, created_at FROM notification_messages
            WHERE (\(key)::text IS NOT NULL AND key = \(key)) OR (\(messageID)::uuid IS NOT NULL AND id = \(messageID))
            LIMIT 1
            """)
        guard let message = messages.first else { return nil }
        let id = try message.decode(UUID.self, column: "id")
        let deliveries = try await database.query("""
            SELECT id, channel, address_masked, address, status, attempts, provider_id, last_error, next_attempt_at, sent_at
            FROM notification_deliveries WHERE message_id = \(id) ORDER BY position
            """)
        let attempts = try await database.query("""
            SELECT a.delivery_id, a.attempt, a.outcome, a.reason, a.detail, a.provider_status, a.latency_ms, a.finished_at
            FROM notification_attempts a JOIN notification_deliveries d ON d.id = a.delivery_id
            WHERE d.message_id = \(id) ORDER BY a.id
            """)
        var history: [UUID: [NotificationStatus.Attempt]] = [:]
        for row in attempts {
            history[try row.decode(UUID.self, column: "delivery_id"), default: []].append(NotificationStatus.Attempt(
                attempt: try row.decode(Int.self, column: "attempt"),
                outcome: try row.decode(String.self, column: "outcome"),
                reason: try row.decode(String?.self, column: "reason"),
                detail: try row.decode(String?.self, column: "detail"),
                providerStatus: try row.decode(Int?.self, column: "provider_status"),
                latencyMs: try row.decode(Int?.self, column: "latency_ms"),
                at: try row.decode(Date.self, column: "finished_at")
            ))
        }
        return NotificationStatus.Result(
            messageId: id.lowercasedString,
            key: try message.decode(String.self, column: "key"),
            template: NotificationTemplate(rawValue: try message.decode(String.self, column: "template")) ?? .caseAccepted,
            locale: CustomerLocale(rawValue: try message.decode(String.self, column: "locale")) ?? .zhCN,
            createdAt: try message.decode(Date.self, column: "created_at"),
            deliveries: try deliveries.map { row in
                let deliveryID = try row.decode(UUID.self, column: "id")
                let channel = NotificationChannel(rawValue: try row.decode(String.self, column: "channel")) ?? .sms
                return NotificationStatus.Delivery(
                    id: deliveryID.lowercasedString,
                    channel: channel,
                    // A row not sealed yet still has its address in clear.
                    address: try row.decode(String?.self, column: "address_masked")
                        ?? SendPlan.mask(try row.decode(String?.self, column: "address") ?? "", channel: channel),
                    status: try row.decode(String.self, column: "status"),
                    attempts: try row.decode(Int.self, column: "attempts"),
                    providerId: try row.decode(String?.self, column: "provider_id"),
                    lastError: try row.decode(String?.self, column: "last_error"),
                    nextAttemptAt: try row.decode(Date?.self, column: "next_attempt_at"),
                    sentAt: try row.decode(Date?.self, column: "sent_at"),
                    history: history[deliveryID] ?? []
                )
            }
        )
    }

    // MARK: Suppression list

    func suppress(channel: NotificationChannel, address: String, reason: String, remove: Bool, actor: String?) async throws -> Bool {
        let hash = vault.addressHash(address, channel: channel)
        return try await database.withTransaction { connection in
            let changed: Int
            if remove {
                changed = try await connection.execute("""
                    DELETE FROM notification_suppressions WHERE channel = \(channel.rawValue) AND address_hash = \(hash)
                    """)
            } else {
                changed = try await connection.execute("""
                    INSERT INTO notification_suppressions (channel, address_hash, reason) VALUES (\(channel.rawValue), \(hash), \(reason))
                    ON CONFLICT DO NOTHING
                    """)
            }
            if changed > 0 {
                try await audit(connection, actor: actor, action: remove ? "suppression.removed" : "suppression.added",
                                entity: "\(channel.rawValue):\(SendPlan.mask(address, channel: channel))", detail: ["reason": .string(reason)])
            }
            return changed > 0
        }
    }

    func suppressionReason(channel: NotificationChannel, addressHash: String) async throws -> String? {
        let rows = try await database.query("""
            SELECT reason FROM notification_suppressions WHERE channel = \(channel.rawValue) AND address_hash = \(addressHash)
            """)
        return try rows.first?.decode(String.self, column: "reason")
    }

    // MARK: Delivery worker

    func delivery(_ id: UUID) async throws -> DeliveryRecord? {
        let rows = try await database.query("""
            SELECT \(Self.deliveryColumns)
            FROM notification_deliveries d JOIN notification_messages m ON m.id = d.message_id
            WHERE d.id = \(id)
            """)
        return try rows.first.map(decodeDelivery)
    }

    /// A claimed job's delivery, read by the claim (nil when the delivery is gone), and the
    /// reason its address is suppressed, if it is.
    func claimedDelivery(_ job: Job) async throws -> (delivery: DeliveryRecord, suppressed: String?)? {
        guard let row = job.context, try row.decode(UUID?.self, column: "id") != nil else { return nil }
        let delivery = try decodeDelivery(row)
        if try row.decode(String?.self, column: "address_hash") == nil {
            // Not sealed yet: its hash is the vault's, made now, so the claim could not match it.
            return (delivery, try await suppressionReason(channel: delivery.channel, addressHash: delivery.addressHash))
        }
        return (delivery, try row.decode(String?.self, column: "suppression_reason"))
    }

    private func decodeDelivery(_ row: PostgresRow) throws -> DeliveryRecord {
        let channel = NotificationChannel(rawValue: try row.decode(String.self, column: "channel")) ?? .sms
        let recipient: StoredRecipient
        let addressHash: String
        if let keyID = try row.decode(String?.self, column: "sealed_key_id"), let address = try row.decode(Data?.self, column: "address_cipher") {
            recipient = .sealed(keyID: keyID, address: address, name: try row.decode(Data?.self, column: "name_cipher"),
                                content: try row.decode(Data.self, column: "content_cipher"))
            addressHash = try row.decode(String.self, column: "address_hash")
        } else {
            // Written before migration 0003 and not sealed yet.
            let address = try row.decode(String.self, column: "address")
            recipient = .clear(address: address, name: try row.decode(String?.self, column: "recipient_name"),
                               content: (try? JSON.parse(row.decode(PostgresJSONB.self, column: "content").rawJSON)) ?? .null)
            addressHash = vault.addressHash(address, channel: channel)
        }
        return DeliveryRecord(
            id: try row.decode(UUID.self, column: "id"),
            messageID: try row.decode(UUID.self, column: "message_id"),
            key: try row.decode(String.self, column: "key"),
            urgency: NotificationUrgency(rawValue: try row.decode(String.self, column: "urgency")) ?? .normal,
            createdAt: try row.decode(Date.self, column: "created_at"),
            channel: channel,
            addressHash: addressHash,
            recipient: recipient,
            status: try row.decode(String.self, column: "status"),
            attempts: try row.decode(Int.self, column: "attempts"),
            partsSent: try row.decode(Int.self, column: "parts_sent")
        )
    }

    /// Records an attempt, the delivery's new state, the job's completion and the next attempt's
    /// job (when there is one) in ONE statement: one round trip and one commit. Nothing is
    /// written, and `JobLeaseLost` thrown, when the job is no longer this worker's.
    func record(_ attempt: AttemptRecord, attemptNumber: Int, delivery: DeliveryRecord, job: Job, newStatus: String?, suppress: String?) async throws {
        let detail = attempt.detail.map { String($0.prefix(500)) }
        var effects: SQL = """
            attempted AS (
                INSERT INTO notification_attempts (delivery_id, attempt, outcome, reason, detail, provider_status, latency_ms, started_at)
                SELECT \(delivery.id), \(attemptNumber)::int4, \(attempt.outcome), \(attempt.reason)::text, \(detail)::text,
                       \(attempt.providerStatus)::int4, \(attempt.latencyMs)::int4, \(attempt.startedAt)::timestamptz
                FROM done
            )
            """
        if let newStatus {
            let counted = attempt.outcome == "deferred" || attempt.outcome == "suppressed" ? 0 : 1
            let audited: JSON = ["attempt": .integer(Int64(attemptNumber)), "status": .string(newStatus), "reason": attempt.reason.map { .string($0) } ?? .null]
            effects += """
                , updated AS (
                    UPDATE notification_deliveries
                    SET status = \(newStatus), attempts = attempts + \(counted)::int4,
                        parts_sent = coalesce(\(attempt.partsSent)::int4, parts_sent),
                        provider_id = coalesce(\(attempt.providerID)::text, provider_id),
                        last_error = CASE WHEN \(attempt.outcome) = 'sent' THEN last_error ELSE coalesce(\(detail)::text, last_error) END,
                        next_attempt_at = \(attempt.nextRunAt)::timestamptz,
                        sent_at = CASE WHEN \(newStatus) = 'sent' THEN now() ELSE sent_at END,
                        updated_at = now()
                    WHERE id = \(delivery.id) AND EXISTS (SELECT 1 FROM done)
                ), audited AS (
                    INSERT INTO notification_audit (actor, action, entity_id, detail)
                    SELECT 'notification', \("delivery.\(attempt.outcome)"), \(delivery.id.lowercasedString), \(PostgresJSONB(rawJSON: audited.jsonString))
                    FROM done
                )
                """
        }
        if let suppress {
            effects += """
                , suppressed AS (
                    INSERT INTO notification_suppressions (channel, address_hash, reason)
                    SELECT \(delivery.channel.rawValue), \(delivery.addressHash), \(suppress) FROM done
                    ON CONFLICT DO NOTHING
                )
                """
        }
        var next: [NewJob] = []
        if let runAt = attempt.nextRunAt {
            let nextNumber = attempt.outcome == "deferred" ? attemptNumber : attemptNumber + 1
            let suffix = attempt.outcome == "deferred" ? "/deferred-\(Int(runAt.timeIntervalSince1970))" : ""
            next.append(NewJob(
                Self.jobPayload(delivery.id, attempt: nextNumber), priority: delivery.urgency == .urgent ? 1 : 0, runAt: runAt,
                maxAttempts: Self.jobLeaseAttempts, dedupeKey: "notification/\(delivery.id.lowercasedString)/\(nextNumber)\(suffix)"
            ))
        }
        let recorded = try await database.withConnection { connection in
            try await connection.query("""
                WITH done AS (\(queue.completion(of: job)) RETURNING id),
                \(effects),
                added AS (\(queue.insertion(next, onlyIf: "EXISTS (SELECT 1 FROM done)")))
                SELECT (SELECT count(*) FROM done)::int8 AS done, \(queue.wakingWorkers(after: "added", on: connection)) AS woken
                """)
        }
        guard try recorded.first?.decode(Int64.self, column: "done") == 1 else { throw JobLeaseLost(jobID: job.id) }
    }
}
