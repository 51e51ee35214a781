import Contracts
import JSONCoding
import LineProtocol
import Postgres
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Reads: queues, one task, statistics.
extension ReviewStore {
    static let summaryColumns: SQL = """
        t.id, t.case_id, t.tracking_number, t.service_type, t.service_name, t.priority, t.priority_rank, t.state,
        t.assigned_reviewer, t.assigned_at, t.created_at, t.created_at::text AS created_key,
        (SELECT count(*) FROM review_check_results c WHERE c.task_id = t.id AND c.outcome <> 'passed')::int8 AS flagged
        """

    static func summary(_ row: PostgresRow) throws -> ReviewTaskSummary {
        ReviewTaskSummary(
            taskId: try row.decode(UUID.self, column: "id").lowercasedString,
            caseId: try row.decode(String.self, column: "case_id"),
            trackingNumber: try row.decode(String.self, column: "tracking_number"),
            serviceType: try row.decode(String.self, column: "service_type"),
            serviceName: try row.decode(String.self, column: "service_name"),
            priority: CasePriority(rawValue: try row.decode(String.self, column: "priority")) ?? .regular,
            state: ReviewTaskState(rawValue: try row.decode(String.self, column: "state")) ?? .checking,
            assignedReviewer: try row.decode(String?.self, column: "assigned_reviewer"),
            assignedAt: try row.decode(Date?.self, column: "assigned_at"),
            flaggedChecks: Int(try row.decode(Int64.self, column: "flagged")),
            createdAt: try row.decode(Date.self, column: "created_at")
        )
    }

    // MARK: Queue

    /// A page cursor: the last row's priority rank, creation instant (as Postgres prints it, so
    /// no precision is lost) and id.
    struct QueueCursor {
        var rank: Int
        var createdKey: String
        var id: UUID

        var text: String { "\(rank)|\(createdKey)|\(id.lowercasedString)" }

        init(rank: Int, createdKey: String, id: UUID) {
            self.rank = rank
            self.createdKey = createdKey
            self.id = id
        }

        init(_ text: String) throws {
            let parts = text.split(separator: "|", omittingEmptySubsequences: false)
            guard parts.count == 3, let rank = Int(parts[0]), let id = UUID(uuidString: String(parts[2])),
                  parts[1].count <= 40, parts[1].allSatisfy({ $0.isNumber || "-:. +".contains($0) })
            else {
                throw RPCError.invalidParams("params.after: not a cursor from a previous page (pass nextCursor as given)", zh: "params.after：不是上一页返回的游标（请原样传回 nextCursor）")
            }
            self.init(rank: rank, createdKey: String(parts[1]), id: id)
        }
    }

    func listQueue(_ params: ReviewListQueue.Params, actor: RPCActor?) async throws -> ReviewListQueue.Result {
        let limit = params.limit ?? 50
        guard (1...200).contains(limit) else { throw RPCError.invalidParams("params.limit: must be 1…200", zh: "params.limit：须为 1…200") }
        let cursor = try params.after.map(QueueCursor.init)
        guard let whose = params.reviewerId ?? actor?.id, !whose.isEmpty else {
            throw RPCError.unauthenticated("review.listQueue needs the reviewer in _meta.actor (or params.reviewerId)", zh: "review.listQueue 需要在 _meta.actor（或 params.reviewerId）中注明审核人员")
        }
        return try await database.withConnection { connection in
            guard let subject = try await reviewer(id: whose, on: connection) else {
                throw RPCError.notFound("reviewer \(whose) is not on the roster", zh: "审核人员 \(whose) 不在名册中")
            }
            if let actor, actor.id != whose {
                let caller = try await reviewer(id: actor.id, on: connection)
                let supervises = !Self.supervisorRoles.isDisjoint(with: actor.roles)
                    || (caller?.isSupervisor == true && (subject.supervisorId == actor.id || (subject.team != nil && subject.team == caller?.team)))
                guard supervises else {
                    throw RPCError.forbidden("only a supervisor may read another reviewer's queue", zh: "只有主管可以查看其他审核人员的待审队列")
                }
            }
            var filter: SQL
            switch params.scope {
            case .mine:
                filter = "t.state = 'assigned' AND t.assigned_reviewer = \(subject.id)"
            case .team:
                filter = """
                    t.state = 'assigned' AND t.assigned_reviewer IN (
                        SELECT r.id FROM review_reviewers r
                        WHERE r.id = \(subject.id) OR r.supervisor_id = \(subject.id)
                           OR (\(subject.team)::text IS NOT NULL AND r.team = \(subject.team)))
                    """
            }
            if let cursor {
                filter += """
                     AND (t.priority_rank < \(cursor.rank)
                          OR (t.priority_rank = \(cursor.rank) AND (t.created_at, t.id) > (\(cursor.createdKey)::timestamptz, \(cursor.id))))
                    """
            }
            let rows = try await connection.query("""
                SELECT \(Self.summaryColumns) FROM review_tasks t
                WHERE \(filter)
                ORDER BY t.priority_rank DESC, t.created_at, t.id
                LIMIT \(limit + 1)
                """)
            let page = rows.prefix(limit)
            let tasks = try page.map(Self.summary)
            var next: String?
            if rows.count > limit, let last = page.last {
                next = QueueCursor(
                    rank: try last.decode(Int.self, column: "priority_rank"),
                    createdKey: try last.decode(String.self, column: "created_key"),
                    id: try last.decode(UUID.self, column: "id")
                ).text
            }
            return ReviewListQueue.Result(tasks: tasks, nextCursor: next)
        }
    }

    // MARK: One task

    func getTask(_ params: ReviewGetTask.Params) async throws -> ReviewGetTask.Result {
        let filter: SQL
        if let taskId = params.taskId {
            guard let id = UUID(uuidString: taskId) else {
                throw RPCError.invalidParams("params.taskId: \(taskId.prefix(60)) is not a task id (a UUID)", zh: "params.taskId：\(taskId.prefix(60)) 不是审核任务 id（UUID）")
            }
            filter = "t.id = \(id)"
        } else if let caseId = params.caseId {
            filter = "t.case_id = \(caseId)"
        } else {
            throw RPCError.invalidParams("give params.taskId or params.caseId", zh: "请提供 params.taskId 或 params.caseId")
        }
        return try await database.withConnection { connection in
            let rows = try await connection.query("""
                SELECT \(Self.summaryColumns), t.applicant_name, t.applicant_id_masked, t.submission, t.identity_checks,
                       t.check_results, t.checked_at
                FROM review_tasks t WHERE \(filter) ORDER BY t.round DESC LIMIT 1
                """)
            guard let row = rows.first else {
                throw RPCError.notFound("no review task for \(params.taskId.map { "task \($0)" } ?? "case \(params.caseId ?? "")")", zh: params.taskId.map { "未找到审核任务 \($0)" } ?? "未找到办件 \(params.caseId ?? "") 的审核任务")
            }
            let summary = try Self.summary(row)
            let stored = try Self.storedTask(row)
            let checkedAt = try row.decode(Date?.self, column: "checked_at")
            let checks = try row.decode(PostgresJSONB?.self, column: "check_results").map { results in
                try JSONValueDecoder().decode([ReviewCheckResult].self, from: JSON.parse(results.rawJSON))
                    .map { ReviewCheckResult(ruleId: $0.ruleId, outcome: $0.outcome, detail: $0.detail, checkedAt: checkedAt) }
                    .sorted { $0.ruleId < $1.ruleId }
            } ?? []
            let decision = try await connection.query("""
                SELECT decision, decided_by, automatic, opinion, reasons, items, decided_at FROM review_decisions WHERE task_id = \(stored.id)
                """).first.map { row in
                ReviewDecisionRecord(
                    decision: ReviewDecisionKind(rawValue: try row.decode(String.self, column: "decision")) ?? .approve,
                    decidedBy: try row.decode(String.self, column: "decided_by"),
                    automatic: try row.decode(Bool.self, column: "automatic"),
                    opinion: try row.decode(String?.self, column: "opinion"),
                    reasons: try row.decode([String].self, column: "reasons"),
                    items: try row.decode([String].self, column: "items"),
                    decidedAt: try row.decode(Date.self, column: "decided_at")
                )
            }
            return ReviewGetTask.Result(
                task: summary,
                applicantName: try row.decode(String.self, column: "applicant_name"),
                applicantIdMasked: try row.decode(String.self, column: "applicant_id_masked"),
                description: stored.submission.description,
                declaredAmount: stored.submission.declaredAmount,
                autoApprovalAllowed: stored.submission.autoApprovalAllowed,
                checks: checks,
                decision: decision
            )
        }
    }

    // MARK: Statistics

    func stats(since: Date?) async throws -> ReviewStats.Result {
        try await database.withConnection { connection in
            var byState: [String: Int] = [:]
            for state in ReviewTaskState.allCases { byState[state.rawValue] = 0 }
            for row in try await connection.query("""
                SELECT state, count(*)::int8 AS n FROM review_tasks
                WHERE (\(since)::timestamptz IS NULL OR created_at >= \(since)) GROUP BY state
                """) {
                byState[try row.decode(String.self, column: "state")] = Int(try row.decode(Int64.self, column: "n"))
            }
            let times = try await connection.query("""
                SELECT
                    percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM decided_at - submitted_at))::float8 AS p50,
                    percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM decided_at - submitted_at))::float8 AS p90,
                    percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM decided_at - assigned_at))
                        FILTER (WHERE NOT automatic AND assigned_at IS NOT NULL)::float8 AS human_p50,
                    percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM decided_at - assigned_at))
                        FILTER (WHERE NOT automatic AND assigned_at IS NOT NULL)::float8 AS human_p90,
                    count(*)::int8 AS decisions,
                    count(*) FILTER (WHERE automatic)::int8 AS automatic
                FROM review_decisions WHERE (\(since)::timestamptz IS NULL OR submitted_at >= \(since))
                """)[0]
            let decisions = try times.decode(Int64.self, column: "decisions")
            let automatic = try times.decode(Int64.self, column: "automatic")
            let flags = try await connection.query("""
                SELECT c.rule_id,
                       count(*) FILTER (WHERE c.outcome = 'flagged')::int8 AS flagged,
                       count(*) FILTER (WHERE c.outcome = 'could_not_verify')::int8 AS cnv
                FROM review_check_results c JOIN review_tasks t ON t.id = c.task_id
                WHERE c.outcome <> 'passed' AND (\(since)::timestamptz IS NULL OR t.created_at >= \(since))
                GROUP BY c.rule_id
                ORDER BY c.rule_id
                """).map { row in
                ReviewStats.RuleCount(
                    ruleId: try row.decode(String.self, column: "rule_id"),
                    flagged: Int(try row.decode(Int64.self, column: "flagged")),
                    couldNotVerify: Int(try row.decode(Int64.self, column: "cnv"))
                )
            }
            let reviewers = try await connection.query("""
                SELECT r.id,
                    (SELECT count(*) FROM review_tasks t WHERE t.assigned_reviewer = r.id AND t.state = 'assigned')::int8 AS open,
                    count(d.task_id) FILTER (WHERE d.decision = 'approve')::int8 AS approved,
                    count(d.task_id) FILTER (WHERE d.decision = 'reject')::int8 AS rejected,
                    count(d.task_id) FILTER (WHERE d.decision = 'return')::int8 AS returned,
                    percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM d.decided_at - d.assigned_at))
                        FILTER (WHERE d.assigned_at IS NOT NULL)::float8 AS p50
                FROM review_reviewers r
                LEFT JOIN review_decisions d ON d.decided_by = r.id AND NOT d.automatic
                     AND (\(since)::timestamptz IS NULL OR d.submitted_at >= \(since))
                GROUP BY r.id ORDER BY r.id
                """).map { row in
                ReviewStats.ReviewerFigures(
                    reviewerId: try row.decode(String.self, column: "id"),
                    open: Int(try row.decode(Int64.self, column: "open")),
                    approved: Int(try row.decode(Int64.self, column: "approved")),
                    rejected: Int(try row.decode(Int64.self, column: "rejected")),
                    returned: Int(try row.decode(Int64.self, column: "returned")),
                    decisionSecondsP50: try row.decode(Double?.self, column: "p50")
                )
            }
            return ReviewStats.Result(
                tasksByState: byState,
                decisionSecondsP50: try times.decode(Double?.self, column: "p50"),
                decisionSecondsP90: try times.decode(Double?.self, column: "p90"),
                humanDecisionSecondsP50: try times.decode(Double?.self, column: "human_p50"),
                humanDecisionSecondsP90: try times.decode(Double?.self, column: "human_p90"),
                autoApprovalRate: decisions == 0 ? 0 : Double(automatic) / Double(decisions),
                flagsByRule: flags,
                reviewers: reviewers
            )
        }
    }
}
