import Contracts
import Identity
import JSONCoding
import LineProtocol
import Logging
import Messaging
import Postgres
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Who did something, as the audit trail and the progress messages record it.
struct ReviewActor: Sendable {
    var id: String
    var role: String
    var trace: String?

    static let system = ReviewActor(id: "system", role: "system")
}

/// A task as the check worker and the decision path need it.
struct StoredTask: Sendable {
    var id: UUID
    var caseId: String
    var state: ReviewTaskState
    var submission: ReviewSubmit.Params
    var identityChecks: [ReviewCheckResult]
    var assignedReviewer: String?
    var assignedAt: Date?
    var createdAt: Date
}

/// Review's SQL: every statement of the service lives in this type and its extensions.
struct ReviewStore: Sendable {
    static let checkQueue = "review.check"
    /// Serialises reviewer choice, so "fewest open tasks" counts are exact however many workers run.
    static let assignmentLock: Int64 = 7_102_000_001

    let database: PostgresPool
    let queue: WorkQueue
    let jobMaxAttempts: Int

    /// - Parameter rejectionWindows: the repeated-rejection rules' windows in days, for the
    ///   rejection counts a claimed check job comes with (see `checkReads`).
    init(database: PostgresPool, jobMaxAttempts: Int = 5, rejectionWindows: [Int] = []) {
        self.database = database
        self.queue = WorkQueue(name: Self.checkQueue, database: database, claimReads: Self.checkReads(rejectionWindows: rejectionWindows))
        self.jobMaxAttempts = jobMaxAttempts
    }

    // MARK: Submission

    /// Creates the task and its check job in the caller's transaction. A task already open for
    /// the case (a redelivery, or a second message about it) is returned with `created: false`;
    /// a case returned for supplement starts a new round.
    func submit(_ params: ReviewSubmit.Params, actor: ReviewActor, on connection: PostgresConnection) async throws -> ReviewSubmit.Result {
        var round = 1
        if let given = params.round {
            // Intake numbers the rounds: idempotent on (caseId, round).
            let existing = try await connection.query("SELECT id FROM review_tasks WHERE case_id = \(params.caseId) AND round = \(given)")
            if let row = existing.first {
                return ReviewSubmit.Result(taskId: try row.decode(UUID.self, column: "id").lowercasedString, created: false)
            }
            round = given
        } else {
            let latest = try await connection.query("""
                SELECT t.id, t.round, t.state, d.decision
                FROM review_tasks t LEFT JOIN review_decisions d ON d.task_id = t.id
                WHERE t.case_id = \(params.caseId)
                ORDER BY t.round DESC LIMIT 1
                """)
            if let row = latest.first {
                let decision = try row.decode(String?.self, column: "decision")
                guard decision == ReviewDecisionKind.return.rawValue else {
                    return ReviewSubmit.Result(taskId: try row.decode(UUID.self, column: "id").lowercasedString, created: false)
                }
                round = try row.decode(Int.self, column: "round") + 1
            }
        }
        // Intake sends masked numbers (with `*`); the worker then fetches the full ones at check
        // time. Numbers sent in clear are checked now and only their masked form is kept.
        let deferred = ReviewChecks.isMasked(params.applicant.idNumber) || params.principal.map { ReviewChecks.isMasked($0.idNumber) } == true
        let identity = deferred
            ? (results: [ReviewCheckResult](), applicantMasked: params.applicant.idNumber)
            : ReviewChecks.identity(params)
        var stored = params
        stored.applicant.idNumber = identity.applicantMasked
        if var principal = stored.principal, !ReviewChecks.isMasked(principal.idNumber) {
            principal.idNumber = Masking.maskAny(principal.idNumber)
            stored.principal = principal
        }
        let taskID = UUID.v7()
        let submission = PostgresJSONB(rawJSON: try JSONValueEncoder().encode(stored).jsonString)
        let identityJSON = PostgresJSONB(rawJSON: try JSONValueEncoder().encode(identity.results).jsonString)
        let inserted = try await connection.query("""
            INSERT INTO review_tasks (id, case_id, round, tracking_number, service_type, service_name, priority, priority_rank,
                                      customer_key, applicant_name, applicant_id_masked, submission, identity_checks)
            VALUES (\(taskID), \(params.caseId), \(round), \(params.trackingNumber), \(params.serviceType), \(params.serviceName),
                    \(params.priority.rawValue), \(params.priority.rank), \(params.applicant.customerKey), \(params.applicant.name),
                    \(identity.applicantMasked), \(submission), \(identityJSON))
            ON CONFLICT (case_id, round) DO NOTHING
            RETURNING id
            """)
        guard !inserted.isEmpty else {
            // Another delivery about the same case won the race; answer with its task.
            let existing = try await connection.query("SELECT id FROM review_tasks WHERE case_id = \(params.caseId) AND round = \(round)")
            return ReviewSubmit.Result(taskId: try existing[0].decode(UUID.self, column: "id").lowercasedString, created: false)
        }
        try await queue.enqueue(
            ["taskId": .string(taskID.lowercasedString)],
            priority: params.priority.rank,
            maxAttempts: jobMaxAttempts,
            dedupeKey: "review.check/\(taskID.lowercasedString)",
            on: connection
        )
        try await audit(
            task: taskID, actor: actor, action: "submitted", before: nil,
            after: ["state": .string(ReviewTaskState.checking.rawValue), "round": .integer(Int64(round))], on: connection
        )
        return ReviewSubmit.Result(taskId: taskID.lowercasedString, created: true)
    }

    // MARK: Checks

    /// The task a check job is about (no transaction: the checks run after this returns).
    func task(id: UUID, on connection: PostgresConnection? = nil, forUpdate: Bool = false) async throws -> StoredTask? {
        let sql: SQL = """
            SELECT id, case_id, state, submission, identity_checks, assigned_reviewer, assigned_at, created_at
            FROM review_tasks WHERE id = \(id) \(unsafeRaw: forUpdate ? "FOR UPDATE" : "")
            """
        let rows: PostgresRows
        if let connection { rows = try await connection.query(sql) } else { rows = try await database.query(sql) }
        guard let row = rows.first else { return nil }
        return try Self.storedTask(row)
    }

    static func storedTask(_ row: PostgresRow) throws -> StoredTask {
        let submission = try JSON.parse(row.decode(PostgresJSONB.self, column: "submission").rawJSON)
        let identity = try JSON.parse(row.decode(PostgresJSONB.self, column: "identity_checks").rawJSON)
        return StoredTask(
            id: try row.decode(UUID.self, column: "id"),
            caseId: try row.decode(String.self, column: "case_id"),
            state: ReviewTaskState(rawValue: try row.decode(String.self, column: "state")) ?? .checking,
            submission: try JSONValueDecoder().decode(ReviewSubmit.Params.self, from: submission),
            identityChecks: try JSONValueDecoder().decode([ReviewCheckResult].self, from: identity),
            assignedReviewer: try row.decode(String?.self, column: "assigned_reviewer"),
            assignedAt: try row.decode(Date?.self, column: "assigned_at"),
            createdAt: try row.decode(Date.self, column: "created_at")
        )
    }

    /// What a check job reads before it runs the checks, read by the claim that hands out the
    /// job (one statement for a batch of jobs instead of one more per job): the task, and the
    /// customer's rejections within each of `rejectionWindows` days (the repeated-rejection
    /// rules), in the same order. A payload without a task id, or a task that is gone, leaves
    /// the task's columns null.
    ///
    /// One scalar subquery per window, not an `unnest` of them all: with an array parameter the
    /// generic plan looked costlier than a custom one, so Postgres planned the read afresh on
    /// every call, which took three times as long as running it. The windows come from the
    /// rules file, so the statement's text stays the same.
    static func checkReads(rejectionWindows: [Int]) -> ClaimReads {
        var windows: SQL = ""
        for (index, days) in rejectionWindows.enumerated() {
            if index > 0 { windows += ", " }
            windows += """
                (SELECT count(*) FROM review_decisions d
                 WHERE d.customer_key = t.customer_key AND d.decision = 'reject'
                   AND d.decided_at > now() - make_interval(days => \(days)::int4))
                """
        }
        return ClaimReads(
            columns: """
                t.id, t.case_id, t.state, t.submission, t.identity_checks, t.assigned_reviewer, t.assigned_at, t.created_at,
                ARRAY[\(windows)]::int8[] AS rejections
                """,
            // Only a well-formed id is cast: a cast failing would fail the claim of every job.
            joins: """
                LEFT JOIN review_tasks t ON t.id = CASE
                    WHEN claimed.payload->>'taskId' ~ '^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$'
                    THEN (claimed.payload->>'taskId')::uuid END
                """
        )
    }

    /// The task and rejection counts `checkReads` read beside a claimed job; nil when the task
    /// is gone.
    static func checkInputs(from row: PostgresRow) throws -> (task: StoredTask, rejections: [Int])? {
        guard try row.decode(UUID?.self, column: "id") != nil else { return nil }
        return (try storedTask(row), try row.decode([Int].self, column: "rejections"))
    }

    /// Stores the check results and takes the decision path, together with the job's completion
    /// (so a worker that lost its lease changes nothing). A task whose checks were already
    /// recorded (a job run twice) is left as it is. `task` is as read before the checks ran.
    @discardableResult
    func finishChecks(job: Job, task checked: StoredTask, results: [ReviewCheckResult]) async throws -> ReviewTaskState? {
        let flagged = results.filter { $0.outcome != .passed }
        if checked.submission.autoApprovalAllowed, flagged.isEmpty {
            return try await approveAutomatically(job: job, task: checked, results: results)
        }
        return try await database.withTransaction { connection in
            guard let task = try await task(id: checked.id, on: connection, forUpdate: true) else {
                try await queue.complete(job, on: connection)
                return nil
            }
            guard task.state == .checking else {
                try await queue.complete(job, on: connection)
                return task.state
            }
            if !flagged.isEmpty {
                try await connection.execute("INSERT INTO review_check_results (task_id, rule_id, outcome, detail) \(Self.flagRows(flagged, of: task.id))")
            }
            try await connection.execute("UPDATE review_tasks SET checked_at = now(), check_results = \(try Self.resultsJSON(results)) WHERE id = \(task.id)")
            try await audit(
                task: task.id, actor: .system, action: "checked", before: ["state": "checking"],
                after: ["flagged": .array(flagged.map { .string($0.ruleId) })], on: connection
            )
            try await lockAssignment(on: connection)
            let reviewer = try await assign(task, actor: .system, on: connection)
            try await queue.complete(job, on: connection)
            return reviewer == nil ? .awaitingDecision : .assigned
        }
    }

    /// The common path as one statement, so one round trip and one commit: the job's
    /// completion, the task's state and check results, the system's decision, the audit row and
    /// both messages happen together, and only while the job is this worker's and the task is
    /// still being checked. Nothing was flagged, so `review_check_results` gets no row.
    private func approveAutomatically(job: Job, task: StoredTask, results: [ReviewCheckResult]) async throws -> ReviewTaskState? {
        let submission = task.submission
        let reasons = results.map { "\($0.ruleId): \($0.outcome.rawValue)" }
        let opinion = "approved automatically: all \(results.count) checks passed"
        let system = StaffRef(id: "system", name: "automated checks", role: "system")
        let messages = try approvalMessages(submission: submission, approvedBy: system, opinion: opinion)
        let rows = try await database.withConnection { connection in try await connection.query("""
            WITH completed AS (\(queue.completion(of: job)) RETURNING id),
            decided AS (
                UPDATE review_tasks SET state = 'approved_automatically', checked_at = now(), decided_at = now(),
                                        check_results = \(try Self.resultsJSON(results))
                WHERE id = \(task.id) AND state = 'checking' AND EXISTS (SELECT 1 FROM completed)
                RETURNING id
            ),
            recorded AS (
                INSERT INTO review_decisions (task_id, decision, decided_by, decided_role, automatic, opinion, reasons, customer_key, submitted_at)
                SELECT id, 'approve', 'system', 'system', true, \(opinion), \(reasons), \(submission.applicant.customerKey), \(task.createdAt)
                FROM decided
            ),
            audited AS (
                \(Self.auditInsertion(
                    task: task.id, actor: .system, action: "approved_automatically", before: ["state": "checking"],
                    after: ["state": "approved_automatically", "checks": .integer(Int64(results.count))],
                    onlyIf: "EXISTS (SELECT 1 FROM decided)"
                ))
            ),
            sent AS (\(try Outbox.insertion(messages, onlyIf: "EXISTS (SELECT 1 FROM decided)")))
            SELECT (SELECT count(*) FROM completed)::int8 AS completed,
                   (SELECT count(*) FROM decided)::int8 AS decided,
                   (SELECT state FROM review_tasks WHERE id = \(task.id)) AS state_before,
                   (\(Outbox.wakingRelays(after: "sent", on: connection))) AS woken
            """) }
        guard let row = rows.first, try row.decode(Int64.self, column: "completed") == 1 else { throw JobLeaseLost(jobID: job.id) }
        if try row.decode(Int64.self, column: "decided") == 1 { return .approvedAutomatically }
        // Already decided (the job ran before and committed), withdrawn, or gone.
        return try row.decode(String?.self, column: "state_before").flatMap(ReviewTaskState.init(rawValue:))
    }

    /// Every result of a task, for `review_tasks.check_results`. They were all checked at the
    /// task's `checked_at`, so the elements leave their own time out.
    static func resultsJSON(_ results: [ReviewCheckResult]) throws -> PostgresJSONB {
        let elements = results.map { ReviewCheckResult(ruleId: $0.ruleId, outcome: $0.outcome, detail: $0.detail) }
        return PostgresJSONB(rawJSON: try JSONValueEncoder().encode(elements).jsonString)
    }

    /// `SELECT` rows for `review_check_results (task_id, rule_id, outcome, detail)`, which holds
    /// only results that did not pass (the flags by rule); a flag stored before (a job run
    /// again) is replaced.
    static func flagRows(_ flags: [ReviewCheckResult], of taskID: UUID) -> SQL {
        """
        SELECT \(taskID), r.rule_id, r.outcome, r.detail
        FROM unnest(\(flags.map(\.ruleId)), \(flags.map(\.outcome.rawValue)), \(flags.map(\.detail))) AS r (rule_id, outcome, detail)
        ON CONFLICT (task_id, rule_id) DO UPDATE SET outcome = excluded.outcome, detail = excluded.detail, checked_at = now()
        """
    }

    // MARK: Assignment

    /// Taken before choosing a reviewer; held to the end of the transaction.
    func lockAssignment(on connection: PostgresConnection) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(\(Self.assignmentLock))")
    }

    /// Assigns the task to a qualified reviewer on duty with the fewest open tasks (the least
    /// recently assigned among equals), or leaves it waiting when nobody qualifies. The caller
    /// holds the assignment lock and the task's row lock. Returns the reviewer's id.
    @discardableResult
    func assign(_ task: StoredTask, actor: ReviewActor, excluding: [String] = [], on connection: PostgresConnection) async throws -> String? {
        let serviceType = task.submission.serviceType
        let candidates = try await connection.query("""
            SELECT r.id, r.name FROM review_reviewers r
            WHERE r.on_duty
              AND (\(serviceType) = ANY (r.service_types) OR '*' = ANY (r.service_types))
              AND NOT (r.id = ANY (\(excluding)))
            ORDER BY (SELECT count(*) FROM review_tasks t WHERE t.assigned_reviewer = r.id AND t.state = 'assigned'),
                     r.last_assigned_seq, r.id
            LIMIT 1
            """)
        let before: JSON = ["state": .string(task.state.rawValue), "reviewer": task.assignedReviewer.map(JSON.string) ?? .null]
        guard let row = candidates.first else {
            try await connection.execute("""
                UPDATE review_tasks SET state = 'awaiting_decision', assigned_reviewer = NULL, assigned_at = NULL WHERE id = \(task.id)
                """)
            try await audit(task: task.id, actor: actor, action: "awaiting_reviewer", before: before, after: ["state": "awaiting_decision"], on: connection)
            return nil
        }
        let reviewerID = try row.decode(String.self, column: "id")
        let reviewerName = try row.decode(String.self, column: "name")
        try await connection.execute("""
            WITH picked AS (
                UPDATE review_reviewers SET last_assigned_seq = nextval('review_assignment_seq') WHERE id = \(reviewerID) RETURNING id
            )
            UPDATE review_tasks SET state = 'assigned', assigned_reviewer = (SELECT id FROM picked), assigned_at = now()
            WHERE id = \(task.id)
            """)
        try await audit(
            task: task.id, reviewer: reviewerID, actor: actor, action: "assigned", before: before,
            after: ["state": "assigned", "reviewer": .string(reviewerID)], on: connection
        )
        try await sendProgress(
            .reviewAssigned, submission: task.submission,
            actor: StaffRef(id: reviewerID, name: reviewerName, role: "reviewer"), on: connection
        )
        return reviewerID
    }

    // MARK: Messages and audit

    func sendProgress(
        _ event: ProgressEvent, submission: ReviewSubmit.Params, actor: StaffRef,
        opinion: String? = nil, reasons: [String]? = nil, items: [String]? = nil, on connection: PostgresConnection
    ) async throws {
        try await Outbox.enqueue(
            [progressMessage(event, submission: submission, actor: actor, opinion: opinion, reasons: reasons, items: items)], on: connection
        )
    }

    /// An approval tells intake and hands the case to routing: both messages in one insert.
    func sendApproval(submission: ReviewSubmit.Params, approvedBy: StaffRef, opinion: String?, on connection: PostgresConnection) async throws {
        try await Outbox.enqueue(approvalMessages(submission: submission, approvedBy: approvedBy, opinion: opinion), on: connection)
    }

    private func approvalMessages(submission: ReviewSubmit.Params, approvedBy: StaffRef, opinion: String?) throws -> [OutboxMessage] {
        [
            try progressMessage(.reviewApproved, submission: submission, actor: approvedBy, opinion: opinion),
            try OutboxMessage(
                RoutingDispatch.self,
                RoutingDispatch.Params(
                    caseId: submission.caseId, trackingNumber: submission.trackingNumber, serviceType: submission.serviceType,
                    serviceName: submission.serviceName, priority: submission.priority, confidentiality: submission.confidentiality,
                    department: submission.department, timeLimitWorkingDays: submission.timeLimitWorkingDays,
                    customerName: submission.applicant.name, acceptedAt: submission.acceptedAt, approvedBy: approvedBy, opinion: opinion
                ),
                to: OneStopService.routing.rawValue, aggregateKey: submission.caseId
            ),
        ]
    }

    private func progressMessage(
        _ event: ProgressEvent, submission: ReviewSubmit.Params, actor: StaffRef,
        opinion: String? = nil, reasons: [String]? = nil, items: [String]? = nil
    ) throws -> OutboxMessage {
        try OutboxMessage(
            IntakeRecordProgress.self,
            IntakeRecordProgress.Params(
                caseId: submission.caseId, event: event, occurredAt: Date(), actor: actor,
                reasons: reasons, items: items, opinion: opinion
            ),
            to: OneStopService.intake.rawValue, aggregateKey: submission.caseId
        )
    }

    func audit(
        task: UUID?, reviewer: String? = nil, actor: ReviewActor, action: String,
        before: JSON?, after: JSON?, on connection: PostgresConnection
    ) async throws {
        try await connection.execute(Self.auditInsertion(task: task, reviewer: reviewer, actor: actor, action: action, before: before, after: after))
    }

    /// The audit row's INSERT, written only when `condition` holds (as a CTE of a larger statement).
    static func auditInsertion(
        task: UUID?, reviewer: String? = nil, actor: ReviewActor, action: String,
        before: JSON?, after: JSON?, onlyIf condition: SQL = "true"
    ) -> SQL {
        """
        INSERT INTO review_audit (task_id, reviewer_id, actor_id, actor_role, action, before, after, trace)
        SELECT \(task), \(reviewer), \(actor.id), \(actor.role), \(action),
               \(before.map { PostgresJSONB(rawJSON: $0.jsonString) }), \(after.map { PostgresJSONB(rawJSON: $0.jsonString) }), \(actor.trace)
        WHERE \(condition)
        """
    }
}

extension Masking {
    /// A mask for a number whose type is unknown or invalid: first and last two characters.
    static func maskAny(_ value: String) -> String { mask(value, keepingPrefix: 2, suffix: 2) }
}
