import Contracts
import LineProtocol
import Messaging
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// An upheld (or partly upheld) complaint about a decision asks routing to re-check the case:
/// `routing.reopen` goes into the outbox in the resolution's own transaction, once per complaint
/// (a row in `complaint_case_rechecks` guards it, so a repeated or later resolution enqueues
/// nothing). Routing accepts it from a service without `_meta.actor` (as the system) and answers
/// every state of the case (reopened when completed, re-check recorded while still in progress,
/// not held), so the message never ends as a dead letter.
extension ComplaintsHandlers {
    /// Longest reason routing takes.
    static let maxRecheckReasonLength = 2_000

    /// Whether resolving `record` with `outcome` asks for a re-check of its case.
    func needsCaseRecheck(_ record: ComplaintRecord, outcome: ComplaintOutcome) -> Bool {
        outcome != .notUpheld && record.caseTrackingNumber != nil
            && configuration.rules.caseRecheckCategories.contains(record.category)
    }

    /// What is known about the case before the resolution's transaction.
    enum RecheckCase: Sendable {
        /// No re-check is needed, or the complaint already knows routing's case id.
        case notNeededOrKnown
        case found(caseId: String)
        /// Routing never received the case (e.g. it was rejected at review): nothing to reopen.
        case unknownToRouting
    }

    /// Routing's case id when a re-check is needed and the complaint does not have it (routing
    /// was down at filing). Asked before the transaction, never inside it. Without an answer the
    /// resolution is refused (retryable, nothing written) rather than resolved without the
    /// re-check the complainant was promised.
    func caseForRecheck(_ id: UUID, outcome: ComplaintOutcome) async throws -> RecheckCase {
        guard outcome != .notUpheld else { return .notNeededOrKnown }
        let record = try await database.withConnection { try await store.load(id: id, forUpdate: false, connection: $0) }
        guard let record, record.status == .investigating, needsCaseRecheck(record, outcome: outcome), record.caseId == nil,
            let trackingNumber = record.caseTrackingNumber
        else { return .notNeededOrKnown }
        switch await lookupCase(trackingNumber) {
        case .found(let assignment): return .found(caseId: assignment.caseId)
        case .unknown: return .unknownToRouting
        case .unavailable(let why):
            throw RPCError.unavailable(
                "complaint \(record.number) upholds a complaint about the decision on case \(trackingNumber), which asks routing to re-check the case, but routing could not be asked for it (\(why)); nothing was changed: resolve again when routing answers",
                zh: "投诉 \(record.number) 认定对办件 \(trackingNumber) 的决定投诉成立，需要分办服务复查该办件，但未能联系分办服务（\(why)）；未作任何更改，请在分办服务恢复后重新办结"
            )
        }
    }

    /// Inside the resolution's transaction: enqueues `routing.reopen` once per complaint, or notes
    /// why no re-check could be asked for.
    func requestCaseRecheck(
        _ record: inout ComplaintRecord, outcome: ComplaintOutcome, resolution: String, known: RecheckCase,
        actor: ComplaintStore.Actor, connection: PostgresConnection
    ) async throws {
        guard needsCaseRecheck(record, outcome: outcome), let trackingNumber = record.caseTrackingNumber else { return }
        if case .found(let caseId) = known, record.caseId == nil { record.caseId = caseId }
        guard let caseId = record.caseId else {
            try await store.addNote(
                complaintID: record.id, investigatorID: "system",
                note: "no re-check of case \(trackingNumber) was requested: routing holds no such case (it never reached processing, e.g. it was rejected at review)",
                evidenceRefs: [], connection: connection
            )
            return
        }
        let messageID = UUID.v7()
        guard try await store.insertCaseRecheck(
            complaintID: record.id, caseID: caseId, trackingNumber: trackingNumber, outcome: outcome, messageID: messageID,
            connection: connection
        ) else { return }
        let reason = String("complaint \(record.number) about the decision on case \(trackingNumber) was \(outcome == .upheld ? "upheld" : "partly upheld"): \(resolution)".prefix(Self.maxRecheckReasonLength))
        // Keyed by the case, not the complaint: a routing outage must not hold back the
        // complaint's own notifications, and messages about one case stay in order.
        try await Outbox.enqueue(
            RoutingReopen.self, RoutingReopen.Params(caseId: caseId, reason: reason, complaintNumber: record.number), to: OneStopService.routing.rawValue,
            aggregateKey: "case/\(caseId)", messageID: messageID, on: connection
        )
        try await store.audit(
            complaintID: record.id, action: "case_recheck_requested", from: record.status, to: record.status, actor: actor,
            before: nil, after: ["caseId": caseId, "caseTrackingNumber": trackingNumber, "outcome": outcome.rawValue],
            connection: connection
        )
    }
}
