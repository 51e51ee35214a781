import Contracts
import JSONCoding
import LineProtocol
import Postgres
import Sealing
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Every SQL statement of the complaints service. Each function runs on the connection of the
/// caller's transaction.
struct ComplaintStore: Sendable {
    let contactHashKey: String
    /// Seals complainants' phones and emails: only ciphertext and the key's id reach the table.
    let sealer: DataSealer

    init(configuration: ComplaintsConfiguration) {
        contactHashKey = configuration.contactHashKey
        sealer = DataSealer(keys: configuration.dataKeys, keySetting: "ONESTOP_COMPLAINTS_DATA_KEYS")
    }

    /// A complaint from its row, contacts opened (rows filed before migration 0005 still hold
    /// them in the clear columns, which `init(row:)` has read).
    func record(_ row: PostgresRow) throws -> ComplaintRecord {
        var record = try ComplaintRecord(row: row)
        if let keyID = try row.decode(String?.self, column: "contact_key_id") {
            if let box = try row.decode(Data?.self, column: "phone_cipher") { record.phone = try sealer.openText(box, keyID: keyID) }
            if let box = try row.decode(Data?.self, column: "email_cipher") { record.email = try sealer.openText(box, keyID: keyID) }
        }
        return record
    }

    // MARK: Numbers and repeat complainants

    /// The next complaint number of a day: `TS` + YYYYMMDD + a four-digit (or longer) sequence.
    func nextNumber(on day: LocalDate, connection: PostgresConnection) async throws -> String {
        let rows = try await connection.query("""
            INSERT INTO complaint_number_sequences (day, last) VALUES (\(day.description)::date, 1)
            ON CONFLICT (day) DO UPDATE SET last = complaint_number_sequences.last + 1
            RETURNING last
            """)
        let sequence = try rows[0].decode(Int.self, column: "last")
        let digits = String(sequence)
        let padded = String(repeating: "0", count: max(0, 4 - digits.count)) + digits
        return "TS" + day.description.replacingOccurrences(of: "-", with: "") + padded
    }

    struct ContactHashes: Sendable {
        var phone: String?
        var email: String?
        var recentComplaints: Int
    }

    /// Keyed hashes of the contacts and how many complaints they filed since `since`.
    func contactHashes(phone: String?, email: String?, since: Date, connection: PostgresConnection) async throws -> ContactHashes {
        let rows = try await connection.query("""
            WITH h AS (
                SELECT CASE WHEN \(phone)::text IS NULL THEN NULL
                            ELSE encode(sha256(convert_to(\(contactHashKey) || 'phone:' || \(phone), 'UTF8')), 'hex') END AS ph,
                       CASE WHEN \(email)::text IS NULL THEN NULL
                            ELSE encode(sha256(convert_to(\(contactHashKey) || 'email:' || \(email), 'UTF8')), 'hex') END AS eh
            )
            SELECT h.ph, h.eh,
                   (SELECT count(*) FROM complaints c
                     WHERE c.filed_at >= \(since)
                       AND ((h.ph IS NOT NULL AND c.phone_hash = h.ph) OR (h.eh IS NOT NULL AND c.email_hash = h.eh))) AS recent
            FROM h
            """)
        return ContactHashes(
            phone: try rows[0].decode(String?.self, column: "ph"),
            email: try rows[0].decode(String?.self, column: "eh"),
            recentComplaints: try rows[0].decode(Int.self, column: "recent")
        )
    }

    /// Seals up to `limit` rows whose contacts are still in the clear columns (filed before
    /// migration 0005) and clears those columns.
    func sealLegacyContacts(limit: Int, connection: PostgresConnection) async throws -> Int {
        let rows = try await connection.query("""
            SELECT id, complainant_phone, complainant_email FROM complaints
            WHERE complainant_phone IS NOT NULL OR complainant_email IS NOT NULL
            LIMIT \(limit) FOR UPDATE SKIP LOCKED
            """)
        for row in rows {
            let phone = try row.decode(String?.self, column: "complainant_phone")
            let email = try row.decode(String?.self, column: "complainant_email")
            try await connection.execute("""
                UPDATE complaints SET contact_key_id = \(sealer.currentKeyID),
                    phone_cipher = \(try phone.map { try sealer.seal($0) }), email_cipher = \(try email.map { try sealer.seal($0) }),
                    complainant_phone = NULL, complainant_email = NULL
                WHERE id = \(try row.decode(UUID.self, column: "id"))
                """)
        }
        return rows.count
    }

    // MARK: Complaints

    func find(idempotencyKey: String, connection: PostgresConnection) async throws -> ComplaintRecord? {
        let rows = try await connection.query("SELECT \(ComplaintRecord.columns) FROM complaints WHERE idempotency_key = \(idempotencyKey)")
        return try rows.first.map(record)
    }

    /// Inserts a new complaint; returns false when another filing with the same key got there first.
    func insert(
        _ record: ComplaintRecord, idempotencyKey: String?, hashes: ContactHashes, connection: PostgresConnection
    ) async throws -> Bool {
        let rows = try await connection.query("""
            INSERT INTO complaints (
                id, number, idempotency_key, status, channel, complainant_name, contact_key_id, phone_cipher, email_cipher,
                phone_hash, email_hash, locale, case_tracking_number, case_overdue, vulnerable, case_handler_id, content,
                category, severity, classification_reasons, department, filed_at, first_response_due_at,
                source_rating_id, department_source, department_missing_reason, case_id, case_service_type, updated_at)
            VALUES (
                \(record.id), \(record.number), \(idempotencyKey), \(record.status.rawValue), \(record.channel.rawValue),
                \(record.complainantName), \(sealer.currentKeyID), \(try record.phone.map { try sealer.seal($0) }),
                \(try record.email.map { try sealer.seal($0) }), \(hashes.phone), \(hashes.email),
                \(record.locale.rawValue), \(record.caseTrackingNumber), \(record.caseOverdue), \(record.vulnerable),
                \(record.caseHandlerId), \(record.content), \(record.category), \(record.severity.rawValue),
                \(record.classificationReasons), \(record.department), \(record.filedAt), \(record.firstResponseDueAt),
                \(record.sourceRatingId), \(record.departmentSource), \(record.departmentMissingReason), \(record.caseId),
                \(record.caseServiceType as String?), \(record.filedAt))
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING id
            """)
        return !rows.isEmpty
    }

    /// A complaint, locked for the rest of the transaction when `forUpdate`.
    func load(id: UUID, forUpdate: Bool, connection: PostgresConnection) async throws -> ComplaintRecord? {
        let lock = SQL(unsafeSQL: forUpdate ? " FOR UPDATE" : "")
        let rows = try await connection.query("SELECT \(ComplaintRecord.columns) FROM complaints WHERE id = \(id)\(lock)")
        return try rows.first.map(record)
    }

    func load(number: String, connection: PostgresConnection) async throws -> ComplaintRecord? {
        let rows = try await connection.query("SELECT \(ComplaintRecord.columns) FROM complaints WHERE number = \(number)")
        return try rows.first.map(record)
    }

    /// Writes back every field a transition may change.
    func update(_ record: ComplaintRecord, connection: PostgresConnection) async throws {
        try await connection.execute("""
            UPDATE complaints SET
                status = \(record.status.rawValue), category = \(record.category), severity = \(record.severity.rawValue),
                classification_reasons = \(record.classificationReasons), department = \(record.department),
                case_handler_id = \(record.caseHandlerId), assignee_id = \(record.assigneeId), escalated = \(record.escalated),
                first_response_at = \(record.firstResponseAt), resolution_due_date = \(record.resolutionDueDate)::date,
                outcome = \(record.outcome?.rawValue), resolution = \(record.resolution), remedy = \(record.remedy),
                root_cause = \(record.rootCause), resolved_at = \(record.resolvedAt), reopen_count = \(record.reopenCount),
                accepted_at = \(record.acceptedAt), closed_at = \(record.closedAt),
                department_source = \(record.departmentSource), department_missing_reason = \(record.departmentMissingReason),
                first_response_escalated_at = \(record.firstResponseEscalatedAt),
                first_response_warned_at = \(record.firstResponseWarnedAt),
                resolution_warn_date = \(record.resolutionWarnDate)::date, resolution_warned_at = \(record.resolutionWarnedAt),
                resolution_escalated_at = \(record.resolutionEscalatedAt), case_id = \(record.caseId),
                updated_at = clock_timestamp()
            WHERE id = \(record.id)
            """)
    }

    // MARK: History

    func recordClassification(
        complaintID: UUID, category: String, severity: ComplaintSeverity, source: String, reason: String?, actorID: String,
        connection: PostgresConnection
    ) async throws {
        try await connection.execute("""
            INSERT INTO complaint_classifications (complaint_id, category, severity, source, reason, actor_id)
            VALUES (\(complaintID), \(category), \(severity.rawValue), \(source), \(reason), \(actorID))
            """)
    }

    func addNote(complaintID: UUID, investigatorID: String, note: String, evidenceRefs: [String], connection: PostgresConnection) async throws {
        try await connection.execute("""
            INSERT INTO complaint_notes (complaint_id, investigator_id, note, evidence_refs)
            VALUES (\(complaintID), \(investigatorID), \(note), \(evidenceRefs))
            """)
    }

    /// Records an escalation once per complaint, kind and level; false when it was already recorded.
    func recordEscalation(
        complaintID: UUID, kind: String = "severity", level: Int, reason: String, to staffID: String, connection: PostgresConnection
    ) async throws -> Bool {
        let rows = try await connection.query("""
            INSERT INTO complaint_escalations (complaint_id, kind, level, reason, to_staff_id)
            VALUES (\(complaintID), \(kind), \(level), \(reason), \(staffID))
            ON CONFLICT (complaint_id, kind, level) DO NOTHING
            RETURNING level
            """)
        return !rows.isEmpty
    }

    /// Records the re-check request of a complaint's case; false when one was already recorded.
    func insertCaseRecheck(
        complaintID: UUID, caseID: String, trackingNumber: String, outcome: ComplaintOutcome, messageID: UUID,
        connection: PostgresConnection
    ) async throws -> Bool {
        let rows = try await connection.query("""
            INSERT INTO complaint_case_rechecks (complaint_id, case_id, case_tracking_number, outcome, message_id)
            VALUES (\(complaintID), \(caseID), \(trackingNumber), \(outcome.rawValue), \(messageID))
            ON CONFLICT (complaint_id) DO NOTHING
            RETURNING complaint_id
            """)
        return !rows.isEmpty
    }

    struct Actor: Sendable {
        var id: String
        var role: String?
        var trace: String?
    }

    /// Appends an audit row (append-only; a trigger refuses updates and deletes).
    func audit(
        complaintID: UUID?, ratingID: UUID? = nil, action: String, from: ComplaintStatus?, to: ComplaintStatus?,
        actor: Actor, before: [String: String]?, after: [String: String]?, connection: PostgresConnection
    ) async throws {
        let beforeJSON = try before.map { try PostgresJSONB(rawJSON: JSONValueEncoder().encode($0).jsonString) }
        let afterJSON = try after.map { try PostgresJSONB(rawJSON: JSONValueEncoder().encode($0).jsonString) }
        try await connection.execute("""
            INSERT INTO complaint_audit (complaint_id, rating_id, action, from_status, to_status, actor_id, actor_role, before, after, trace)
            VALUES (\(complaintID), \(ratingID), \(action), \(from?.rawValue), \(to?.rawValue), \(actor.id), \(actor.role),
                    \(beforeJSON), \(afterJSON), \(actor.trace))
            """)
    }

    // MARK: Ratings

    /// Inserts a rating; nil when the case was already rated.
    func insertRating(_ params: ComplaintsRate.Params, id: UUID, connection: PostgresConnection) async throws -> UUID? {
        let rows = try await connection.query("""
            INSERT INTO satisfaction_ratings (id, tracking_number, score, timeliness, attitude, clarity, comment, department, service_type)
            VALUES (\(id), \(params.trackingNumber), \(params.score), \(params.timeliness), \(params.attitude), \(params.clarity),
                    \(params.comment), \(params.department), \(params.serviceType))
            ON CONFLICT (tracking_number) DO NOTHING
            RETURNING id
            """)
        return try rows.first?.decode(UUID.self, column: "id")
    }

    func linkFollowUp(ratingID: UUID, complaintID: UUID, connection: PostgresConnection) async throws {
        try await connection.execute("UPDATE satisfaction_ratings SET follow_up_complaint_id = \(complaintID) WHERE id = \(ratingID)")
    }

    // MARK: Reading

    func details(of record: ComplaintRecord, connection: PostgresConnection) async throws -> ComplaintsGet.Result {
        let notes = try await connection.query("""
            SELECT investigator_id, note, evidence_refs, at FROM complaint_notes WHERE complaint_id = \(record.id) ORDER BY id
            """).map { row in
            ComplaintsGet.Note(
                investigatorId: try row.decode(String.self, column: "investigator_id"), note: try row.decode(String.self, column: "note"),
                evidenceRefs: try row.decode([String].self, column: "evidence_refs"), at: try row.decode(Date.self, column: "at")
            )
        }
        let escalations = try await connection.query("""
            SELECT kind, level, reason, to_staff_id, at FROM complaint_escalations WHERE complaint_id = \(record.id) ORDER BY at, kind, level
            """).map { row in
            ComplaintsGet.Escalation(
                level: try row.decode(Int.self, column: "level"), reason: try row.decode(String.self, column: "reason"),
                toStaffId: try row.decode(String.self, column: "to_staff_id"), at: try row.decode(Date.self, column: "at"),
                kind: try row.decode(String.self, column: "kind")
            )
        }
        let classifications = try await connection.query("""
            SELECT category, severity, source, reason, actor_id, at FROM complaint_classifications
            WHERE complaint_id = \(record.id) ORDER BY id
            """).map { row in
            ComplaintsGet.Classification(
                category: try row.decode(String.self, column: "category"),
                severity: ComplaintSeverity(rawValue: try row.decode(String.self, column: "severity")) ?? .general,
                source: try row.decode(String.self, column: "source"), reason: try row.decode(String?.self, column: "reason"),
                by: try row.decode(String.self, column: "actor_id"), at: try row.decode(Date.self, column: "at")
            )
        }
        let history = try await connection.query("""
            SELECT action, from_status, to_status, actor_id, at FROM complaint_audit WHERE complaint_id = \(record.id) ORDER BY id
            """).map { row in
            ComplaintsGet.Event(
                action: try row.decode(String.self, column: "action"),
                fromStatus: try row.decode(String?.self, column: "from_status").flatMap(ComplaintStatus.init(rawValue:)),
                toStatus: try row.decode(String?.self, column: "to_status").flatMap(ComplaintStatus.init(rawValue:)),
                actorId: try row.decode(String.self, column: "actor_id"), at: try row.decode(Date.self, column: "at")
            )
        }
        return ComplaintsGet.Result(
            complaint: record.view, notes: notes, escalations: escalations, classifications: classifications, history: history
        )
    }

    /// Newest first (filing time, then id), after the complaint named by `cursor` when given.
    func list(_ params: ComplaintsList.Params, cursor: UUID?, limit: Int, connection: PostgresConnection) async throws -> [ComplaintRecord] {
        var sql: SQL = "SELECT \(ComplaintRecord.columns) FROM complaints WHERE true"
        if let status = params.status { sql += " AND status = \(status.rawValue)" }
        if let severity = params.severity { sql += " AND severity = \(severity.rawValue)" }
        if let category = params.category { sql += " AND category = \(category)" }
        if let department = params.department { sql += " AND department = \(department)" }
        if let tracking = params.caseTrackingNumber { sql += " AND case_tracking_number = \(tracking)" }
        if let from = params.filedFrom { sql += " AND filed_at >= \(from)" }
        if let before = params.filedBefore { sql += " AND filed_at < \(before)" }
        if let cursor { sql += " AND (filed_at, id) < (SELECT filed_at, id FROM complaints WHERE id = \(cursor))" }
        sql += " ORDER BY filed_at DESC, id DESC LIMIT \(limit)"
        return try await connection.query(sql).map(record)
    }

    // MARK: Statistics

    /// Figures of complaints filed and ratings given in [from, before), of one department when
    /// `department` is given. The complaint rate is left to the caller (it needs intake).
    func stats(from: Date?, before: Date?, department: String? = nil, connection: PostgresConnection) async throws -> ComplaintsStats.Result {
        var period: SQL = "filed_at >= COALESCE(\(from), '-infinity'::timestamptz) AND filed_at < COALESCE(\(before), 'infinity'::timestamptz)"
        var ratedPeriod: SQL = "rated_at >= COALESCE(\(from), '-infinity'::timestamptz) AND rated_at < COALESCE(\(before), 'infinity'::timestamptz)"
        if let department {
            period += " AND department = \(department)"
            ratedPeriod += " AND department = \(department)"
        }

        func counts(_ key: String, _ extra: String = "") async throws -> [ComplaintsStats.Count] {
            let rows = try await connection.query("""
                SELECT \(unsafeRaw: key) AS key, count(*) AS n FROM complaints
                WHERE \(period)\(unsafeRaw: extra) GROUP BY 1 ORDER BY 2 DESC, 1
                """)
            let pairs = try rows.map { (try $0.decode(String.self, column: "key"), try $0.decode(Int.self, column: "n")) }
            let total = max(1, pairs.reduce(0) { $0 + $1.1 })
            var running = 0
            return pairs.map { key, count in
                running += count
                return ComplaintsStats.Count(key: key, count: count, cumulativeShare: Double(running) / Double(total))
            }
        }

        let totals = try await connection.query("""
            SELECT count(*) AS total,
                   count(*) FILTER (WHERE resolved_at IS NOT NULL) AS resolved,
                   count(*) FILTER (WHERE resolved_at IS NOT NULL AND reopen_count > 0) AS reopened,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM first_response_at - filed_at)::float8)
                       FILTER (WHERE first_response_at IS NOT NULL) AS fr50,
                   percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM first_response_at - filed_at)::float8)
                       FILTER (WHERE first_response_at IS NOT NULL) AS fr90,
                   avg(extract(epoch FROM resolved_at - filed_at)::float8) FILTER (WHERE resolved_at IS NOT NULL) AS resavg,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - filed_at)::float8)
                       FILTER (WHERE resolved_at IS NOT NULL) AS res50
            FROM complaints WHERE \(period)
            """)
        let row = totals[0]
        let total = try row.decode(Int.self, column: "total")
        let resolved = try row.decode(Int.self, column: "resolved")
        let reopened = try row.decode(Int.self, column: "reopened")

        func satisfaction(_ key: String) async throws -> [ComplaintsStats.KeyedSatisfaction] {
            try await connection.query("""
                SELECT COALESCE(\(unsafeRaw: key), 'unknown') AS key, count(*) AS n, avg(score)::float8 AS average,
                       count(*) FILTER (WHERE score = 1) AS s1, count(*) FILTER (WHERE score = 2) AS s2,
                       count(*) FILTER (WHERE score = 3) AS s3, count(*) FILTER (WHERE score = 4) AS s4,
                       count(*) FILTER (WHERE score = 5) AS s5
                FROM satisfaction_ratings WHERE \(ratedPeriod)
                GROUP BY 1 ORDER BY 1
                """).map { row in
                ComplaintsStats.KeyedSatisfaction(
                    key: try row.decode(String.self, column: "key"), ratings: try row.decode(Int.self, column: "n"),
                    average: try row.decode(Double.self, column: "average"),
                    distribution: try (1...5).map { try row.decode(Int.self, column: "s\($0)") }
                )
            }
        }
        let byDepartment = try await satisfaction("department")
        var distribution = [0, 0, 0, 0, 0]
        var sum = 0.0
        var ratings = 0
        for group in byDepartment {
            for index in 0..<5 { distribution[index] += group.distribution[index] }
            sum += group.average * Double(group.ratings)
            ratings += group.ratings
        }

        return ComplaintsStats.Result(
            total: total,
            byCategory: try await counts("category"),
            byRootCause: try await counts("root_cause", " AND root_cause IS NOT NULL"),
            byDepartment: try await counts("COALESCE(department, 'unassigned')"),
            byServiceType: try await counts(
                "CASE WHEN case_tracking_number IS NULL THEN '\(ComplaintsStats.noCase)' ELSE COALESCE(case_service_type, '\(ComplaintsStats.unknownServiceType)') END"
            ),
            firstResponseSecondsP50: try row.decode(Double?.self, column: "fr50"),
            firstResponseSecondsP90: try row.decode(Double?.self, column: "fr90"),
            resolutionRate: total == 0 ? 0 : Double(resolved) / Double(total),
            resolutionSecondsAverage: try row.decode(Double?.self, column: "resavg"),
            resolutionSecondsP50: try row.decode(Double?.self, column: "res50"),
            reopenRate: resolved == 0 ? 0 : Double(reopened) / Double(resolved),
            satisfactionAverage: ratings == 0 ? nil : sum / Double(ratings),
            satisfactionDistribution: distribution,
            satisfactionByDepartment: byDepartment.map {
                ComplaintsStats.Satisfaction(department: $0.key, ratings: $0.ratings, average: $0.average, distribution: $0.distribution)
            },
            satisfactionByServiceType: try await satisfaction("service_type")
        )
    }
}
