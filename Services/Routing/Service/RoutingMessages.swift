import Contracts
import Messaging
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The messages routing sends through its outbox: progress to intake (one ordered stream per
/// case) and staff notifications (keyed, so each is sent once).
enum RoutingMessages {
    /// Tells intake a step of the case; aggregate key = the case id, so intake sees the steps in order.
    static func progress(
        _ event: ProgressEvent, of a: AssignmentRecord, actor: StaffRef?, departmentName: String?,
        handlerName: String? = nil, reasons: [String]? = nil, items: [String]? = nil, result: String? = nil,
        pickup: Pickup? = nil, note: String? = nil, at: Date, on c: PostgresConnection
    ) async throws {
        try await Outbox.enqueue([progressMessage(
            event, of: a, actor: actor, departmentName: departmentName, handlerName: handlerName, reasons: reasons,
            items: items, result: result, pickup: pickup, note: note, at: at
        )], on: c)
    }

    /// The message `progress` writes, for writing it together with others.
    static func progressMessage(
        _ event: ProgressEvent, of a: AssignmentRecord, actor: StaffRef?, departmentName: String?,
        handlerName: String? = nil, reasons: [String]? = nil, items: [String]? = nil, result: String? = nil,
        pickup: Pickup? = nil, note: String? = nil, at: Date
    ) throws -> OutboxMessage {
        let params = IntakeRecordProgress.Params(
            caseId: a.caseId, event: event, occurredAt: at, actor: actor, department: a.department,
            departmentName: departmentName, handler: a.handlerId.map { StaffRef(id: $0, name: handlerName, role: "handler") },
            dueDate: a.dueDate.description, reasons: reasons, items: items, result: result, pickup: pickup, note: note
        )
        return try OutboxMessage(IntakeRecordProgress.self, params, to: OneStopService.intake.rawValue, aggregateKey: a.caseId)
    }

    /// A templated message to a member of staff. Skipped (returns false) when they have neither
    /// an email address nor a phone number on file.
    @discardableResult
    static func notifyStaff(
        _ template: NotificationTemplate, to staff: RoutingStaffContact, key: String, variables: [String: String],
        caseId: String, locale: CustomerLocale, urgent: Bool = false, on c: PostgresConnection
    ) async throws -> Bool {
        guard let message = try staffMessage(template, to: staff, key: key, variables: variables, caseId: caseId, locale: locale, urgent: urgent) else {
            return false
        }
        try await Outbox.enqueue([message], on: c)
        return true
    }

    /// The message `notifyStaff` writes (nil when the staff member cannot be reached), for
    /// writing it together with others.
    static func staffMessage(
        _ template: NotificationTemplate, to staff: RoutingStaffContact, key: String, variables: [String: String],
        caseId: String, locale: CustomerLocale, urgent: Bool = false
    ) throws -> OutboxMessage? {
        guard staff.email != nil || staff.phone != nil else { return nil }
        precondition(Set(template.requiredVariables).isSubset(of: variables.keys), "missing variables for \(template.rawValue)")
        var channels: [NotificationChannel] = []
        if staff.email != nil { channels.append(.email) }
        if staff.phone != nil { channels.append(.sms) }
        let params = NotificationSend.Params(
            key: key, recipients: [.init(name: staff.name, phone: staff.phone, email: staff.email)],
            channels: channels, channelPolicy: .firstAvailable, template: template, locale: locale,
            variables: variables, urgency: urgent ? .urgent : .normal, subjectId: caseId
        )
        return try OutboxMessage(NotificationSend.self, params, to: OneStopService.notification.rawValue, aggregateKey: "routing-staff/\(caseId)")
    }

    /// What staff notifications call the case.
    static func subject(of a: AssignmentRecord) -> String {
        "\(a.serviceName) (\(a.trackingNumber))"
    }
}

extension HandlerRecord {
    var contact: RoutingStaffContact { RoutingStaffContact(id: id, name: name, email: email, phone: phone) }
}
