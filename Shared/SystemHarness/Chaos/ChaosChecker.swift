import Logging
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Accounts for every case of a chaos run, like Jepsen's queue checker, from what the client
/// saw, each service's database and what reached the sinks:
///
/// - **lost**: acknowledged (201) but not at its end state: routed, reviewed once, dispatched
///   once, the customer's SMS and email and the handler's email delivered;
/// - **duplicated**: an effect or a message twice (two review tasks or dispatches for a case,
///   two different SMS or emails for one event);
/// - **re-sent with the same key**: one message handed to the provider again, under the same
///   idempotency key (SMS) or Message-ID (email), because notification was killed between the
///   provider's acceptance and the record of it. No send and record can be one transaction;
///   the key is how a provider (and a mail client) recognises the repeat. Counted apart.
/// - **unexpected**: something nobody asked for (a case without one of the run's keys, a
///   message to someone who did not apply, a case found after a definite refusal);
/// - **recovered**: the client never learnt the outcome (timeouts, 5xx) and the case was found,
///   complete, anyway.
final class ChaosChecker: Sendable {
    private let system: OneStopSystem
    private let customers: [Customer]
    private let runID: String
    private let intake: PostgresPool
    private let review: PostgresPool
    private let routing: PostgresPool
    private let notification: PostgresPool

    static let logger = Logger(label: "onestop.chaos", factory: { _ in SwiftLogNoOpLogHandler() })
    /// Intake's statuses at or past routing.
    static let routedOrLater = ["routed", "in_progress", "info_requested", "completed", "closed"]

    /// Every copy carried the same non-empty key.
    static func oneKey(_ keys: Set<String>?) -> Bool {
        guard let keys, keys.count == 1, let key = keys.first else { return false }
        return !key.isEmpty
    }

    init(system: OneStopSystem, customers: [Customer], runID: String) throws {
        self.system = system
        self.customers = customers
        self.runID = runID
        func pool(_ part: OneStopSystem.Part) throws -> PostgresPool {
            guard let url = system.databaseURL(part) else { throw EndToEndError("no database for \(part.rawValue)") }
            return PostgresPool(configuration: PostgresConfiguration(connectionString: url), maxConnections: 1, logger: Self.logger)
        }
        intake = try pool(.intake)
        review = try pool(.review)
        routing = try pool(.routing)
        notification = try pool(.notification)
    }

    func close() async {
        for pool in [intake, review, routing, notification] { await pool.close() }
    }

    func key(_ index: Int) -> String { "chaos-\(runID)-\(index)" }

    func account(_ attempts: [[AttemptOutcome]]) async throws -> ChaosAccount {
        // What the databases hold.
        var casesByKey: [String: (id: String, tracking: String, status: String)] = [:]
        var stray: [String] = []
        var trackingNumbers = Set<String>()
        var caseIDs = Set<String>()
        for row in try await intake.query("SELECT id::text AS id, idempotency_key, tracking_number, status FROM cases") {
            let id = try row.decode(String.self, column: "id")
            let tracking = try row.decode(String.self, column: "tracking_number")
            caseIDs.insert(id)
            trackingNumbers.insert(tracking)
            if let key = try row.decode(String?.self, column: "idempotency_key"), key.hasPrefix("chaos-\(runID)-") {
                casesByKey[key] = (id, tracking, try row.decode(String.self, column: "status"))
            } else {
                stray.append("intake case \(tracking) without one of the run's keys")
            }
        }
        var reviewTasks: [String: Int] = [:]
        for row in try await review.query("SELECT case_id, count(*)::int8 AS n FROM review_tasks GROUP BY case_id") {
            reviewTasks[try row.decode(String.self, column: "case_id")] = Int(try row.decode(Int64.self, column: "n"))
        }
        // Checks that could not run (intake down while the worker asked it) send the case to a
        // person by design: such a case is held for a reviewer, not lost.
        var heldForReviewer = Set<String>()
        for row in try await review.query("""
            SELECT DISTINCT t.case_id FROM review_tasks t JOIN review_check_results r ON r.task_id = t.id
            WHERE t.state IN ('assigned', 'awaiting_decision') AND r.outcome = 'could_not_verify'
            """) {
            heldForReviewer.insert(try row.decode(String.self, column: "case_id"))
        }
        var dispatches: [String: Int] = [:]
        for row in try await routing.query("""
            SELECT a.case_id, count(s.id) FILTER (WHERE s.kind = 'dispatch')::int8 AS n
            FROM routing_assignments a LEFT JOIN routing_slips s ON s.assignment_id = a.id GROUP BY a.case_id
            """) {
            dispatches[try row.decode(String.self, column: "case_id")] = Int(try row.decode(Int64.self, column: "n"))
        }
        let open = try await notification.query(
            "SELECT count(*)::int8 AS n FROM notification_deliveries WHERE status IN ('pending', 'retrying')"
        ).first?.decode(Int64.self, column: "n") ?? 0
        var deadLetters = 0
        for pool in [intake, review, routing] {
            deadLetters += Int(try await pool.query("SELECT count(*)::int8 AS n FROM messaging_outbox WHERE status = 'dead'")
                .first?.decode(Int64.self, column: "n") ?? 0)
        }
        for id in reviewTasks.keys where !caseIDs.contains(id) { stray.append("review task for unknown case \(id)") }
        for id in dispatches.keys where !caseIDs.contains(id) { stray.append("routing assignment for unknown case \(id)") }

        // What reached the sinks.
        var sms: [String: [String?]] = [:]
        for message in system.sms.smsMessages() { sms[message.recipient, default: []].append(message.key) }
        var email: [String: Int] = [:]
        var emailIDs: [String: Set<String>] = [:]
        var staff: [String: Int] = [:]
        var staffIDs: [String: Set<String>] = [:]
        for message in system.mail.emailMessages() {
            if message.recipient.hasSuffix("@hall.example.org") {
                let subject = message.text.split(separator: "\n").first.map(String.init) ?? ""
                let tracking = subject.components(separatedBy: ": ").last ?? subject
                guard subject.hasPrefix("New assignment"), trackingNumbers.contains(tracking) else {
                    stray.append("staff email nobody asked for: \(subject.prefix(80))")
                    continue
                }
                staff[tracking, default: 0] += 1
                staffIDs[tracking, default: []].insert(message.key ?? "")
            } else {
                email[message.recipient, default: 0] += 1
                emailIDs[message.recipient, default: []].insert(message.key ?? "")
            }
        }
        let phones = Set(customers.map(\.e164))
        let addresses = Set(customers.map(\.email))
        for recipient in sms.keys where !phones.contains(recipient) { stray.append("SMS to \(recipient), who did not apply") }
        for recipient in email.keys where !addresses.contains(recipient) { stray.append("email to \(recipient), who did not apply") }

        // Case by case.
        var account = ChaosAccount(submitted: attempts.count)
        account.unexpected = stray
        account.openDeliveries = Int(open)
        account.deadLetters = deadLetters
        for (index, tries) in attempts.enumerated() {
            let customer = customers[index]
            let created = tries.compactMap { outcome -> String? in
                if case .created(let id, _) = outcome { return id }
                return nil
            }.first
            let refused = tries.contains { if case .refused = $0 { true } else { false } }
            let found = casesByKey[key(index)]
            if created != nil {
                account.acknowledged += 1
                if tries.count > 1 { account.acknowledgedAfterRetry += 1 }
            } else if refused {
                account.refused += 1
            } else {
                account.unknown += 1
            }
            if let created, let found, created != found.id {
                account.unexpected.append("case \(index): answered \(created), stored \(found.id)")
            }
            if refused, created == nil, let found {
                account.unexpected.append("case \(index): refused (\(tries)) yet stored as \(found.tracking)")
            }

            // Twice is too many, whoever asked.
            let smsKeys = sms[customer.e164] ?? []
            if let found {
                if (reviewTasks[found.id] ?? 0) > 1 { account.duplicated.append("case \(found.tracking): \(reviewTasks[found.id]!) review tasks") }
                if (dispatches[found.id] ?? 0) > 1 { account.duplicated.append("case \(found.tracking): \(dispatches[found.id]!) dispatches") }
                if let count = staff[found.tracking], count > 1 {
                    if Self.oneKey(staffIDs[found.tracking]) {
                        account.resentWithSameKey.append("case \(found.tracking): \(count) assignment emails, one Message-ID")
                    } else {
                        account.duplicated.append("case \(found.tracking): \(count) assignment emails")
                    }
                    account.duplicatedCases.append((found.id, found.tracking))
                }
            }
            if smsKeys.count > 1 {
                if smsKeys.allSatisfy({ $0 != nil }), Self.oneKey(Set(smsKeys.compactMap { $0 })) {
                    account.resentWithSameKey.append("case \(index): \(smsKeys.count) acceptance SMS, one idempotency key")
                } else {
                    account.duplicated.append("case \(index): \(smsKeys.count) acceptance SMS")
                }
            }
            if let count = email[customer.email], count > 1 {
                if Self.oneKey(emailIDs[customer.email]) {
                    account.resentWithSameKey.append("case \(index): \(count) acceptance emails, one Message-ID")
                } else {
                    account.duplicated.append("case \(index): \(count) acceptance emails")
                }
            }

            // The end state.
            guard created != nil || (found != nil && !refused) else {
                continue
            }
            var missing: [String] = []
            if let found, heldForReviewer.contains(found.id) {
                account.heldForReviewer.append(found.tracking)
                if found.status != "in_review" { missing.append("status \(found.status) while held for a reviewer") }
            } else if let found {
                if !Self.routedOrLater.contains(found.status) { missing.append("status \(found.status)") }
                if (reviewTasks[found.id] ?? 0) == 0 { missing.append("no review task") }
                if (dispatches[found.id] ?? 0) == 0 { missing.append("no dispatch") }
                if (staff[found.tracking] ?? 0) == 0 { missing.append("no assignment email") }
            } else {
                missing.append("no case in intake")
            }
            if smsKeys.isEmpty { missing.append("no acceptance SMS") }
            if (email[customer.email] ?? 0) == 0 { missing.append("no acceptance email") }
            if !missing.isEmpty, let found { account.unfinished.append((found.id, found.tracking)) }
            if created != nil {
                if !missing.isEmpty { account.lost.append("case \(index) \(found?.tracking ?? key(index)): \(missing.joined(separator: ", "))") }
            } else {
                account.recovered += 1
                if !missing.isEmpty { account.recoveredIncomplete.append("case \(index) \(found?.tracking ?? ""): \(missing.joined(separator: ", "))") }
            }
        }
        return account
    }
}

extension ChaosChecker {
    /// Where a case stands in each service: review's task and checks, the jobs and outbox
    /// messages about it that are not done, notification's messages. For the report of a case
    /// that did not arrive.
    func diagnose(_ caseID: String, tracking: String) async -> String {
        var lines: [String] = []
        func collect(_ what: String, _ pool: PostgresPool, _ sql: SQL) async {
            do {
                for row in try await pool.query(sql) {
                    lines.append("    \(what): " + row.columnNames.map { name in "\(name)=\((try? row.decode(String?.self, column: name)).flatMap { $0 } ?? "null")" }.joined(separator: " "))
                }
            } catch {
                lines.append("    \(what): \(error)")
            }
        }
        let like = "%\(caseID)%"
        await collect("review task", review, "SELECT state, assigned_reviewer, checked_at::text AS checked FROM review_tasks WHERE case_id = \(caseID)")
        await collect("review check", review, """
            SELECT r.rule_id, r.outcome, left(r.detail, 120) AS detail FROM review_check_results r
            JOIN review_tasks t ON t.id = r.task_id WHERE t.case_id = \(caseID) AND r.outcome <> 'passed'
            """)
        for (name, pool) in [("intake", intake), ("review", review), ("routing", routing), ("notification", notification)] {
            await collect("\(name) outbox", pool, """
                SELECT destination, method, status, attempts::text AS attempts, left(coalesce(last_error, ''), 160) AS error
                FROM messaging_outbox WHERE (aggregate_key LIKE \(like) OR params::text LIKE \(like)) AND status <> 'delivered'
                """)
            await collect("\(name) job", pool, """
                SELECT queue, status, attempts::text AS attempts, left(errors::text, 160) AS errors
                FROM messaging_jobs WHERE payload::text LIKE \(like) AND status <> 'done'
                """)
        }
        await collect("notification attempt", notification, """
            SELECT d.channel, a.attempt::text AS attempt, a.outcome, a.started_at::text AS started, a.finished_at::text AS finished
            FROM notification_messages m JOIN notification_deliveries d ON d.message_id = m.id
            JOIN notification_attempts a ON a.delivery_id = d.id WHERE m.subject_id = \(caseID) ORDER BY a.id
            """)
        await collect("notification job", notification, """
            SELECT j.id::text AS id, j.status, j.attempts::text AS attempts, j.created_at::text AS created, j.finished_at::text AS finished
            FROM notification_messages m JOIN notification_deliveries d ON d.message_id = m.id
            JOIN messaging_jobs j ON j.payload->>'delivery' = d.id::text WHERE m.subject_id = \(caseID) ORDER BY j.id
            """)
        await collect("notification message", notification, """
            SELECT m.key, d.channel, d.status, d.attempts::text AS attempts, left(coalesce(d.last_error, ''), 120) AS error
            FROM notification_messages m JOIN notification_deliveries d ON d.message_id = m.id WHERE m.subject_id = \(caseID)
            """)
        return "  \(tracking) (\(caseID)):\n" + (lines.isEmpty ? "    nothing pending anywhere" : lines.joined(separator: "\n"))
    }
}

/// The figures of one accounting.
public struct ChaosAccount: Sendable {
    public var submitted: Int
    /// Answered 201 (by some attempt), and of those after more than one attempt.
    public var acknowledged = 0
    public var acknowledgedAfterRetry = 0
    /// Every attempt a timeout or 5xx; found anyway = recovered.
    public var unknown = 0
    public var recovered = 0
    /// A definite 4xx.
    public var refused = 0
    public var lost: [String] = []
    /// Cases a person must now decide because a check could not run during a fault (review's
    /// design: `could_not_verify` goes to a reviewer); their end state is "in review".
    public var heldForReviewer: [String] = []
    /// The lost and incomplete cases' ids and tracking numbers, for `ChaosChecker.diagnose`.
    var unfinished: [(id: String, tracking: String)] = []
    var duplicatedCases: [(id: String, tracking: String)] = []
    /// Where the first few unfinished cases stand (filled in after the last accounting).
    public var diagnoses: [String] = []
    public var recoveredIncomplete: [String] = []
    public var duplicated: [String] = []
    /// One message sent again under its own key after a kill mid-send (see `ChaosChecker`).
    public var resentWithSameKey: [String] = []
    public var unexpected: [String] = []
    /// Notification deliveries still pending or retrying, and outbox messages in the dead-letter state.
    public var openDeliveries = 0
    public var deadLetters = 0

    /// Everything acknowledged or found has reached its end state and nothing is left to send.
    public var settled: Bool { lost.isEmpty && recoveredIncomplete.isEmpty && openDeliveries == 0 }
}

/// A chaos run's outcome: the faults as injected and the accounting after the drain.
public struct ChaosReport: Sendable, CustomStringConvertible {
    public var configuration: ChaosRun.Configuration
    public var faults: [InjectedFault]
    public var account: ChaosAccount
    /// Parts found not running when the run healed the system (they died by themselves).
    public var restartedAtHeal: [OneStopSystem.Part]
    public var loadSeconds: Double
    public var drainSeconds: Double
    public var totalSeconds: Double

    /// lost = 0, duplicated = 0, nothing unexpected, every found case complete.
    public var passed: Bool {
        account.lost.isEmpty && account.duplicated.isEmpty && account.unexpected.isEmpty && account.recoveredIncomplete.isEmpty
    }

    public var description: String {
        let a = account
        var lines = [
            "chaos run: \(a.submitted) cases at \(configuration.rate)/s, \(faults.count) faults, load \(f1(loadSeconds)) s, drain \(f1(drainSeconds)) s, total \(f1(totalSeconds)) s",
            "",
            "  at (s)  held (s)  fault",
        ]
        for fault in faults {
            lines.append("  \(pad(f1(fault.at), 6))  \(pad(f1(fault.lasted), 8))  \(fault.fault)\(fault.problem.map { "  PROBLEM: \($0)" } ?? "")")
        }
        if !restartedAtHeal.isEmpty { lines.append("  not running at heal time (restarted): \(restartedAtHeal.map(\.rawValue).joined(separator: ", "))") }
        lines += [
            "",
            "  | outcome                                   | cases |",
            "  | ----------------------------------------- | ----: |",
            row("submitted", a.submitted),
            row("acknowledged (201)", a.acknowledged),
            row("  of which after a retry (same key)", a.acknowledgedAfterRetry),
            row("refused (4xx)", a.refused),
            row("outcome unknown (timeouts, 5xx)", a.unknown),
            row("  recovered (found, complete)", a.recovered - a.recoveredIncomplete.count),
            row("  found, incomplete", a.recoveredIncomplete.count),
            row("  not found", a.unknown - a.recovered),
            row("held for a reviewer (unverifiable check)", a.heldForReviewer.count),
            row("**lost**", a.lost.count),
            row("**duplicated**", a.duplicated.count),
            row("re-sent with the same key (killed mid-send)", a.resentWithSameKey.count),
            row("**unexpected**", a.unexpected.count),
            row("deliveries still open", a.openDeliveries),
            row("outbox dead letters", a.deadLetters),
        ]
        for (title, items) in [
            ("lost", a.lost), ("found, incomplete", a.recoveredIncomplete), ("duplicated", a.duplicated),
            ("re-sent with the same key", a.resentWithSameKey), ("unexpected", a.unexpected),
        ] where !items.isEmpty {
            lines.append("")
            lines.append("  \(title) (\(items.count)):")
            lines += items.prefix(25).map { "    \($0)" }
            if items.count > 25 { lines.append("    … \(items.count - 25) more") }
        }
        if !a.diagnoses.isEmpty {
            lines.append("")
            lines.append("  where unfinished cases stand:")
            lines += a.diagnoses
        }
        return lines.joined(separator: "\n")
    }

    private func row(_ title: String, _ value: Int) -> String {
        "  | \(title.padding(toLength: 41, withPad: " ", startingAt: 0)) | \(pad(String(value), 5)) |"
    }
    private func f1(_ value: Double) -> String { String(format: "%.1f", value) }
    private func pad(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
}
