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

/// Progress reported by review and routing (`intake.recordProgress`): the case's status and
/// timeline follow it, and the customer is told where the step calls for it.
///
/// Review and routing each deliver in order, but not in order with each other (routing may say
/// "routed" before review's "approved" arrives), so a status only ever moves forward; every
/// event still lands in the timeline.
struct ProgressHandlers: Sendable {
    let database: PostgresPool
    let notices: CustomerNotices
    let settings: IntakeSettings
    let inbox: Inbox

    /// What the customer is told of an extension: the handler's reason (`reasons`, as routing
    /// reports it). The department head's approval `note` is internal and only a fallback for
    /// reporters that send no reasons.
    static func extensionReason(_ params: IntakeRecordProgress.Params) -> String? {
        let reasons = (params.reasons ?? []).filter { !$0.isEmpty }
        return reasons.isEmpty ? params.note : reasons.joined(separator: "; ")
    }

    /// How far along a status is; a report never moves a case back (except reopen and return).
    static func stage(_ status: CaseStatus) -> Int {
        switch status {
        case .awaitingMaterials, .returned: 0
        case .accepted: 1
        case .inReview: 2
        case .approved: 3
        case .routed: 4
        case .inProgress, .infoRequested: 5
        case .completed: 6
        case .rejected, .notAccepted, .lapsed, .withdrawn: 7
        case .closed: 8
        }
    }

    func record(_ params: IntakeRecordProgress.Params, _ context: RPCContext) async throws -> IntakeRecordProgress.Result {
        guard let id = UUID(uuidString: params.caseId) else { throw RPCError.invalidParams("caseId: not a UUID", zh: "caseId：不是有效的 UUID") }
        switch params.event {
        case .reviewRejected where (params.reasons ?? []).isEmpty:
            throw RPCError.invalidParams("reasons: a rejection carries at least one reason", zh: "reasons：不予通过至少需要一条理由")
        case .reviewReturned where (params.items ?? []).isEmpty:
            throw RPCError.invalidParams("items: a return for supplement lists the items", zh: "items：退回补正须列出需补正的事项")
        case .completed where (params.result ?? "").isEmpty:
            throw RPCError.invalidParams("result: a completed case carries its result", zh: "result：办结的办件须附办理结果")
        case .extended where params.dueDate.flatMap(LocalDate.init) == nil:
            throw RPCError.invalidParams("dueDate: an extension carries the new due date as YYYY-MM-DD", zh: "dueDate：延期须附新的办结期限，格式为 YYYY-MM-DD")
        default:
            break
        }
        return try await inbox.receive(context) { connection in
            // The case, locked, and its service type in one round trip.
            let rows = try await connection.query("""
                SELECT \(unsafeRaw: CaseStore.columns),
                       (SELECT s.definition::text FROM catalog_service_types s WHERE s.code = cases.service_type) AS service_definition
                FROM cases WHERE id = \(id) FOR UPDATE
                """)
            guard let row = rows.first else {
                throw RPCError.notFound("no case \(params.caseId)", zh: "未找到办件 \(params.caseId)")
            }
            var record = try CaseStore.decode(row)
            let serviceType = try ServiceCatalog.serviceType(definition: row.decode(String?.self, column: "service_definition"))
            let serviceName = serviceType?.name.text(record.locale) ?? record.serviceType
            let actor = params.actor?.id ?? context.caller ?? "system"
            let before = record.status
            let (target, detail, isPublic) = transition(for: params, record: record)
            var moved = false
            if let target, target != record.status, allowed(from: record.status, to: target, event: params.event) {
                moved = true
                record.status = target
            }
            let finished = moved && target?.isFinal == true
            let newDue = params.dueDate.flatMap(LocalDate.init)?.description
            let department = params.department
            let handler = params.handler?.id
            let deadline = params.event == .reviewReturned
                ? settings.calendar.adding(workingDays: serviceType?.materialsDeadlineWorkingDays ?? 10, to: settings.calendar.today()).description : nil
            var notice: MaterialsNotice?
            if params.event == .reviewReturned && moved {
                notice = MaterialsNotice(
                    items: (params.items ?? []).enumerated().map { NoticeItem(code: "review-\($0.offset + 1)", name: $0.element, problem: .other) },
                    deadline: deadline!, issuedAt: params.occurredAt, updated: false
                )
            }
            // The case's new state, its timeline entry and its audit row in one statement, which
            // also hands back the case as the customer notice needs it.
            let audited = AuditTrail.insertion(
                "case.progress.\(params.event.rawValue)", by: AuditActor(id: actor, role: params.actor?.role ?? context.caller),
                caseID: id, before: ["status": .string(before.rawValue)], after: ["status": .string(record.status.rawValue)], context: context
            )
            let updated = try await connection.query("""
                WITH changed AS (
                    UPDATE cases SET status = \(record.status.rawValue),
                        department = COALESCE(\(department), department),
                        handler_id = COALESCE(\(handler), handler_id),
                        due_date = COALESCE(\(newDue)::date, due_date),
                        finished_at = CASE WHEN \(finished) THEN \(params.occurredAt) ELSE finished_at END,
                        notice = CASE WHEN \(notice != nil) THEN \(try notice.map { try CaseStore.jsonb($0) }) ELSE notice END,
                        notice_deadline = CASE WHEN \(notice != nil) THEN \(deadline)::date ELSE notice_deadline END,
                        noticed_items = CASE WHEN \(notice != nil) THEN \(notice?.items.map(\.code) ?? []) ELSE noticed_items END
                    WHERE id = \(id)
                    RETURNING \(unsafeRaw: CaseStore.columns)
                ), timeline AS (
                    \(CaseStore.timelineInsertion(id, event: params.event.rawValue, actor: actor, detail: detail, public: isPublic, at: params.occurredAt))
                ), audited AS (\(audited))
                SELECT * FROM changed
                """)
            if let row = updated.first { record = try CaseStore.decode(row) }
            try await tellCustomer(params, record: record, serviceName: serviceName, moved: moved, returnDeadline: deadline, on: connection)
            return IntakeRecordProgress.Result(caseId: record.caseID, status: record.status)
        }
    }

    private func allowed(from current: CaseStatus, to target: CaseStatus, event: ProgressEvent) -> Bool {
        switch event {
        case .reopened: return current == .completed || current == .rejected || current == .closed
        case .reviewReturned: return Self.stage(current) >= 1 && Self.stage(current) <= 3
        case .infoReceived: return current == .infoRequested
        default: return !current.isFinal && Self.stage(target) >= Self.stage(current)
        }
    }

    /// The status an event leads to, the timeline text, and whether the customer sees it.
    private func transition(for params: IntakeRecordProgress.Params, record: CaseRecord) -> (CaseStatus?, String?, Bool) {
        let english = record.locale == .en
        switch params.event {
        case .reviewAssigned: return (.inReview, nil, true)
        case .reviewApproved: return (.approved, params.opinion, false)
        case .reviewRejected: return (.rejected, (params.reasons ?? []).joined(separator: "; "), true)
        case .reviewReturned: return (.returned, (params.items ?? []).joined(separator: "; "), true)
        case .routed:
            return (.routed, params.departmentName ?? params.department, true)
        case .processingAccepted: return (.inProgress, nil, true)
        case .infoRequested: return (.infoRequested, (params.items ?? []).joined(separator: "; "), true)
        case .infoReceived: return (.inProgress, nil, true)
        case .extended:
            return (nil, (english ? "new due date " : "新的办结日期 ") + (params.dueDate ?? "") + (Self.extensionReason(params).map { " — \($0)" } ?? ""), true)
        case .transferred: return (nil, params.departmentName ?? params.department, true)
        case .completed: return (.completed, params.result, true)
        case .reopened: return (.inProgress, params.note, true)
        case .overdue, .escalated: return (nil, params.note, false)
        }
    }

    private func tellCustomer(
        _ params: IntakeRecordProgress.Params, record: CaseRecord, serviceName: String, moved: Bool,
        returnDeadline: String?, on connection: PostgresConnection
    ) async throws {
        let suffix = "progress/\(params.event.rawValue)/\(Int64(params.occurredAt.timeIntervalSince1970 * 1000))"
        switch params.event {
        case .reviewRejected where moved:
            try await notices.send(.caseRejected, for: record, serviceName: serviceName,
                                   variables: ["reasons": (params.reasons ?? []).joined(separator: "; ")], keySuffix: suffix, on: connection)
        case .reviewReturned where moved:
            try await notices.send(.caseReturned, for: record, serviceName: serviceName,
                                   variables: ["items": (params.items ?? []).joined(separator: "; "), "deadline": returnDeadline ?? ""],
                                   keySuffix: suffix, on: connection)
        case .infoRequested where moved:
            try await notices.send(.caseInfoRequested, for: record, serviceName: serviceName,
                                   variables: ["question": (params.items ?? []).joined(separator: "; ")], keySuffix: suffix, on: connection)
        case .extended:
            try await notices.send(.caseExtended, for: record, serviceName: serviceName,
                                   variables: ["newDueDate": params.dueDate ?? "", "reason": Self.extensionReason(params) ?? "-"],
                                   keySuffix: suffix, on: connection)
        case .completed where moved:
            if let pickup = params.pickup {
                try await notices.send(.caseCompletedWithPickup, for: record, serviceName: serviceName,
                                       variables: ["result": params.result ?? "", "pickupTime": pickup.time, "pickupPlace": pickup.place, "pickupWay": pickup.way],
                                       keySuffix: suffix, on: connection)
            } else {
                try await notices.send(.caseCompleted, for: record, serviceName: serviceName,
                                       variables: ["result": params.result ?? ""], keySuffix: suffix, on: connection)
            }
            try await notices.send(.caseSurveyInvitation, for: record, serviceName: serviceName, variables: [:],
                                   keySuffix: suffix + "/survey", on: connection)
        default:
            break
        }
    }
}
