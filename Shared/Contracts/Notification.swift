#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation
import LineProtocol

/// Every message OneStop sends, with the variables its templates use. The notification service
/// refuses a send that lacks one of them, so a customer never reads an empty gap.
public enum NotificationTemplate: String, Codable, Sendable, CaseIterable {
    case caseAccepted = "case.accepted"
    case caseMaterialsMissing = "case.materials_missing"
    case caseLapsed = "case.lapsed"
    case caseNotAccepted = "case.not_accepted"
    case caseRejected = "case.rejected"
    case caseReturned = "case.returned"
    case caseInfoRequested = "case.info_requested"
    case caseExtended = "case.extended"
    case caseCompleted = "case.completed"
    case caseCompletedWithPickup = "case.completed_pickup"
    case caseSurveyInvitation = "case.survey_invitation"
    case caseWithdrawn = "case.withdrawn"
    case complaintAcknowledged = "complaint.acknowledged"
    case complaintResolved = "complaint.resolved"
    case staffAssignment = "staff.assignment"
    case staffDeadlineNear = "staff.deadline_near"
    case staffDeadlinePassed = "staff.deadline_passed"
    case staffEscalation = "staff.escalation"

    /// The variables every locale's text of this template uses; all must be given.
    public var requiredVariables: [String] {
        switch self {
        case .caseAccepted: ["customerName", "trackingNumber", "accessCode", "serviceName", "dueDate"]
        case .caseMaterialsMissing: ["customerName", "trackingNumber", "accessCode", "serviceName", "missingItems", "deadline"]
        case .caseLapsed: ["customerName", "trackingNumber", "serviceName"]
        case .caseNotAccepted: ["customerName", "serviceName", "reason", "guidance"]
        case .caseRejected: ["customerName", "trackingNumber", "serviceName", "reasons"]
        case .caseReturned: ["customerName", "trackingNumber", "serviceName", "items", "deadline"]
        case .caseInfoRequested: ["customerName", "trackingNumber", "serviceName", "question"]
        case .caseExtended: ["customerName", "trackingNumber", "serviceName", "newDueDate", "reason"]
        case .caseCompleted: ["customerName", "trackingNumber", "serviceName", "result"]
        case .caseCompletedWithPickup: ["customerName", "trackingNumber", "serviceName", "result", "pickupTime", "pickupPlace", "pickupWay"]
        case .caseSurveyInvitation: ["customerName", "trackingNumber", "serviceName"]
        case .caseWithdrawn: ["customerName", "trackingNumber", "serviceName"]
        case .complaintAcknowledged: ["complainantName", "complaintNumber", "responseDueDate"]
        case .complaintResolved: ["complainantName", "complaintNumber", "resolution"]
        case .staffAssignment: ["staffName", "subject", "reference", "dueDate"]
        case .staffDeadlineNear: ["staffName", "reference", "dueDate"]
        case .staffDeadlinePassed: ["staffName", "reference", "dueDate"]
        case .staffEscalation: ["staffName", "subject", "reference", "reason"]
        }
    }
}

public enum NotificationChannel: String, Codable, Sendable, CaseIterable {
    case sms, email
}

public enum NotificationUrgency: String, Codable, Sendable, CaseIterable {
    /// May wait for the end of quiet hours (SMS).
    case normal
    /// Sent at once, day or night.
    case urgent
}

/// `notification.send`: tell someone something, exactly once per `key`.
public enum NotificationSend: RPCMethod {
    public static let name = "notification.send"
    public static let isIdempotent = true
    public static let summary = "Send a templated SMS and/or email; a repeat with the same key sends nothing new."

    public struct Recipient: Codable, Sendable, Hashable {
        public var name: String?
        /// E.164, e.g. +8613812345678.
        public var phone: String?
        public var email: String?
        public init(name: String? = nil, phone: String? = nil, email: String? = nil) {
            self.name = name
            self.phone = phone
            self.email = email
        }
    }

    /// Whether to use every channel listed, or the first one the recipient can be reached on.
    public enum ChannelPolicy: String, Codable, Sendable {
        case all
        case firstAvailable = "first_available"
    }

    public struct Params: Codable, Sendable {
        /// The idempotency key, e.g. `case/<id>/accepted`. The same key never sends twice.
        public var key: String
        public var recipients: [Recipient]
        /// In order of preference.
        public var channels: [NotificationChannel]
        public var channelPolicy: ChannelPolicy?
        public var template: NotificationTemplate
        public var locale: CustomerLocale
        public var variables: [String: String]
        public var urgency: NotificationUrgency?
        /// What the message is about, for `notification.status` lookups (a case or complaint id).
        public var subjectId: String?

        public init(
            key: String, recipients: [Recipient], channels: [NotificationChannel],
            channelPolicy: ChannelPolicy? = nil, template: NotificationTemplate, locale: CustomerLocale,
            variables: [String: String], urgency: NotificationUrgency? = nil, subjectId: String? = nil
        ) {
            self.key = key
            self.recipients = recipients
            self.channels = channels
            self.channelPolicy = channelPolicy
            self.template = template
            self.locale = locale
            self.variables = variables
            self.urgency = urgency
            self.subjectId = subjectId
        }
    }

    public struct Result: Codable, Sendable {
        public var messageId: String
        /// False when the key was already known (nothing new is sent).
        public var created: Bool
        public var deliveries: Int
        public init(messageId: String, created: Bool, deliveries: Int) {
            self.messageId = messageId
            self.created = created
            self.deliveries = deliveries
        }
    }
}
