import Contracts
import JSONCoding
import LineProtocol
import Postgres
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// A person's decision on a task.
extension ReviewStore {
    /// The roles in `_meta.actor.roles` that may decide any task.
    static let supervisorRoles: Set<String> = ["supervisor", "review_supervisor", "quality"]

    /// Checks the decision's own content before anything is read or written.
    static func validate(_ params: ReviewDecide.Params) throws -> (taskID: UUID, opinion: String?, reasons: [String], items: [String]) {
        guard let taskID = UUID(uuidString: params.taskId) else {
            throw RPCError.invalidParams("params.taskId: \(params.taskId.prefix(60)) is not a task id (a UUID)", zh: "params.taskId：\(params.taskId.prefix(60)) 不是审核任务 id（UUID）")
        }
        func cleaned(_ list: [String]?, _ field: String) throws -> [String] {
            let values = (list ?? []).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            if values.contains(where: \.isEmpty) { throw RPCError.invalidParams("params.\(field): an entry is empty", zh: "params.\(field)：有一项为空") }
            if values.count > 50 { throw RPCError.invalidParams("params.\(field): at most 50 entries", zh: "params.\(field)：最多 50 项") }
            if values.contains(where: { $0.count > 1_000 }) { throw RPCError.invalidParams("params.\(field): an entry is longer than 1,000 characters", zh: "params.\(field)：有一项超过 1000 个字符") }
            return values
        }
        let reasons = try cleaned(params.reasons, "reasons")
        let items = try cleaned(params.items, "items")
        let opinion = params.opinion?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let opinion, opinion.count > 4_000 { throw RPCError.invalidParams("params.opinion: longer than 4,000 characters", zh: "params.opinion：超过 4000 个字符") }
        switch params.decision {
        case .approve:
            guard let opinion, !opinion.isEmpty else {
                throw RPCError.invalidParams("params.opinion: an approval needs the reviewer's opinion", zh: "params.opinion：审核通过须填写审核意见")
            }
        case .reject:
            guard !reasons.isEmpty else {
                throw RPCError.invalidParams("params.reasons: a rejection needs at least one reason the customer will be told", zh: "params.reasons：不予通过至少需要一条告知申请人的理由")
            }
        case .return:
            guard !items.isEmpty else {
                throw RPCError.invalidParams("params.items: a return needs at least one item for the customer to supplement or correct", zh: "params.items：退回补正至少需要列出一项需申请人补充或更正的内容")
            }
        }
        return (taskID, opinion?.isEmpty == true ? nil : opinion, reasons, items)
    }

    func decide(_ params: ReviewDecide.Params, actor rpcActor: RPCActor?, trace: String?) async throws -> ReviewDecide.Result {
        let valid = try Self.validate(params)
        guard let rpcActor, !rpcActor.id.isEmpty else {
            throw RPCError.unauthenticated("review.decide needs the deciding reviewer in _meta.actor", zh: "review.decide 需要在 _meta.actor 中注明作出决定的审核人员")
        }
        return try await database.withTransaction { connection in
            guard let task = try await task(id: valid.taskID, on: connection, forUpdate: true) else {
                throw RPCError.notFound("review task \(params.taskId) does not exist", zh: "审核任务 \(params.taskId) 不存在")
            }
            switch task.state {
            case .decided, .approvedAutomatically:
                throw RPCError.conflict("review task \(params.taskId) is already decided; a decision cannot be changed", zh: "审核任务 \(params.taskId) 已作出决定，决定不能更改")
            case .checking:
                throw RPCError.invalidState("review task \(params.taskId) is still being checked; decide once it is assigned", zh: "审核任务 \(params.taskId) 仍在自动核验中，请在分配后再作决定")
            case .withdrawn:
                throw RPCError.invalidState("the customer withdrew case \(task.caseId); review task \(params.taskId) is not to be decided", zh: "申请人已撤回办件 \(task.caseId)，审核任务 \(params.taskId) 无需再作决定")
            case .assigned, .awaitingDecision:
                break
            }
            let me = try await reviewer(id: rpcActor.id, on: connection)
            let isAssignee = task.assignedReviewer == rpcActor.id
            var role = "reviewer"
            if !isAssignee {
                var supervises = !Self.supervisorRoles.isDisjoint(with: rpcActor.roles)
                if !supervises, let me, me.isSupervisor == true {
                    if let assignee = task.assignedReviewer, let theirs = try await reviewer(id: assignee, on: connection) {
                        supervises = theirs.supervisorId == me.id || (theirs.team != nil && theirs.team == me.team)
                    } else {
                        supervises = true // an unassigned waiting task: any supervisor may take it
                    }
                }
                guard supervises else {
                    throw RPCError.forbidden(
                        "review task \(params.taskId) is assigned to another reviewer; only they or their supervisor may decide it",
                        zh: "审核任务 \(params.taskId) 已分配给其他审核人员，只有该审核人员或其主管可以作出决定"
                    )
                }
                role = "supervisor"
            }
            let actor = ReviewActor(id: rpcActor.id, role: role, trace: trace)
            let rows = try await connection.query("""
                WITH decided AS (
                    UPDATE review_tasks SET state = 'decided', decided_at = now()
                    WHERE id = \(task.id) AND state IN ('assigned', 'awaiting_decision') RETURNING id
                )
                INSERT INTO review_decisions (task_id, decision, decided_by, decided_role, automatic, opinion, reasons, items,
                                              customer_key, reviewer_id, assigned_at, submitted_at)
                SELECT id, \(params.decision.rawValue), \(actor.id), \(role), false, \(valid.opinion), \(valid.reasons), \(valid.items),
                       \(task.submission.applicant.customerKey), \(task.assignedReviewer), \(task.assignedAt), \(task.createdAt)
                FROM decided
                RETURNING decided_at
                """)
            guard let row = rows.first else {
                throw RPCError.conflict("review task \(params.taskId) is already decided; a decision cannot be changed", zh: "审核任务 \(params.taskId) 已作出决定，决定不能更改")
            }
            let decidedAt = try row.decode(Date.self, column: "decided_at")
            try await audit(
                task: task.id, reviewer: task.assignedReviewer, actor: actor, action: "decided",
                before: ["state": .string(task.state.rawValue)],
                after: ["state": "decided", "decision": .string(params.decision.rawValue)], on: connection
            )
            let staff = StaffRef(id: actor.id, name: me?.name, role: role)
            switch params.decision {
            case .approve:
                try await sendApproval(submission: task.submission, approvedBy: staff, opinion: valid.opinion, on: connection)
            case .reject:
                try await sendProgress(.reviewRejected, submission: task.submission, actor: staff, opinion: valid.opinion, reasons: valid.reasons, on: connection)
            case .return:
                try await sendProgress(.reviewReturned, submission: task.submission, actor: staff, opinion: valid.opinion, items: valid.items, on: connection)
            }
            return ReviewDecide.Result(
                taskId: task.id.lowercasedString, state: .decided,
                decision: ReviewDecisionRecord(
                    decision: params.decision, decidedBy: actor.id, automatic: false, opinion: valid.opinion,
                    reasons: valid.reasons, items: valid.items, decidedAt: decidedAt
                )
            )
        }
    }

    /// `review.cancel`, in the caller's (inbox) transaction: the case's latest task, if still
    /// open, is withdrawn (a running check job then finds it so and changes nothing).
    func cancel(_ params: ReviewCancel.Params, actor: ReviewActor, on connection: PostgresConnection) async throws -> ReviewCancel.Result {
        let rows = try await connection.query("""
            SELECT id, state FROM review_tasks WHERE case_id = \(params.caseId) ORDER BY round DESC LIMIT 1 FOR UPDATE
            """)
        guard let row = rows.first else { return .init(outcome: .notHeld, taskId: nil, state: nil) }
        let id = try row.decode(UUID.self, column: "id")
        let state = ReviewTaskState(rawValue: try row.decode(String.self, column: "state")) ?? .checking
        switch state {
        case .decided, .approvedAutomatically:
            return .init(outcome: .alreadyDecided, taskId: id.lowercasedString, state: state)
        case .withdrawn:
            return .init(outcome: .withdrawn, taskId: id.lowercasedString, state: .withdrawn)
        case .checking, .awaitingDecision, .assigned:
            try await connection.execute("""
                UPDATE review_tasks SET state = 'withdrawn', assigned_reviewer = NULL, assigned_at = NULL WHERE id = \(id)
                """)
            let after: JSON = ["state": "withdrawn", "reason": params.reason.map(JSON.string) ?? .null]
            try await audit(task: id, actor: actor, action: "withdrawn", before: ["state": .string(state.rawValue)], after: after, on: connection)
            return .init(outcome: .withdrawn, taskId: id.lowercasedString, state: .withdrawn)
        }
    }
}
