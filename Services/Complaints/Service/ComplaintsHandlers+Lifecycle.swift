import Contracts
import LineProtocol
import Postgres
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

extension ComplaintsHandlers {
    // MARK: Classification override

    func classify(_ params: ComplaintsClassify.Params, context: RPCContext) async throws -> ComplaintView {
        let id = try Self.complaintID(params.complaintId)
        let rules = configuration.rules
        if let category = params.category, !rules.categories.contains(category) {
            throw RPCError.invalidParams("category: \(category) is not a complaint category (one of \(rules.categories.joined(separator: ", ")))", zh: "category：\(category) 不是投诉类别（须为以下之一：\(rules.categories.joined(separator: ", "))）")
        }
        let department = try Self.optionalReference(params.department, field: "department")
        let caseHandlerId = try Self.optionalReference(params.caseHandlerId, field: "caseHandlerId")
        let reason = try Self.text(params.reason, field: "reason", required: false, maxLength: 1000)
        guard params.category != nil || params.severity != nil || department != nil || caseHandlerId != nil else {
            throw RPCError.invalidParams("give a category, severity, department or caseHandlerId to change", zh: "请提供要更改的 category、severity、department 或 caseHandlerId")
        }
        let actor = self.actor(context, default: "officer")
        return try await transition(id, .classify, context: context, actor: actor) { record, connection in
            let reclassified = (params.category.map { $0 != record.category } ?? false)
                || (params.severity.map { $0 != record.severity } ?? false)
            if reclassified {
                guard let reason else {
                    throw RPCError.invalidParams("reason: changing the category or severity set by the rules needs a reason, which is recorded", zh: "reason：更改按规则确定的类别或严重程度须说明理由，理由将被记录")
                }
                record.category = params.category ?? record.category
                record.severity = params.severity ?? record.severity
                record.classificationReasons.append("officer \(actor.id): \(reason)")
                try await store.recordClassification(
                    complaintID: record.id, category: record.category, severity: record.severity, source: "officer",
                    reason: reason, actorID: actor.id, connection: connection
                )
            }
            if let department {
                record.department = department
                record.departmentSource = "officer"
                record.departmentMissingReason = nil
            }
            if let caseHandlerId { record.caseHandlerId = caseHandlerId }
            try await route(&record, reason: reason.map { "officer \(actor.id): \($0)" } ?? "", actor: actor, connection: connection)
        }
    }

    // MARK: Handling

    func acknowledge(_ params: ComplaintsAcknowledge.Params, context: RPCContext) async throws -> ComplaintView {
        let id = try Self.complaintID(params.complaintId)
        let note = try Self.text(params.note, field: "note", required: false)
        let actor = self.actor(context, default: "officer")
        return try await transition(id, .acknowledge, context: context, actor: actor) { record, connection in
            record.firstResponseAt = Date()
            if let note {
                try await store.addNote(complaintID: record.id, investigatorID: actor.id, note: "first contact: \(note)", evidenceRefs: [], connection: connection)
            }
        }
    }

    func investigate(_ params: ComplaintsInvestigate.Params, context: RPCContext) async throws -> ComplaintView {
        let id = try Self.complaintID(params.complaintId)
        let note = try Self.text(params.note, field: "note", required: true)!
        let evidence = try (params.evidenceRefs ?? []).map { reference throws(RPCError) in
            try Self.optionalReference(reference, field: "evidenceRefs", maxLength: 500)!
        }
        guard evidence.count <= Self.maxEvidenceRefs else {
            throw RPCError.invalidParams("evidenceRefs: at most \(Self.maxEvidenceRefs) references per note", zh: "evidenceRefs：每条记录最多 \(Self.maxEvidenceRefs) 个证据引用")
        }
        guard let investigatorID = params.investigator?.id ?? context.meta.actor?.id, !investigatorID.isEmpty else {
            throw RPCError.invalidParams("investigator: say who investigates (or call on behalf of an authenticated officer)", zh: "investigator：请注明调查人（或以已登录工作人员的身份调用）")
        }
        let actor = self.actor(context, default: investigatorID)
        return try await transition(id, .investigate, context: context, actor: actor) { record, connection in
            if let handler = record.caseHandlerId, handler == investigatorID {
                throw RPCError.forbidden("\(investigatorID) handles the case complained about and cannot investigate complaint \(record.number); choose another investigator", zh: "\(investigatorID) 是被投诉办件的经办人，不能调查投诉 \(record.number)；请另选调查人")
            }
            try await store.addNote(complaintID: record.id, investigatorID: investigatorID, note: note, evidenceRefs: evidence, connection: connection)
        }
    }

    func resolve(_ params: ComplaintsResolve.Params, context: RPCContext) async throws -> ComplaintView {
        let id = try Self.complaintID(params.complaintId)
        let resolution = try Self.text(params.resolution, field: "resolution", required: true)!
        let remedy = try Self.text(params.remedy, field: "remedy", required: false, maxLength: 1000)
        guard configuration.rules.rootCauses.contains(params.rootCause) else {
            throw RPCError.invalidParams("rootCause: \(params.rootCause) is not a root-cause code (one of \(configuration.rules.rootCauses.joined(separator: ", ")))", zh: "rootCause：\(params.rootCause) 不是原因代码（须为以下之一：\(configuration.rules.rootCauses.joined(separator: ", "))）")
        }
        let actor = self.actor(context, default: "officer")
        let recheck = try await caseForRecheck(id, outcome: params.outcome)
        return try await transition(id, .resolve, context: context, actor: actor) { record, connection in
            try await requestCaseRecheck(
                &record, outcome: params.outcome, resolution: resolution, known: recheck, actor: actor, connection: connection
            )
            record.outcome = params.outcome
            record.resolution = resolution
            record.remedy = remedy
            record.rootCause = params.rootCause
            record.resolvedAt = Date()
            if record.hasContact {
                try await notifyComplainant(
                    record, template: .complaintResolved,
                    key: "complaints/\(record.id.lowercasedString)/resolved/\(record.reopenCount)",
                    variables: ["resolution": resolution], connection: connection
                )
            }
        }
    }

    func accept(_ params: ComplaintsAccept.Params, context: RPCContext) async throws -> ComplaintView {
        let id = try Self.complaintID(params.complaintId)
        return try await transition(id, .accept, context: context, actor: actor(context, default: "complainant")) { record, _ in
            record.acceptedAt = Date()
        }
    }

    func reopen(_ params: ComplaintsReopen.Params, context: RPCContext) async throws -> ComplaintView {
        let id = try Self.complaintID(params.complaintId)
        let reason = try Self.text(params.reason, field: "reason", required: true, maxLength: 1000)!
        let actor = self.actor(context, default: "complainant")
        return try await transition(id, .reopen, context: context, actor: actor) { record, connection in
            record.reopenCount += 1
            try await store.addNote(complaintID: record.id, investigatorID: actor.id, note: "reopened: \(reason)", evidenceRefs: [], connection: connection)
        }
    }

    func close(_ params: ComplaintsClose.Params, context: RPCContext) async throws -> ComplaintView {
        let id = try Self.complaintID(params.complaintId)
        let note = try Self.text(params.note, field: "note", required: false)
        let actor = self.actor(context, default: "officer")
        return try await transition(id, .close, context: context, actor: actor) { record, connection in
            record.closedAt = Date()
            if let note {
                try await store.addNote(complaintID: record.id, investigatorID: actor.id, note: "closed: \(note)", evidenceRefs: [], connection: connection)
            }
        }
    }

    // MARK: Reading

    func get(_ params: ComplaintsGet.Params, context: RPCContext) async throws -> ComplaintsGet.Result {
        let id = try params.complaintId.map { text throws(RPCError) in try Self.complaintID(text) }
        let number = try Self.optionalReference(params.complaintNumber, field: "complaintNumber")
        guard id != nil || number != nil else {
            throw RPCError.invalidParams("give complaintId or complaintNumber", zh: "请提供 complaintId 或 complaintNumber")
        }
        return try await database.withConnection { connection in
            let record: ComplaintRecord? = if let id {
                try await store.load(id: id, forUpdate: false, connection: connection)
            } else {
                try await store.load(number: number!, connection: connection)
            }
            guard let record else {
                throw RPCError.notFound("no complaint \(id?.lowercasedString ?? number ?? "")", zh: "未找到投诉 \(id?.lowercasedString ?? number ?? "")")
            }
            return try await store.details(of: record, connection: connection)
        }
    }

    func list(_ params: ComplaintsList.Params, context: RPCContext) async throws -> ComplaintsList.Result {
        let limit = params.limit ?? 50
        guard (1...200).contains(limit) else { throw RPCError.invalidParams("limit: 1 to 200", zh: "limit：1 至 200") }
        let cursor = try params.cursor.map { text throws(RPCError) in
            guard let id = UUID(uuidString: text) else {
                throw RPCError.invalidParams("cursor: pass the nextCursor of the previous page unchanged", zh: "cursor：请原样传回上一页的 nextCursor")
            }
            return id
        }
        let records = try await database.withConnection { connection in
            try await store.list(params, cursor: cursor, limit: limit + 1, connection: connection)
        }
        let page = Array(records.prefix(limit))
        return ComplaintsList.Result(
            items: page.map(\.view),
            nextCursor: records.count > limit ? page.last?.id.lowercasedString : nil
        )
    }

    // MARK: Satisfaction

    static let maxAccessCodeLength = 40

    /// Asks intake whether `code` opens case `trackingNumber` (the gateway checks it for customers
    /// and does not forward it; a caller that forwards one has it checked here). Refuses a wrong
    /// code, and, when intake cannot be asked, refuses rather than rate unchecked.
    func checkAccessCode(_ code: String, trackingNumber: String) async throws -> CustomerCaseView {
        let code = code.trimmingCharacters(in: .whitespaces)
        guard !code.isEmpty, code.count <= Self.maxAccessCodeLength else {
            throw RPCError.invalidParams("accessCode: 1 to \(Self.maxAccessCodeLength) characters, or leave it out", zh: "accessCode：1 至 \(Self.maxAccessCodeLength) 个字符，或不填")
        }
        guard let intake else {
            throw RPCError.unavailable("intake is not configured, so the access code cannot be checked; nothing was rated", zh: "未配置受理服务，无法核对查询码，评价未提交")
        }
        do {
            return try await intake.call(
                IntakeTrackCase.self, CustomerCredentials(trackingNumber: trackingNumber, accessCode: code),
                timeout: configuration.routingTimeout
            )
        } catch let error as RPCError where error.kind == .notFound || error.kind == .forbidden || error.kind == .invalidParams {
            throw RPCError.notFound("no case matches tracking number \(trackingNumber) and this access code; nothing was rated (check the code on the acceptance notice)", zh: "没有与受理编号 \(trackingNumber) 和此查询码相符的办件，评价未提交（请核对受理通知上的查询码）")
        } catch {
            throw RPCError.unavailable("intake could not check the access code (\(String(describing: error).prefix(200))); nothing was rated: try again", zh: "受理服务未能核对查询码（\(String(describing: error).prefix(200))），评价未提交，请重试")
        }
    }

    func rate(_ params: ComplaintsRate.Params, context: RPCContext) async throws -> ComplaintsRate.Result {
        guard let tracking = try Self.optionalReference(params.trackingNumber, field: "trackingNumber") else {
            throw RPCError.invalidParams("trackingNumber: required", zh: "trackingNumber：必填")
        }
        guard (1...5).contains(params.score) else { throw RPCError.invalidParams("score: a whole number from 1 to 5", zh: "score：1 至 5 的整数") }
        for (field, value) in [("timeliness", params.timeliness), ("attitude", params.attitude), ("clarity", params.clarity)] {
            if let value, !(1...5).contains(value) { throw RPCError.invalidParams("\(field): a whole number from 1 to 5, or leave it out", zh: "\(field)：1 至 5 的整数，或不填") }
        }
        var params = params
        params.trackingNumber = tracking
        params.comment = try Self.text(params.comment, field: "comment", required: false, maxLength: 2000)
        params.department = try Self.optionalReference(params.department, field: "department")
        params.serviceType = try Self.optionalReference(params.serviceType, field: "serviceType")
        let customer = try params.customer.map { input throws(RPCError) in try validate(input, field: "customer", contactRequired: false) }
        if let code = params.accessCode {
            let checked = try await checkAccessCode(code, trackingNumber: tracking)
            // Intake's department and service type win over what the caller said.
            params.department = checked.department ?? params.department
            params.serviceType = checked.serviceType ?? params.serviceType
        }
        let actor = self.actor(context, default: "customer")
        let rated = params
        let threshold = configuration.rules.lowRatingThreshold
        // A low rating opens a follow-up: routing is asked before the transaction, not inside it.
        let lookup: CaseLookup? = rated.score <= threshold ? await lookupCase(tracking) : nil
        let result = try await inbox.receive(context) { connection in
            guard let ratingID = try await store.insertRating(rated, id: UUID.v7(), connection: connection) else {
                throw RPCError.conflict("case \(tracking) has already been rated; each case is rated once", zh: "办件 \(tracking) 已评价过；每件办件只能评价一次")
            }
            try await store.audit(
                complaintID: nil, ratingID: ratingID, action: "rated", from: nil, to: nil, actor: actor, before: nil,
                after: ["trackingNumber": tracking, "score": String(rated.score)], connection: connection
            )
            var followUp: ComplaintView?
            if rated.score <= threshold {
                let comment = rated.comment.map { ": \($0)" } ?? ""
                var filing = Filing(
                    name: customer?.0 ?? "Customer of case \(tracking)", phone: customer?.1, email: customer?.2,
                    locale: rated.customer?.locale ?? .zhCN, channel: .online,
                    content: "Low satisfaction rating (\(rated.score)/5) for case \(tracking)\(comment)",
                    caseTrackingNumber: tracking, caseOverdue: false, vulnerable: false, department: rated.department,
                    caseHandlerId: nil, idempotencyKey: nil, sourceRatingId: ratingID, fixedCategory: nil,
                    departmentSource: rated.department == nil ? nil : "filing",
                    departmentMissingReason: rated.department == nil ? "the rating named no department" : nil
                )
                if let lookup { filing = Self.apply(lookup, to: filing) }
                let complaint = try await file(filing, actor: ComplaintStore.Actor(id: "system", role: "satisfaction", trace: actor.trace), connection: connection)
                try await store.linkFollowUp(ratingID: ratingID, complaintID: try Self.complaintID(complaint.id), connection: connection)
                followUp = complaint
            }
            return ComplaintsRate.Result(ratingId: ratingID.lowercasedString, followUpComplaint: followUp)
        }
        logger.info("case rated", metadata: ["rating.id": "\(result.ratingId)", "rating.followUp": "\(result.followUpComplaint?.id ?? "none")"])
        return result
    }
}
