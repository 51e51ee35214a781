import Contracts
import Identity
import LineProtocol
import Logging
import Messaging
import Postgres
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The complaints methods: validation at the boundary, then one transaction per call holding the
/// change, its audit row and any notification (outbox). Mutating calls go through the inbox, so a
/// redelivered message has its effect once.
struct ComplaintsHandlers: Sendable {
    let configuration: ComplaintsConfiguration
    let database: PostgresPool
    let store: ComplaintStore
    let inbox: Inbox
    /// Asked which department holds the case complained about; nil = never ask.
    let routing: RPCClient?
    /// Checks the access code a rating carries; nil = a rating with an access code is refused.
    let intake: RPCClient?
    let logger: Logger

    init(
        configuration: ComplaintsConfiguration, database: PostgresPool, routing: RPCClient? = nil, intake: RPCClient? = nil,
        logger: Logger
    ) {
        self.configuration = configuration
        self.database = database
        self.routing = routing
        self.intake = intake
        self.store = ComplaintStore(configuration: configuration)
        self.inbox = Inbox(database: database)
        self.logger = logger
    }

    static let maxNameLength = 100
    static let maxReferenceLength = 64
    static let maxTextLength = 4000
    static let maxEvidenceRefs = 50

    // MARK: Filing

    /// A complaint's validated input.
    struct Filing: Sendable {
        var name: String
        var phone: String?
        var email: String?
        var locale: CustomerLocale
        var channel: IntakeChannel
        var content: String
        var caseTrackingNumber: String?
        var caseOverdue: Bool
        var vulnerable: Bool
        var department: String?
        var caseHandlerId: String?
        var idempotencyKey: String?
        var sourceRatingId: UUID?
        var fixedCategory: String?
        var departmentSource: String? = nil
        var departmentMissingReason: String? = nil
        /// What routing said about the case, for the classification reasons.
        var routingNote: String? = nil
        /// Routing's id of the case (what routing.reopen needs).
        var caseId: String? = nil
        /// The case's service type, as routing reported it (for statistics by service type).
        var caseServiceType: String? = nil
    }

    func file(_ params: ComplaintsFile.Params, context: RPCContext) async throws -> ComplaintView {
        let validated = try validate(params)
        let filing = await withCaseRouting(validated)
        let actor = self.actor(context, default: "complainant")
        // The day's counter row is taken in its own short statement, not held for the whole
        // filing transaction, so concurrent filings do not queue on it. A filing that fails or
        // repeats leaves a gap in the numbers; numbers are unique, not gapless.
        let number = try await database.withConnection { connection in
            try await store.nextNumber(on: configuration.calendar.today(), connection: connection)
        }
        let record = try await inbox.receive(context) { connection in
            try await file(filing, number: number, actor: actor, connection: connection)
        }
        logger.info("complaint filed", metadata: ["complaint.id": "\(record.id)", "complaint.severity": "\(record.severity.rawValue)"])
        return record
    }

    func validate(_ params: ComplaintsFile.Params) throws(RPCError) -> Filing {
        let (name, phone, email) = try validate(params.complainant, field: "complainant", contactRequired: params.channel != .suggestionBox)
        let content = params.content.trimmingCharacters(in: .whitespacesAndNewlines)
        guard content.count >= configuration.minContentLength, content.count <= configuration.maxContentLength else {
            throw .invalidParams("content: write \(configuration.minContentLength) to \(configuration.maxContentLength) characters describing the complaint", zh: "content：请用 \(configuration.minContentLength) 至 \(configuration.maxContentLength) 个字符描述投诉内容")
        }
        let department = try Self.optionalReference(params.department, field: "department")
        return Filing(
            name: name, phone: phone, email: email, locale: params.complainant.locale ?? .zhCN, channel: params.channel,
            content: content,
            caseTrackingNumber: try Self.optionalReference(params.caseTrackingNumber, field: "caseTrackingNumber"),
            caseOverdue: params.caseOverdue ?? false, vulnerable: params.vulnerable ?? false,
            department: department,
            caseHandlerId: try Self.optionalReference(params.caseHandlerId, field: "caseHandlerId"),
            idempotencyKey: try Self.optionalReference(params.idempotencyKey, field: "idempotencyKey", maxLength: 200),
            departmentSource: department == nil ? nil : "filing",
            departmentMissingReason: department == nil ? "no department was given and no case named; a complaint officer sets the department" : nil
        )
    }

    /// Name, phone (E.164) and email of a complainant, checked with the Identity rules.
    func validate(_ input: ComplainantInput, field: String, contactRequired: Bool) throws(RPCError) -> (String, String?, String?) {
        let name = input.name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, name.count <= Self.maxNameLength else {
            throw .invalidParams("\(field).name: give the complainant's name (1 to \(Self.maxNameLength) characters)", zh: "\(field).name：请填写投诉人姓名（1 至 \(Self.maxNameLength) 个字符）")
        }
        var phone: String?
        if let raw = input.phone, !raw.trimmingCharacters(in: .whitespaces).isEmpty {
            do { phone = try PhoneNumber(raw).e164 } catch { throw .invalidParams("\(field).phone: \(error)", zh: "\(field).phone：\(error.zh)") }
        }
        var email: String?
        if let raw = input.email, !raw.trimmingCharacters(in: .whitespaces).isEmpty {
            do { email = try EmailAddress(raw).value } catch { throw .invalidParams("\(field).email: \(error)", zh: "\(field).email：\(error.zh)") }
        }
        if contactRequired && phone == nil && email == nil {
            throw .invalidParams("\(field): give a phone number or an email address so the complainant can be answered (only the suggestion box may be anonymous)", zh: "\(field)：请提供手机号码或电子邮箱，以便答复投诉人（只有意见箱可以匿名）")
        }
        return (name, phone, email)
    }

    static func optionalReference(_ value: String?, field: String, maxLength: Int = maxReferenceLength) throws(RPCError) -> String? {
        guard let value else { return nil }
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.count <= maxLength, !trimmed.contains(where: { $0.isNewline }) else {
            throw .invalidParams("\(field): 1 to \(maxLength) characters on one line, or leave it out", zh: "\(field)：单行 1 至 \(maxLength) 个字符，或不填")
        }
        return trimmed
    }

    /// Files a complaint inside the caller's transaction: number, rules, acknowledgement, and the
    /// escalation (major) or department assignment (general).
    /// `number` is a complaint number taken beforehand; nil takes one inside this transaction.
    func file(_ filing: Filing, number: String? = nil, actor: ComplaintStore.Actor, connection: PostgresConnection) async throws -> ComplaintView {
        if let key = filing.idempotencyKey, let existing = try await store.find(idempotencyKey: key, connection: connection) {
            return existing.view
        }
        let now = Date()
        let rules = configuration.rules
        let since = now.addingTimeInterval(-Double(rules.raises.repeatWithinDays) * 86_400)
        let hashes = try await store.contactHashes(phone: filing.phone, email: filing.email, since: since, connection: connection)
        var decision = rules.classify(ClassificationRules.Facts(
            content: filing.content, caseOverdue: filing.caseOverdue, vulnerable: filing.vulnerable,
            recentComplaintsBySameComplainant: hashes.recentComplaints, category: filing.fixedCategory
        ))
        if filing.sourceRatingId != nil && decision.category == rules.defaultCategory {
            decision.category = rules.lowRatingCategory
        }
        if let note = filing.routingNote { decision.reasons.append(note) }
        let number = if let number { number } else {
            try await store.nextNumber(on: configuration.calendar.today(at: now), connection: connection)
        }
        var record = ComplaintRecord(
            id: UUID.v7(at: now), number: number, channel: filing.channel, complainantName: filing.name, phone: filing.phone,
            email: filing.email, locale: filing.locale, caseTrackingNumber: filing.caseTrackingNumber,
            caseOverdue: filing.caseOverdue, vulnerable: filing.vulnerable, caseHandlerId: filing.caseHandlerId,
            content: filing.content, decision: decision, department: filing.department, filedAt: now,
            firstResponseDueAt: now.addingTimeInterval(Double(configuration.firstResponseHours) * 3600),
            sourceRatingId: filing.sourceRatingId, departmentSource: filing.departmentSource,
            departmentMissingReason: filing.departmentMissingReason, caseId: filing.caseId,
            caseServiceType: filing.caseServiceType
        )
        guard try await store.insert(record, idempotencyKey: filing.idempotencyKey, hashes: hashes, connection: connection) else {
            // A concurrent filing with the same key committed first.
            guard let key = filing.idempotencyKey, let existing = try await store.find(idempotencyKey: key, connection: connection) else {
                throw RPCError.unavailable("the complaint could not be filed; try again", zh: "投诉未能登记，请重试")
            }
            return existing.view
        }
        try await store.recordClassification(
            complaintID: record.id, category: record.category, severity: record.severity, source: "rules",
            reason: decision.reasons.isEmpty ? nil : decision.reasons.joined(separator: "; "), actorID: "rules", connection: connection
        )
        try await store.audit(
            complaintID: record.id, action: "filed", from: nil, to: .filed, actor: actor, before: nil,
            after: record.auditSnapshot, connection: connection
        )
        if record.hasContact {
            try await notifyComplainant(
                record, template: .complaintAcknowledged, key: "complaints/\(record.id.lowercasedString)/acknowledged",
                variables: ["responseDueDate": format(record.firstResponseDueAt)], connection: connection
            )
        }
        try await route(&record, reason: decision.reasons.joined(separator: "; "), actor: actor, connection: connection)
        return record.view
    }

    // MARK: Assignment and escalation

    /// Major complaints go to the supervisor at once (once); general complaints with a department
    /// get their resolution due date and the department contact is told.
    func route(_ record: inout ComplaintRecord, reason: String, actor: ComplaintStore.Actor, connection: PostgresConnection) async throws {
        let before = record.auditSnapshot
        let today = configuration.calendar.today()
        if record.severity == .major {
            guard !record.escalated else { return }
            let supervisor = configuration.supervisor
            let why = reason.isEmpty ? "major complaint" : reason
            guard try await store.recordEscalation(complaintID: record.id, level: 1, reason: why, to: supervisor.id, connection: connection) else {
                return
            }
            record.escalated = true
            record.assigneeId = supervisor.id
            record.resolutionDueDate = configuration.calendar.adding(workingDays: configuration.majorResolutionWorkingDays, to: today).description
            record.resolutionWarnDate = configuration.resolutionWarnDate(workingDays: configuration.majorResolutionWorkingDays, from: today).description
            try await store.update(record, connection: connection)
            try await store.audit(
                complaintID: record.id, action: "escalated", from: record.status, to: record.status, actor: actor,
                before: before, after: record.auditSnapshot, connection: connection
            )
            try await Self.notifyStaff(
                name: supervisor.name, phone: supervisor.phone, email: supervisor.email, template: .staffEscalation,
                key: "complaints/\(record.id.lowercasedString)/escalation/1", record: record,
                variables: ["subject": "Major complaint \(record.number) (\(record.category))", "reason": why], connection: connection
            )
        } else if let department = record.department, record.resolutionDueDate == nil {
            let due = configuration.calendar.adding(workingDays: configuration.resolutionWorkingDays, to: today).description
            record.resolutionDueDate = due
            record.resolutionWarnDate = configuration.resolutionWarnDate(workingDays: configuration.resolutionWorkingDays, from: today).description
            try await store.update(record, connection: connection)
            try await store.audit(
                complaintID: record.id, action: "assigned", from: record.status, to: record.status, actor: actor,
                before: before, after: record.auditSnapshot, connection: connection
            )
            if let contact = configuration.rules.departmentContacts?[department] {
                try await Self.notifyStaff(
                    name: contact.name, phone: contact.phone, email: contact.email, template: .staffAssignment,
                    key: "complaints/\(record.id.lowercasedString)/assignment/\(department)", record: record,
                    variables: ["subject": "Complaint \(record.number) (\(record.category))", "dueDate": due], connection: connection
                )
            }
        }
    }

    // MARK: Notifications

    func notifyComplainant(
        _ record: ComplaintRecord, template: NotificationTemplate, key: String, variables: [String: String],
        connection: PostgresConnection
    ) async throws {
        var all = variables
        all["complainantName"] = record.complainantName
        all["complaintNumber"] = record.number
        let params = NotificationSend.Params(
            key: key, recipients: [.init(name: record.complainantName, phone: record.phone, email: record.email)],
            channels: Self.channels(phone: record.phone, email: record.email), channelPolicy: .firstAvailable,
            template: template, locale: record.locale, variables: Self.only(template, all), subjectId: record.id.lowercasedString
        )
        try await Outbox.enqueue(
            NotificationSend.self, params, to: OneStopService.notification.rawValue, aggregateKey: record.id.lowercasedString,
            sealedWith: ContactSealing(configuration: configuration), on: connection
        )
    }

    static func notifyStaff(
        name: String, phone: String?, email: String?, template: NotificationTemplate, key: String, record: ComplaintRecord,
        variables: [String: String], connection: PostgresConnection
    ) async throws {
        var all = variables
        all["staffName"] = name
        all["reference"] = record.number
        let params = NotificationSend.Params(
            key: key, recipients: [.init(name: name, phone: phone, email: email)],
            channels: Self.channels(phone: phone, email: email), channelPolicy: .all, template: template,
            locale: .zhCN, variables: Self.only(template, all), urgency: template == .staffEscalation ? .urgent : .normal,
            subjectId: record.id.lowercasedString
        )
        try await Outbox.enqueue(NotificationSend.self, params, to: OneStopService.notification.rawValue, aggregateKey: record.id.lowercasedString, on: connection)
    }

    /// Exactly the template's required variables (a missing one is a bug here, caught by tests).
    static func only(_ template: NotificationTemplate, _ variables: [String: String]) -> [String: String] {
        var result: [String: String] = [:]
        for name in template.requiredVariables {
            result[name] = variables[name] ?? ""
        }
        return result
    }

    static func channels(phone: String?, email: String?) -> [NotificationChannel] {
        var channels: [NotificationChannel] = []
        if phone != nil { channels.append(.sms) }
        if email != nil { channels.append(.email) }
        return channels
    }

    /// "2026-11-24 09:30" in the hall's time zone.
    func format(_ instant: Date) -> String { Self.format(instant, in: configuration.calendar.timeZone) }

    static func format(_ instant: Date, in timeZone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: instant)
        return "\((c.year ?? 0).zeroPadded(4))-\((c.month ?? 0).zeroPadded(2))-\((c.day ?? 0).zeroPadded(2)) \((c.hour ?? 0).zeroPadded(2)):\((c.minute ?? 0).zeroPadded(2))"
    }

    // MARK: Helpers

    func actor(_ context: RPCContext, default fallback: String) -> ComplaintStore.Actor {
        ComplaintStore.Actor(
            id: context.meta.actor?.id ?? fallback, role: context.meta.actor?.roles.first, trace: context.meta.traceparent
        )
    }

    static func complaintID(_ text: String) throws(RPCError) -> UUID {
        guard let id = UUID(uuidString: text.trimmingCharacters(in: .whitespaces)) else {
            throw .invalidParams("complaintId: expected a complaint id (a UUID); complaints.list shows them", zh: "complaintId：应为投诉 id（UUID）；可用 complaints.list 查看")
        }
        return id
    }

    static func text(_ value: String?, field: String, required: Bool, maxLength: Int = maxTextLength) throws(RPCError) -> String? {
        let trimmed = value?.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let trimmed, !trimmed.isEmpty else {
            if required { throw .invalidParams("\(field): required; write 1 to \(maxLength) characters", zh: "\(field)：必填，请填写 1 至 \(maxLength) 个字符") }
            return nil
        }
        guard trimmed.count <= maxLength else { throw .invalidParams("\(field): at most \(maxLength) characters", zh: "\(field)：最多 \(maxLength) 个字符") }
        return trimmed
    }

    /// Runs one lifecycle step on a locked complaint: checks the move, lets `change` edit the
    /// record, writes it, audits before/after, all in one transaction (through the inbox).
    func transition(
        _ id: UUID, _ action: ComplaintLifecycle.Action, context: RPCContext, actor: ComplaintStore.Actor,
        auditAction: String? = nil,
        change: @escaping @Sendable (inout ComplaintRecord, PostgresConnection) async throws -> Void
    ) async throws -> ComplaintView {
        try await inbox.receive(context) { connection in
            guard var record = try await store.load(id: id, forUpdate: true, connection: connection) else {
                throw RPCError.notFound("no complaint with id \(id.lowercasedString)", zh: "未找到 id 为 \(id.lowercasedString) 的投诉")
            }
            let next = try ComplaintLifecycle.next(action, from: record.lifecycleState, maxReopens: configuration.maxReopens)
            let before = record.auditSnapshot
            let from = record.status
            record.status = next
            try await change(&record, connection)
            try await store.update(record, connection: connection)
            try await store.audit(
                complaintID: record.id, action: auditAction ?? action.rawValue, from: from, to: record.status, actor: actor,
                before: before, after: record.auditSnapshot, connection: connection
            )
            return record.view
        }
    }
}
