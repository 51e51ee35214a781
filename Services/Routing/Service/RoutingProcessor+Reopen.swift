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

/// `routing.reopen`: a completed case goes back to processing (an upheld objection, or an upheld
/// complaint about the decision), and a complaint's re-check of a case still in progress is
/// recorded on it.
///
/// A staff request keeps the strict rules (only a completed case can be reopened; an unknown
/// case is `not_found`). A re-check request, one naming a complaint or sent by a service without
/// an actor (complaints' outbox), gets an outcome for every state instead of an error, because an
/// error there would end as a dead letter. Everything runs in one transaction through the inbox,
/// and a complaint's slip is written once per case, so a repeat answers the first outcome and
/// changes nothing.
extension RoutingProcessor {
    /// The longest complaint number taken.
    static let maxComplaintNumberLength = 64

    func reopen(_ p: RoutingReopen.Params, context: RPCContext) async throws -> RoutingReopen.Result {
        try Self.requireText(p.reason, "reason", max: 2_000)
        let key = try Self.lookupKey(RoutingCaseLookup(trackingNumber: p.trackingNumber, caseId: p.caseId))
        var complaint: String?
        if let number = p.complaintNumber {
            try Self.requireText(number, "complaintNumber", max: Self.maxComplaintNumberLength)
            guard !number.contains(where: \.isNewline) else { throw RPCError.invalidParams("complaintNumber must be on one line", zh: "complaintNumber 只能占一行") }
            complaint = number.trimmingCharacters(in: .whitespaces)
        }
        let isRecheck = complaint != nil || context.meta.actor == nil
        let reason = if let complaint, !p.reason.contains(complaint) { "complaint \(complaint): \(p.reason)" } else { p.reason }

        return try await Inbox(database: database).receive(context) { c in
            guard let caseId = try await Self.caseId(key, on: c),
                  let a = try await RoutingStore.assignment(caseId: caseId, forUpdate: true, on: c)
            else {
                let named = switch key { case .caseId(let id): id; case .trackingNumber(let number): number }
                guard isRecheck else {
                    throw RPCError.notFound("routing holds no case \(named); it is not yet approved, or the \(p.caseId == nil ? "number" : "id") is wrong", zh: "分办服务中没有办件 \(named)：办件尚未审核通过，或\(p.caseId == nil ? "编号" : " id ")有误")
                }
                return RoutingReopen.Result(
                    outcome: .notHeld,
                    message: "routing has never received case \(named) (not yet approved, rejected at review, or a wrong \(p.caseId == nil ? "number" : "id")): there is nothing to re-check\(complaint.map { " for complaint \($0)" } ?? "")",
                    assignment: nil
                )
            }
            let department = try await RoutingStore.department(a.department, on: c)
            let actor = try Self.authorise(context, assignment: a, head: department?.head?.id, allowed: [.head, .officer, .system], action: "reopen")

            if let complaint, let earlier = try await RoutingStore.complaintSlip(assignment: a.id, complaintNumber: complaint, on: c) {
                let when = JSONDateFormat.string(from: earlier.at) ?? "earlier"
                return RoutingReopen.Result(
                    outcome: earlier.kind == .reopen ? .reopened : .recheckRecorded,
                    message: "complaint \(complaint) already \(earlier.kind == .reopen ? "had case \(a.caseId) reopened" : "has its re-check recorded on case \(a.caseId)") (\(when)); nothing more was done",
                    assignment: try await view(of: a, on: c)
                )
            }
            if a.state == .completed {
                return try await reopenCompleted(a, reason: reason, complaint: complaint, actor: actor, department: department, context: context, on: c)
            }
            guard isRecheck else {
                try RoutingTransitions.check(.reopen, from: a.state, caseId: a.caseId)
                throw RPCError.internal("case \(a.caseId) is \(a.state.rawValue) and yet reopenable")
            }
            return try await recordRecheck(a, reason: reason, complaint: complaint, actor: actor, department: department, context: context, on: c)
        }
    }

    /// The case id a lookup key names; nil when routing holds no such tracking number.
    private static func caseId(_ key: LookupKey, on c: PostgresConnection) async throws -> String? {
        switch key {
        case .caseId(let id): id
        case .trackingNumber(let number): try await RoutingStore.assignment(trackingNumber: number, on: c)?.caseId
        }
    }

    /// A completed case is in progress again; its time limit starts again today (earlier pauses
    /// and extensions stay on record). Intake is told (`reopened`).
    private func reopenCompleted(
        _ before: AssignmentRecord, reason: String, complaint: String?, actor: Acting, department: DepartmentRecord?,
        context: RPCContext, on c: PostgresConnection
    ) async throws -> RoutingReopen.Result {
        var a = before
        a.state = .inProgress
        a.acceptedOn = settings.today
        a.pausedDays = 0
        a.extendedDays = 0
        a.result = nil
        a.pickup = nil
        a.completedAt = nil
        a.dueDate = a.recomputedDueDate(on: calendar)
        if let handler = a.handlerId { try await RoutingStore.handlerTookCase(handler, on: c) }
        let now = settings.now()
        _ = try await writeSlip(.reopen, for: a, from: before, reason: reason, complaint: complaint, actor: actor, at: now, on: c)
        try await RoutingStore.updateAssignment(a, atRiskOn: settings.atRiskDate(of: a), at: now, on: c)
        let handlerName = try await a.handlerId.asyncMap { try await RoutingStore.handler($0, on: c)?.name } ?? nil
        let view = a.view(handlerName: handlerName)
        try await RoutingStore.audit(
            actor: actor.id, role: actor.kind.rawValue, action: "assignment.reopen", subject: "case/\(a.caseId)",
            before: before.view(), after: view, trace: context.meta.traceparent, on: c
        )
        try await RoutingMessages.progress(
            .reopened, of: a, actor: actor.staffRef, departmentName: department?.nameZh, handlerName: handlerName,
            reasons: [reason], at: now, on: c
        )
        return RoutingReopen.Result(
            outcome: .reopened,
            message: "case \(a.caseId) was completed and is in progress again\(complaint.map { " for complaint \($0)" } ?? ""); its time limit counts from today, due \(a.dueDate)",
            assignment: view
        )
    }

    /// A case still in progress keeps its state and due date; the re-check is recorded as a
    /// `recheck` slip and its handler (or, without one, the department head) is told.
    private func recordRecheck(
        _ a: AssignmentRecord, reason: String, complaint: String?, actor: Acting, department: DepartmentRecord?,
        context: RPCContext, on c: PostgresConnection
    ) async throws -> RoutingReopen.Result {
        let now = settings.now()
        let slip = try await writeSlip(.recheck, for: a, from: a, reason: reason, complaint: complaint, actor: actor, at: now, on: c)
        try await RoutingStore.audit(
            actor: actor.id, role: actor.kind.rawValue, action: "assignment.recheck", subject: "case/\(a.caseId)",
            before: nil as String?, after: slip, trace: context.meta.traceparent, on: c
        )
        let handler = try await a.handlerId.asyncMap { try await RoutingStore.handler($0, on: c) } ?? nil
        var told = "nobody could be told (no handler or department head with a contact on file)"
        if let staff = handler?.contact ?? department?.head {
            let sent = try await RoutingMessages.notifyStaff(
                .staffEscalation, to: staff, key: "routing/\(a.caseId)/recheck/\(slip.slipId)",
                variables: [
                    "staffName": staff.name, "subject": "Re-check requested: \(RoutingMessages.subject(of: a))",
                    "reference": a.trackingNumber, "reason": reason,
                ],
                caseId: a.caseId, locale: settings.staffLocale, on: c
            )
            if sent { told = "\(staff.id) was told" }
        }
        return RoutingReopen.Result(
            outcome: .recheckRecorded,
            message: "case \(a.caseId) is \(a.state.rawValue), not completed, so it was not reopened: the re-check\(complaint.map { " asked by complaint \($0)" } ?? "") is recorded on it and \(told); its due date stays \(a.dueDate)",
            assignment: try await view(of: a, on: c)
        )
    }

    /// The case with its slips, as the answer shows it.
    private func view(of a: AssignmentRecord, on c: PostgresConnection) async throws -> RoutingAssignment {
        var view = a.view(handlerName: try await a.handlerId.asyncMap { try await RoutingStore.handler($0, on: c)?.name } ?? nil)
        view.slips = try await RoutingStore.slips(assignment: a.id, on: c)
        return view
    }

    /// Writes a slip from `from`'s department and handler to `a`'s, under the complaint's number
    /// when a complaint asked for it (one slip per complaint and case).
    private func writeSlip(
        _ kind: RoutingSlip.Kind, for a: AssignmentRecord, from: AssignmentRecord, reason: String, complaint: String?,
        actor: Acting, at now: Date, on c: PostgresConnection
    ) async throws -> RoutingSlip {
        let slip = RoutingSlip(
            slipId: UUID.v7(at: now).uuidString.lowercased(), kind: kind, at: now,
            fromDepartment: from.department, fromHandler: from.handlerId, toDepartment: a.department,
            toHandler: a.handlerId, reason: reason, by: actor.id
        )
        if let complaint {
            _ = try await RoutingStore.insertSlip(slip, assignment: a.id, complaintNumber: complaint, on: c)
        } else {
            try await RoutingStore.insertSlip(slip, assignment: a.id, on: c)
        }
        return slip
    }
}
