import Contracts
import JSONCoding
import Logging
import Messaging
import Metrics
import Postgres
import ServiceKit
import ServiceLifecycle

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The first-response timer: a complaint not acknowledged (first contact) within the configured
/// limit is escalated to the supervisor, once: recorded as a `first_response` escalation, audited
/// and announced through the outbox in the transaction that marks the complaint.
///
/// Several replicas may run it: complaints are claimed with `FOR UPDATE SKIP LOCKED` and the
/// escalation row is unique per complaint, kind and level. Each scan reads only the partial index
/// of complaints still waiting for their first contact and not yet escalated.
public struct FirstResponseMonitor: Service {
    let configuration: ComplaintsConfiguration
    let database: PostgresPool
    let store: ComplaintStore
    let logger: Logger
    private let escalations = Counter(label: "complaints_first_response_escalations_total")

    public init(configuration: ComplaintsConfiguration, database: PostgresPool, logger: Logger) {
        self.configuration = configuration
        self.database = database
        self.store = ComplaintStore(contactHashKey: configuration.contactHashKey)
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                let escalated = try await scan(now: Date())
                if escalated > 0 {
                    logger.info("first-response timer", metadata: ["complaints.escalated": "\(escalated)"])
                }
            } catch {
                logger.warning("first-response scan failed; trying again next interval", metadata: ["error": "\(error)"])
            }
            do {
                try await cancelWhenGracefulShutdown { [interval = configuration.timerInterval] in try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }

    /// One scan as of `now`: escalates every complaint whose first-response time has passed
    /// without a first contact; returns how many it escalated.
    public func scan(now: Date) async throws -> Int {
        var total = 0
        while true {
            let (claimed, escalated) = try await database.withTransaction { c in try await escalateBatch(now: now, on: c) }
            total += escalated
            if claimed < configuration.timerBatchSize { break }
        }
        escalations.increment(by: total)
        return total
    }

    private func escalateBatch(now: Date, on c: PostgresConnection) async throws -> (claimed: Int, escalated: Int) {
        let ids = try await c.query("""
            SELECT id FROM complaints
            WHERE first_response_at IS NULL AND first_response_escalated_at IS NULL AND first_response_due_at < \(now)
            ORDER BY first_response_due_at LIMIT \(configuration.timerBatchSize) FOR UPDATE SKIP LOCKED
            """).map { try $0.decode(UUID.self, column: "id") }
        var escalated = 0
        let supervisor = configuration.supervisor
        for id in ids {
            guard var record = try await store.load(id: id, forUpdate: false, connection: c) else { continue }
            let before = record.auditSnapshot
            record.firstResponseEscalatedAt = now
            try await store.update(record, connection: c)
            let reason = "no first contact with the complainant within \(configuration.firstResponseHours) hour(s) of filing (due \(JSONDateFormat.string(from: record.firstResponseDueAt) ?? "\(record.firstResponseDueAt)"))"
            guard try await store.recordEscalation(
                complaintID: record.id, kind: "first_response", level: 1, reason: reason, to: supervisor.id, connection: c
            ) else { continue }
            escalated += 1
            try await store.audit(
                complaintID: record.id, action: "first_response_escalated", from: record.status, to: record.status,
                actor: ComplaintStore.Actor(id: "system", role: "first_response_timer", trace: nil),
                before: before, after: record.auditSnapshot, connection: c
            )
            var variables = [
                "staffName": supervisor.name, "reference": record.number, "reason": reason,
                "subject": "Complaint \(record.number) (\(record.category)) not acknowledged in time",
            ]
            variables = ComplaintsHandlers.only(.staffEscalation, variables)
            let params = NotificationSend.Params(
                key: "complaints/\(record.id.lowercasedString)/escalation/first_response",
                recipients: [.init(name: supervisor.name, phone: supervisor.phone, email: supervisor.email)],
                channels: ComplaintsHandlers.channels(phone: supervisor.phone, email: supervisor.email), channelPolicy: .all,
                template: .staffEscalation, locale: .zhCN, variables: variables, urgency: .urgent,
                subjectId: record.id.lowercasedString
            )
            try await Outbox.enqueue(
                NotificationSend.self, params, to: OneStopService.notification.rawValue,
                aggregateKey: record.id.lowercasedString, on: c
            )
        }
        return (ids.count, escalated)
    }
}
