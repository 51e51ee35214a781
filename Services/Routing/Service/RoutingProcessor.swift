import Contracts
import LineProtocol
import Logging
import Messaging
import Postgres
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Who is acting on a case, as routing recognised them.
struct Acting: Sendable {
    enum Kind: String, Sendable { case handler, head, officer, system }
    var id: String
    var kind: Kind
    var staffRef: StaffRef { StaffRef(id: id, role: kind.rawValue) }
}

/// The handlers of routing's methods: each runs in one transaction that checks the actor and
/// the state, changes the assignment, writes its slip / audit row, and enqueues its messages.
struct RoutingProcessor: Sendable {
    let database: PostgresPool
    let settings: RoutingSettings
    let logger: Logger

    var calendar: WorkCalendar { settings.calendar }

    // MARK: Organisation

    func upsertDepartment(_ p: RoutingDepartment, context: RPCContext) async throws -> RoutingDepartment {
        let actor = try Self.officer(context, action: "maintain departments")
        try Self.requireText(p.code, "code", max: 64)
        try Self.requireText(p.nameZh, "nameZh", max: 200)
        try Self.requireText(p.nameEn, "nameEn", max: 200)
        if let head = p.head {
            try Self.requireText(head.id, "head.id", max: 128)
            try Self.requireText(head.name, "head.name", max: 200)
        }
        return try await database.withTransaction { c in
            let before = try await RoutingStore.department(p.code, on: c).map(Self.view)
            try await RoutingStore.upsertDepartment(p, on: c)
            try await RoutingStore.audit(actor: actor.id, role: actor.kind.rawValue, action: "department.upsert", subject: "department/\(p.code)", before: before, after: p, trace: context.meta.traceparent, on: c)
            return p
        }
    }

    func upsertHandler(_ p: RoutingHandler, context: RPCContext) async throws -> RoutingHandler {
        let actor = try Self.officer(context, action: "maintain handlers")
        try Self.requireText(p.id, "id", max: 128)
        try Self.requireText(p.name, "name", max: 200)
        guard (1...10_000).contains(p.capacity) else {
            throw RPCError.invalidParams("capacity must be 1...10000 open cases, not \(p.capacity)", zh: "capacity 须为 1...10000 件在办办件，而不是 \(p.capacity)")
        }
        guard !p.skills.isEmpty, p.skills.allSatisfy({ !$0.isEmpty && $0.count <= 64 }) else {
            throw RPCError.invalidParams("skills must list at least one service type (each 1...64 characters)", zh: "skills 须至少列出一个事项（每项 1...64 个字符）")
        }
        return try await database.withTransaction { c in
            guard try await RoutingStore.department(p.department, on: c) != nil else {
                throw RPCError.notFound("department \(p.department) does not exist; create it with routing.upsertDepartment first", zh: "部门 \(p.department) 不存在；请先用 routing.upsertDepartment 创建")
            }
            let before = try await RoutingStore.handler(p.id, on: c).map { ["department": $0.department, "name": $0.name, "active": "\($0.active)"] }
            try await RoutingStore.upsertHandler(p, on: c)
            var stored = p
            stored.openCases = nil
            try await RoutingStore.audit(actor: actor.id, role: actor.kind.rawValue, action: "handler.upsert", subject: "handler/\(p.id)", before: before, after: stored, trace: context.meta.traceparent, on: c)
            return stored
        }
    }

    func setRule(_ p: RoutingSetRule.Params, context: RPCContext) async throws -> RoutingSetRule.Result {
        let actor = try Self.officer(context, action: "maintain routing rules")
        try Self.requireText(p.serviceType, "serviceType", max: 64)
        return try await database.withTransaction { c in
            if let department = p.department, try await RoutingStore.department(department, on: c) == nil {
                throw RPCError.notFound("department \(department) does not exist; create it with routing.upsertDepartment first", zh: "部门 \(department) 不存在；请先用 routing.upsertDepartment 创建")
            }
            let before = try await RoutingStore.rules(serviceType: p.serviceType, on: c)
            try await RoutingStore.setRule(serviceType: p.serviceType, priority: p.priority?.rawValue ?? "*", department: p.department, on: c)
            let after = try await RoutingStore.rules(serviceType: p.serviceType, on: c)
            try await RoutingStore.audit(actor: actor.id, role: actor.kind.rawValue, action: "rule.set", subject: "rule/\(p.serviceType)", before: before, after: after, trace: context.meta.traceparent, on: c)
            return .init(rules: after)
        }
    }

    func seedOrganisation(_ p: RoutingSeedOrganisation.Params, context: RPCContext) async throws -> RoutingSeedOrganisation.Result {
        let actor = try Self.officer(context, action: "seed the organisation")
        let seed = try OrganisationSeed.load(settings.organisationSeedFile)
        return try await database.withTransaction { c in
            try await seed.apply(onlyIfEmpty: p.onlyIfEmpty ?? false, actor: actor.id, role: actor.kind.rawValue, trace: context.meta.traceparent, on: c)
        }
    }

    func listOrganisation() async throws -> RoutingListOrganisation.Result {
        try await database.withConnection { c in
            RoutingListOrganisation.Result(
                departments: try await RoutingStore.departments(on: c).map(Self.view),
                handlers: try await RoutingStore.handlers(on: c),
                rules: try await RoutingStore.rules(on: c)
            )
        }
    }

    // MARK: Dispatch

    func dispatch(_ p: RoutingDispatch.Params, context: RPCContext) async throws -> RoutingDispatch.Result {
        try Self.requireText(p.caseId, "caseId", max: 128)
        try Self.requireText(p.trackingNumber, "trackingNumber", max: 64)
        try Self.requireText(p.serviceType, "serviceType", max: 64)
        try Self.requireText(p.department, "department", max: 64)
        guard (0...3_650).contains(p.timeLimitWorkingDays) else {
            throw RPCError.invalidParams("timeLimitWorkingDays must be 0...3650, not \(p.timeLimitWorkingDays)", zh: "timeLimitWorkingDays 须为 0...3650，而不是 \(p.timeLimitWorkingDays)")
        }
        return try await Inbox(database: database).receive(context) { c in
            let now = settings.now()
            let target = try await RoutingStore.dispatchTarget(serviceType: p.serviceType, priority: p.priority, fallback: p.department, on: c)
            if target.departmentRecord == nil {
                logger.warning("dispatch to a department routing does not know; the case waits in its queue", metadata: ["case.id": "\(p.caseId)", "department": "\(target.department)"])
            }
            let handler = target.handler
            // On routing's timeline: under a sped-up test clock the acceptance instant is mapped too.
            let acceptedOn = calendar.today(at: settings.instant(p.acceptedAt))
            let limit = settings.effectiveLimit(catalogDays: p.timeLimitWorkingDays, urgent: p.priority == .urgent)
            var record = AssignmentRecord(
                id: UUID.v7(at: now), caseId: p.caseId, trackingNumber: p.trackingNumber, serviceType: p.serviceType,
                serviceName: p.serviceName, priority: p.priority, confidentiality: p.confidentiality.rawValue,
                customerName: p.customerName, department: target.department, handlerId: handler?.id, state: .assigned,
                acceptedOn: acceptedOn, timeLimitDays: limit, pausedDays: 0, extendedDays: 0,
                maxExtensionDays: settings.maxExtensionWorkingDays, dueDate: acceptedOn
            )
            record.dueDate = record.recomputedDueDate(on: calendar)
            let slip = RoutingSlip(
                slipId: UUID.v7(at: now).uuidString.lowercased(), kind: .dispatch, at: now,
                fromDepartment: nil, fromHandler: p.approvedBy.id, toDepartment: target.department, toHandler: handler?.id,
                reason: p.opinion.map { "approved: \($0)" } ?? "approved by \(p.approvedBy.id)", by: p.approvedBy.id
            )
            let created = try await RoutingStore.recordDispatch(
                record, atRiskOn: settings.atRiskDate(of: record), at: now, slip: slip,
                auditActor: p.approvedBy.id, auditAfter: record.view(handlerName: handler?.name), trace: context.meta.traceparent, on: c
            )
            guard created else {
                // Dispatched already, by another message carrying the same case: its answer.
                guard let existing = try await RoutingStore.assignment(caseId: p.caseId, forUpdate: false, on: c) else {
                    throw RPCError.unavailable("case \(p.caseId) was being dispatched concurrently; try again")
                }
                let name = try await existing.handlerId.asyncMap { try await RoutingStore.handler($0, on: c)?.name } ?? nil
                return RoutingDispatch.Result(
                    assignmentId: existing.id.uuidString.lowercased(), department: existing.department,
                    handler: existing.handlerId.map { StaffRef(id: $0, name: name, role: "handler") },
                    dueDate: existing.dueDate.description
                )
            }
            var messages = [try RoutingMessages.progressMessage(
                .routed, of: record, actor: StaffRef(id: "system", role: "routing"),
                departmentName: target.departmentRecord?.nameZh, handlerName: handler?.name, at: now
            )]
            if let staff = handler?.contact ?? target.departmentRecord?.head, let told = try assignmentMessage(record, to: staff, slip: slip) {
                messages.append(told)
            }
            try await Outbox.enqueue(messages, on: c)
            return RoutingDispatch.Result(
                assignmentId: record.id.uuidString.lowercased(), department: target.department,
                handler: handler.map { StaffRef(id: $0.id, name: $0.name, role: "handler") },
                dueDate: record.dueDate.description
            )
        }
    }

    private func notifyAssignment(_ a: AssignmentRecord, to staff: RoutingStaffContact?, slip: RoutingSlip, on c: PostgresConnection) async throws {
        guard let staff, let message = try assignmentMessage(a, to: staff, slip: slip) else { return }
        try await Outbox.enqueue([message], on: c)
    }

    /// Tells the handler (or the head, when nobody qualifies) that a case is theirs.
    private func assignmentMessage(_ a: AssignmentRecord, to staff: RoutingStaffContact, slip: RoutingSlip) throws -> OutboxMessage? {
        try RoutingMessages.staffMessage(
            .staffAssignment, to: staff, key: "routing/\(a.caseId)/assignment/\(slip.slipId)",
            variables: ["staffName": staff.name, "subject": RoutingMessages.subject(of: a), "reference": a.trackingNumber, "dueDate": a.dueDate.description],
            caseId: a.caseId, locale: settings.staffLocale, urgent: a.priority == .urgent
        )
    }

    // MARK: Processing

    func accept(_ p: RoutingCaseParams, context: RPCContext) async throws -> RoutingAssignment {
        try await change(p.caseId, action: "accept", allowed: [.handler, .head, .officer], context: context) { a, _, _, _ in
            try RoutingTransitions.check(.accept, from: a.state, caseId: a.caseId)
            guard a.handlerId != nil else {
                throw RPCError.invalidState("case \(a.caseId) has no handler yet; reassign it to a handler of \(a.department) first", zh: "办件 \(a.caseId) 尚无经办人；请先改派给 \(a.department) 的经办人")
            }
            a.state = .inProgress
            return Step(event: .processingAccepted, note: p.note)
        }
    }

    func requestInfo(_ p: RoutingRequestInfo.Params, context: RPCContext) async throws -> RoutingAssignment {
        try Self.requireText(p.question, "question", max: 2_000)
        return try await change(p.caseId, action: "requestInfo", allowed: [.handler, .head, .officer], context: context) { a, _, _, c in
            try RoutingTransitions.check(.requestInfo, from: a.state, caseId: a.caseId)
            let today = settings.today
            a.state = .infoRequested
            a.pausedSince = today
            try await RoutingStore.startPause(assignment: a.id, reason: p.reasonType, question: p.question, on: today, at: settings.now(), c: c)
            return Step(event: .infoRequested, reasons: [p.reasonType.rawValue], items: [p.question])
        }
    }

    func provideInfo(_ p: RoutingCaseParams, context: RPCContext) async throws -> RoutingAssignment {
        try await change(p.caseId, action: "provideInfo", allowed: [.handler, .head, .officer], context: context) { a, _, _, c in
            try RoutingTransitions.check(.provideInfo, from: a.state, caseId: a.caseId)
            let today = settings.today
            let paused = calendar.workingDays(from: a.pausedSince ?? today, through: today)
            a.pausedDays += paused
            a.pausedSince = nil
            a.state = .inProgress
            a.dueDate = a.recomputedDueDate(on: calendar)
            try await RoutingStore.endPause(assignment: a.id, on: today, workingDays: paused, at: settings.now(), c: c)
            return Step(event: .infoReceived, note: p.note ?? "clock paused for \(paused) working day(s)")
        }
    }

    func extend(_ p: RoutingExtend.Params, context: RPCContext) async throws -> RoutingExtension {
        try Self.requireText(p.reason, "reason", max: 2_000)
        guard let newDue = LocalDate(p.newDueDate) else {
            throw RPCError.invalidParams("newDueDate must be a date YYYY-MM-DD, not \(p.newDueDate.prefix(20))", zh: "newDueDate 须为 YYYY-MM-DD 格式的日期，而不是 \(p.newDueDate.prefix(20))")
        }
        return try await database.withTransaction { c in
            let (a, _, actor) = try await load(p.caseId, action: "extend", allowed: [.handler, .head, .officer], context: context, on: c)
            try RoutingTransitions.check(.extend, from: a.state, caseId: a.caseId)
            guard try await RoutingStore.extensions(assignment: a.id, pendingOnly: true, on: c).isEmpty else {
                throw RPCError.conflict("case \(a.caseId) already has an extension awaiting the department head's decision", zh: "办件 \(a.caseId) 已有一项延期申请等待部门负责人审批")
            }
            guard newDue > a.dueDate else {
                throw RPCError.invalidParams("newDueDate \(newDue) must be after the current due date \(a.dueDate)", zh: "newDueDate \(newDue) 须晚于当前办结期限 \(a.dueDate)")
            }
            guard calendar.isWorkingDay(newDue) else {
                throw RPCError.invalidParams("newDueDate \(newDue) is not a working day on the calendar", zh: "newDueDate \(newDue) 在工作日历上不是工作日")
            }
            let days = calendar.workingDays(from: a.dueDate, through: newDue)
            try Self.checkExtensionBound(a, adding: days)
            let now = settings.now()
            let request = RoutingExtension(
                extensionId: UUID.v7(at: now).uuidString.lowercased(), reason: p.reason, requestedBy: actor.id,
                requestedAt: now, newDueDate: newDue.description, workingDays: days, status: .pending
            )
            try await RoutingStore.insertExtension(request, assignment: a.id, on: c)
            try await RoutingStore.audit(actor: actor.id, role: actor.kind.rawValue, action: "assignment.extend.request", subject: "case/\(a.caseId)", before: nil as String?, after: request, trace: context.meta.traceparent, on: c)
            return request
        }
    }

    func approveExtension(_ p: RoutingApproveExtension.Params, context: RPCContext) async throws -> RoutingAssignment {
        try await change(p.caseId, action: "decide the extension of", allowed: [.head], context: context) { a, actor, _, c in
            try RoutingTransitions.check(.extend, from: a.state, caseId: a.caseId)
            guard let pending = try await RoutingStore.extensions(assignment: a.id, pendingOnly: true, on: c).first else {
                throw RPCError.invalidState("case \(a.caseId) has no extension awaiting a decision", zh: "办件 \(a.caseId) 没有等待审批的延期申请")
            }
            try await RoutingStore.decideExtension(pending.extensionId, approved: p.approve, by: actor.id, note: p.note, at: settings.now(), on: c)
            guard p.approve else { return Step(event: nil) }
            try Self.checkExtensionBound(a, adding: pending.workingDays)
            a.extendedDays += pending.workingDays
            a.dueDate = a.recomputedDueDate(on: calendar)
            return Step(event: .extended, reasons: [pending.reason], note: p.note)
        }
    }

    func complete(_ p: RoutingComplete.Params, context: RPCContext) async throws -> RoutingAssignment {
        try Self.requireText(p.result, "result", max: 4_000)
        if let pickup = p.pickup {
            try Self.requireText(pickup.time, "pickup.time", max: 200)
            try Self.requireText(pickup.place, "pickup.place", max: 500)
            try Self.requireText(pickup.way, "pickup.way", max: 200)
        }
        return try await change(p.caseId, action: "complete", allowed: [.handler, .head, .officer], context: context) { a, _, _, c in
            try RoutingTransitions.check(.complete, from: a.state, caseId: a.caseId)
            a.state = .completed
            a.result = p.result
            a.pickup = p.pickup
            a.completedAt = settings.now()
            try await RoutingStore.handlerReleasedCase(a.handlerId, on: c)
            try await RoutingStore.rejectPendingExtensions(assignment: a.id, note: "case completed", at: settings.now(), on: c)
            return Step(event: .completed, result: p.result, pickup: p.pickup)
        }
    }

    func transfer(_ p: RoutingTransfer.Params, context: RPCContext) async throws -> RoutingAssignment {
        try Self.requireText(p.reason, "reason", max: 2_000)
        return try await change(p.caseId, action: "transfer", allowed: [.handler, .head, .officer], context: context) { a, actor, _, c in
            try RoutingTransitions.check(.transfer, from: a.state, caseId: a.caseId)
            guard p.toDepartment != a.department else {
                throw RPCError.invalidParams("case \(a.caseId) is already with \(a.department); use routing.reassign to change the handler", zh: "办件 \(a.caseId) 已在 \(a.department)；如需更换经办人，请用 routing.reassign")
            }
            guard let target = try await RoutingStore.department(p.toDepartment, on: c) else {
                throw RPCError.notFound("department \(p.toDepartment) does not exist", zh: "部门 \(p.toDepartment) 不存在")
            }
            let handler = try await chooseHandler(p.toHandler, department: target.code, serviceType: a.serviceType, excluding: nil, on: c)
            let slip = try await handOver(&a, to: target, handler: handler, kind: .transfer, reason: p.reason, by: actor, on: c)
            a.state = .assigned
            try await notifyAssignment(a, to: handler?.contact ?? target.head, slip: slip, on: c)
            return Step(event: .transferred, reasons: [p.reason], departmentName: target.nameZh, handlerName: handler?.name)
        }
    }

    func reassign(_ p: RoutingReassign.Params, context: RPCContext) async throws -> RoutingAssignment {
        try Self.requireText(p.reason, "reason", max: 2_000)
        return try await change(p.caseId, action: "reassign", allowed: [.head, .officer], context: context) { a, actor, department, c in
            try RoutingTransitions.check(.reassign, from: a.state, caseId: a.caseId)
            guard let department else {
                throw RPCError.invalidState("department \(a.department) is not set up; transfer the case to a department that is", zh: "部门 \(a.department) 尚未设立；请将办件转办到已设立的部门")
            }
            guard let handler = try await chooseHandler(p.toHandler, department: department.code, serviceType: a.serviceType, excluding: a.handlerId, on: c) else {
                throw RPCError.invalidState("no other active handler of \(a.department) can process \(a.serviceType)", zh: "\(a.department) 没有其他可办理 \(a.serviceType) 的在岗经办人")
            }
            guard handler.id != a.handlerId else {
                throw RPCError.invalidParams("case \(a.caseId) is already with \(handler.id)", zh: "办件 \(a.caseId) 已由 \(handler.id) 经办")
            }
            let slip = try await handOver(&a, to: department, handler: handler, kind: .reassign, reason: p.reason, by: actor, on: c)
            try await notifyAssignment(a, to: handler.contact, slip: slip, on: c)
            return Step(event: .transferred, reasons: [p.reason], note: "reassigned within \(department.code)", handlerName: handler.name)
        }
    }

    /// An explicit handler (checked: active, in the department, with the skill) or the least
    /// loaded qualified one.
    private func chooseHandler(
        _ explicit: String?, department: String, serviceType: String, excluding: String?, on c: PostgresConnection
    ) async throws -> HandlerRecord? {
        guard let explicit else {
            return try await RoutingStore.pickHandler(department: department, serviceType: serviceType, excluding: excluding, on: c)
        }
        guard let handler = try await RoutingStore.handler(explicit, on: c) else {
            throw RPCError.notFound("handler \(explicit) does not exist", zh: "经办人 \(explicit) 不存在")
        }
        guard handler.department == department, handler.active, handler.skills.contains(serviceType) else {
            throw RPCError.invalidParams("handler \(explicit) is not an active handler of \(department) for \(serviceType)", zh: "\(explicit) 不是 \(department) 办理 \(serviceType) 的在岗经办人")
        }
        return handler
    }

    private func handOver(
        _ a: inout AssignmentRecord, to department: DepartmentRecord, handler: HandlerRecord?, kind: RoutingSlip.Kind,
        reason: String, by actor: Acting, on c: PostgresConnection
    ) async throws -> RoutingSlip {
        let slip = RoutingSlip(
            slipId: UUID.v7().uuidString.lowercased(), kind: kind, at: settings.now(),
            fromDepartment: a.department, fromHandler: a.handlerId, toDepartment: department.code,
            toHandler: handler?.id, reason: reason, by: actor.id
        )
        try await RoutingStore.handlerReleasedCase(a.handlerId, on: c)
        if let handler { try await RoutingStore.handlerTookCase(handler.id, on: c) }
        a.department = department.code
        a.handlerId = handler?.id
        try await RoutingStore.insertSlip(slip, assignment: a.id, on: c)
        return slip
    }

    // MARK: Queries

    func getAssignment(_ p: RoutingCaseParams, context: RPCContext) async throws -> RoutingAssignment {
        try await database.withConnection { c in
            guard let a = try await RoutingStore.assignment(caseId: p.caseId, forUpdate: false, on: c) else {
                throw RPCError.notFound("routing holds no case \(p.caseId)", zh: "分办服务中没有办件 \(p.caseId)")
            }
            var view = a.view(handlerName: try await a.handlerId.asyncMap { try await RoutingStore.handler($0, on: c)?.name } ?? nil)
            view.slips = try await RoutingStore.slips(assignment: a.id, on: c)
            view.pauses = try await RoutingStore.pauses(assignment: a.id, on: c)
            view.extensions = try await RoutingStore.extensions(assignment: a.id, on: c)
            return view
        }
    }

    func listDepartmentQueue(_ p: RoutingListDepartmentQueue.Params) async throws -> RoutingListDepartmentQueue.Result {
        let limit = p.limit ?? 100
        guard (1...1_000).contains(limit) else { throw RPCError.invalidParams("limit must be 1...1000, not \(limit)", zh: "limit 须为 1...1000，而不是 \(limit)") }
        let cursor = try p.cursor.map { token throws(RPCError) in try ListCursor(token: token) }
        let states = p.states ?? [.assigned, .inProgress, .infoRequested]
        return try await database.withConnection { c in
            // One row more than asked tells whether another page follows.
            let rows = try await RoutingStore.queue(department: p.department, states: states, handler: p.handler, after: cursor, limit: limit + 1, on: c)
            let page = Array(rows.prefix(limit))
            return .init(items: page.map { $0.view() }, nextCursor: rows.count > limit ? page.last.map { ListCursor(inQueueAfter: $0).token } : nil)
        }
    }

    // MARK: The shape of a change

    /// What a change tells intake.
    struct Step: Sendable {
        var event: ProgressEvent?
        var reasons: [String]? = nil
        var items: [String]? = nil
        var result: String? = nil
        var pickup: Pickup? = nil
        var note: String? = nil
        var departmentName: String? = nil
        var handlerName: String? = nil
    }

    /// Loads and locks the case, checks the actor, lets `body` change it, then stores it and
    /// writes the audit row and the progress message, all in one transaction.
    private func change(
        _ caseId: String, action: String, allowed: Set<Acting.Kind>, context: RPCContext,
        _ body: @Sendable (inout AssignmentRecord, Acting, DepartmentRecord?, PostgresConnection) async throws -> Step
    ) async throws -> RoutingAssignment {
        // Delivered from another service's outbox, a change is recorded under its message id with
        // its effect, so a repeated delivery gets the first answer instead of an "invalid state"
        // that would end as a dead letter (routing.reopen does the same in its own file).
        try await Inbox(database: database).receive(context) { c in
            let (before, department, actor) = try await load(caseId, action: action, allowed: allowed, context: context, on: c)
            var a = before
            let step = try await body(&a, actor, department, c)
            try await RoutingStore.updateAssignment(a, atRiskOn: settings.atRiskDate(of: a), at: settings.now(), on: c)
            let handlerName = try await a.handlerId.asyncMap { try await RoutingStore.handler($0, on: c)?.name } ?? nil
            let view = a.view(handlerName: handlerName)
            try await RoutingStore.audit(actor: actor.id, role: actor.kind.rawValue, action: "assignment.\(action.split(separator: " ").joined(separator: "_"))", subject: "case/\(caseId)", before: before.view(), after: view, trace: context.meta.traceparent, on: c)
            if let event = step.event {
                var departmentName = step.departmentName
                if departmentName == nil, a.department == department?.code { departmentName = department?.nameZh }
                try await RoutingMessages.progress(
                    event, of: a, actor: actor.staffRef, departmentName: departmentName, handlerName: step.handlerName ?? handlerName,
                    reasons: step.reasons, items: step.items, result: step.result, pickup: step.pickup, note: step.note,
                    at: settings.now(), on: c
                )
            }
            return view
        }
    }

    private func load(
        _ caseId: String, action: String, allowed: Set<Acting.Kind>, context: RPCContext, on c: PostgresConnection
    ) async throws -> (AssignmentRecord, DepartmentRecord?, Acting) {
        try Self.requireText(caseId, "caseId", max: 128)
        guard let a = try await RoutingStore.assignment(caseId: caseId, forUpdate: true, on: c) else {
            throw RPCError.notFound("routing holds no case \(caseId)", zh: "分办服务中没有办件 \(caseId)")
        }
        let department = try await RoutingStore.department(a.department, on: c)
        let actor = try Self.authorise(context, assignment: a, head: department?.head?.id, allowed: allowed, action: action)
        return (a, department, actor)
    }

    // MARK: Checks

    static func authorise(_ context: RPCContext, assignment a: AssignmentRecord, head: String?, allowed: Set<Acting.Kind>, action: String) throws -> Acting {
        guard let actor = context.meta.actor else {
            if allowed.contains(.system), let caller = context.caller {
                return Acting(id: caller, kind: .system)
            }
            throw RPCError.forbidden("\(action) acts for a member of staff: send _meta.actor", zh: "“\(Self.chinese(action))”须由工作人员操作：请提供 _meta.actor")
        }
        if allowed.contains(.officer), actor.roles.contains(RoutingRole.officer) || actor.roles.contains(RoutingRole.admin) {
            return Acting(id: actor.id, kind: .officer)
        }
        if allowed.contains(.head), let head, head == actor.id { return Acting(id: actor.id, kind: .head) }
        if allowed.contains(.handler), let handler = a.handlerId, handler == actor.id { return Acting(id: actor.id, kind: .handler) }
        let who = [
            allowed.contains(.handler) ? "its assigned handler" : nil,
            allowed.contains(.head) ? "the head of \(a.department)" : nil,
            allowed.contains(.officer) ? "a routing officer" : nil,
        ].compactMap { $0 }.joined(separator: ", ")
        let whoInChinese = [
            allowed.contains(.handler) ? "该办件的经办人" : nil,
            allowed.contains(.head) ? "\(a.department) 的负责人" : nil,
            allowed.contains(.officer) ? "分办员" : nil,
        ].compactMap { $0 }.joined(separator: "、")
        throw RPCError.forbidden("\(actor.id) may not \(action) case \(a.caseId): only \(who) may", zh: "\(actor.id) 无权对办件 \(a.caseId) 执行“\(Self.chinese(action))”：仅\(whoInChinese)可以")
    }

    static func officer(_ context: RPCContext, action: String) throws -> Acting {
        guard let actor = context.meta.actor else {
            throw RPCError.forbidden("only a routing officer may \(action): send _meta.actor", zh: "只有分办员可以\(Self.chinese(action))：请提供 _meta.actor")
        }
        guard actor.roles.contains(RoutingRole.officer) || actor.roles.contains(RoutingRole.admin) else {
            throw RPCError.forbidden("\(actor.id) may not \(action): only a routing officer may", zh: "\(actor.id) 无权\(Self.chinese(action))：只有分办员可以")
        }
        return Acting(id: actor.id, kind: .officer)
    }

    /// The actions named in errors (`action:` of `authorise`, `officer`, `change`), as a person
    /// in the hall says them in Chinese.
    static func chinese(_ action: String) -> String {
        switch action {
        case "accept": "受理"
        case "requestInfo": "要求补充信息"
        case "provideInfo": "记录补充信息"
        case "extend": "申请延期"
        case "decide the extension of": "审批延期"
        case "complete": "办结"
        case "transfer": "转办"
        case "reassign": "改派"
        case "reopen": "重新办理"
        case "maintain departments": "维护部门"
        case "maintain handlers": "维护经办人"
        case "maintain routing rules": "维护分办规则"
        case "seed the organisation": "导入组织架构"
        default: action
        }
    }

    static func requireText(_ value: String, _ field: String, max: Int) throws {
        guard !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw RPCError.invalidParams("\(field) must not be empty", zh: "\(field) 不能为空")
        }
        guard value.count <= max else { throw RPCError.invalidParams("\(field) is longer than \(max) characters", zh: "\(field) 超过 \(max) 个字符") }
    }

    static func checkExtensionBound(_ a: AssignmentRecord, adding days: Int) throws {
        guard a.extendedDays + days <= a.maxExtensionDays else {
            throw RPCError.invalidParams(
                "the extension adds \(days) working days; case \(a.caseId) may be extended by \(a.maxExtensionDays) in all and \(a.extendedDays) are used",
                zh: "本次延期 \(days) 个工作日；办件 \(a.caseId) 累计最多可延期 \(a.maxExtensionDays) 个工作日，已用 \(a.extendedDays) 个"
            )
        }
    }

    static func view(_ d: DepartmentRecord) -> RoutingDepartment {
        RoutingDepartment(code: d.code, nameZh: d.nameZh, nameEn: d.nameEn, head: d.head)
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
