import Contracts
import JSONCoding
import LineProtocol
import Postgres

/// The reviewer roster: upserts, duty changes and the redistribution they cause.
extension ReviewStore {
    func reviewer(id: String, on connection: PostgresConnection) async throws -> ReviewReviewer? {
        let rows = try await connection.query("""
            SELECT id, name, service_types, on_duty, team, supervisor_id, is_supervisor FROM review_reviewers WHERE id = \(id)
            """)
        return try rows.first.map(Self.reviewer)
    }

    static func reviewer(_ row: PostgresRow) throws -> ReviewReviewer {
        ReviewReviewer(
            id: try row.decode(String.self, column: "id"),
            name: try row.decode(String.self, column: "name"),
            serviceTypes: try row.decode([String].self, column: "service_types"),
            onDuty: try row.decode(Bool.self, column: "on_duty"),
            team: try row.decode(String?.self, column: "team"),
            supervisorId: try row.decode(String?.self, column: "supervisor_id"),
            isSupervisor: try row.decode(Bool.self, column: "is_supervisor")
        )
    }

    static func json(_ reviewer: ReviewReviewer?) -> JSON? {
        reviewer.flatMap { try? JSONValueEncoder().encode($0) }
    }

    /// Adds or changes a reviewer. Going off duty or losing a qualification hands the affected
    /// open tasks to others; coming on duty (or gaining one) picks up waiting tasks.
    func upsertReviewer(_ reviewer: ReviewReviewer, actor: ReviewActor) async throws -> ReviewUpsertReviewer.Result {
        try await database.withTransaction { connection in
            try await lockAssignment(on: connection)
            let before = try await self.reviewer(id: reviewer.id, on: connection)
            let rows = try await connection.query("""
                INSERT INTO review_reviewers (id, name, service_types, on_duty, team, supervisor_id, is_supervisor)
                VALUES (\(reviewer.id), \(reviewer.name), \(reviewer.serviceTypes), \(reviewer.onDuty), \(reviewer.team),
                        \(reviewer.supervisorId), \(reviewer.isSupervisor ?? false))
                ON CONFLICT (id) DO UPDATE SET
                    name = excluded.name, service_types = excluded.service_types, on_duty = excluded.on_duty,
                    team = excluded.team, supervisor_id = excluded.supervisor_id, is_supervisor = excluded.is_supervisor,
                    updated_at = now()
                RETURNING id, name, service_types, on_duty, team, supervisor_id, is_supervisor
                """)
            let after = try Self.reviewer(rows[0])
            try await audit(
                task: nil, reviewer: reviewer.id, actor: actor, action: before == nil ? "reviewer_added" : "reviewer_changed",
                before: Self.json(before), after: Self.json(after), on: connection
            )
            let moved = try await redistributeUnservable(of: after, actor: actor, on: connection)
            if after.onDuty { _ = try await assignWaiting(actor: actor, on: connection) }
            return ReviewUpsertReviewer.Result(reviewer: after, created: before == nil, redistributed: moved)
        }
    }

    func setOnDuty(reviewerID: String, onDuty: Bool, actor: ReviewActor) async throws -> ReviewSetOnDuty.Result {
        try await database.withTransaction { connection in
            try await lockAssignment(on: connection)
            guard let before = try await reviewer(id: reviewerID, on: connection) else {
                throw RPCError.notFound("reviewer \(reviewerID) is not on the roster; add them with review.upsertReviewer", zh: "审核人员 \(reviewerID) 不在名册中；请先用 review.upsertReviewer 添加")
            }
            var redistributed = 0
            var assigned = 0
            if before.onDuty != onDuty {
                try await connection.execute("UPDATE review_reviewers SET on_duty = \(onDuty), updated_at = now() WHERE id = \(reviewerID)")
                try await audit(
                    task: nil, reviewer: reviewerID, actor: actor, action: onDuty ? "on_duty" : "off_duty",
                    before: ["onDuty": .bool(before.onDuty)], after: ["onDuty": .bool(onDuty)], on: connection
                )
            }
            var after = before
            after.onDuty = onDuty
            redistributed = try await redistributeUnservable(of: after, actor: actor, on: connection)
            if onDuty { assigned = try await assignWaiting(actor: actor, on: connection) }
            return ReviewSetOnDuty.Result(reviewerId: reviewerID, onDuty: onDuty, redistributed: redistributed, assignedFromWaiting: assigned)
        }
    }

    /// Moves the reviewer's open tasks they can no longer serve (off duty, or no longer
    /// qualified) to others, urgent first. Caller holds the assignment lock.
    private func redistributeUnservable(of reviewer: ReviewReviewer, actor: ReviewActor, on connection: PostgresConnection) async throws -> Int {
        let qualifiedTypes = reviewer.serviceTypes
        let everything = qualifiedTypes.contains("*")
        let rows = try await connection.query("""
            SELECT id, case_id, state, submission, identity_checks, assigned_reviewer, assigned_at, created_at
            FROM review_tasks
            WHERE assigned_reviewer = \(reviewer.id) AND state = 'assigned'
              AND (\(!reviewer.onDuty) OR NOT (\(everything) OR service_type = ANY (\(qualifiedTypes))))
            ORDER BY priority_rank DESC, created_at, id
            FOR UPDATE
            """)
        for row in rows {
            let task = try Self.storedTask(row)
            try await assign(task, actor: actor, excluding: [reviewer.id], on: connection)
        }
        return rows.count
    }

    /// Assigns waiting tasks (urgent first) to whoever qualifies now. Caller holds the assignment lock.
    func assignWaiting(actor: ReviewActor, limit: Int = 1_000, on connection: PostgresConnection) async throws -> Int {
        let rows = try await connection.query("""
            SELECT id, case_id, state, submission, identity_checks, assigned_reviewer, assigned_at, created_at
            FROM review_tasks WHERE state = 'awaiting_decision'
            ORDER BY priority_rank DESC, created_at, id
            LIMIT \(limit)
            FOR UPDATE SKIP LOCKED
            """)
        var assigned = 0
        for row in rows {
            let task = try Self.storedTask(row)
            if try await assignIfPossible(task, actor: actor, on: connection) { assigned += 1 }
        }
        return assigned
    }

    /// Like `assign`, but a task nobody can take stays as it is (no audit row for "still waiting").
    private func assignIfPossible(_ task: StoredTask, actor: ReviewActor, on connection: PostgresConnection) async throws -> Bool {
        let rows = try await connection.query("""
            SELECT 1 FROM review_reviewers r
            WHERE r.on_duty AND (\(task.submission.serviceType) = ANY (r.service_types) OR '*' = ANY (r.service_types))
            LIMIT 1
            """)
        guard !rows.isEmpty else { return false }
        return try await assign(task, actor: actor, on: connection) != nil
    }
}
