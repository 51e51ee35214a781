#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation
import LineProtocol

// Intake's methods that other services call. Intake's customer- and staff-facing methods live
// beside them in `IntakeMethods.swift`.

/// The status a case shows to its customer; intake keeps it from the progress it is told.
public enum CaseStatus: String, Codable, Sendable, CaseIterable {
    case awaitingMaterials = "awaiting_materials"
    case accepted
    case notAccepted = "not_accepted"
    case lapsed
    case withdrawn
    case inReview = "in_review"
    case returned
    case rejected
    case approved
    case routed
    case inProgress = "in_progress"
    case infoRequested = "info_requested"
    case completed
    case closed

    /// No further progress is expected (an objection may still reopen `rejected` and `completed`).
    public var isFinal: Bool {
        switch self {
        case .notAccepted, .lapsed, .withdrawn, .rejected, .completed, .closed: true
        default: false
        }
    }
}

/// What review or routing tells intake happened to a case.
public enum ProgressEvent: String, Codable, Sendable, CaseIterable {
    // from review
    case reviewAssigned = "review_assigned"
    case reviewApproved = "review_approved"
    case reviewRejected = "review_rejected"
    case reviewReturned = "review_returned"
    // from routing
    case routed
    case processingAccepted = "processing_accepted"
    case infoRequested = "info_requested"
    case infoReceived = "info_received"
    case extended
    case transferred
    case completed
    case reopened
    case overdue
    case escalated
}

/// `intake.recordProgress`: review and routing report a step of a case (delivered from their
/// outboxes with `_meta.messageId`; a repeat is answered with the first outcome and changes nothing).
public enum IntakeRecordProgress: RPCMethod {
    public static let name = "intake.recordProgress"
    public static let isIdempotent = true
    public static let summary = "Record a step of a case reported by review or routing; tells the customer where the step calls for it."

    public struct Params: Codable, Sendable {
        public var caseId: String
        public var event: ProgressEvent
        public var occurredAt: Date
        /// Who did it (a reviewer, a handler, or `system`).
        public var actor: StaffRef?
        public var department: String?
        public var departmentName: String?
        public var handler: StaffRef?
        public var dueDate: String?
        /// Rejection reasons (at least one for `review_rejected`).
        public var reasons: [String]?
        /// Items to supplement (`review_returned`) or the question asked (`info_requested`).
        public var items: [String]?
        public var opinion: String?
        /// What the customer receives (`completed`).
        public var result: String?
        public var pickup: Pickup?
        public var note: String?

        public init(
            caseId: String, event: ProgressEvent, occurredAt: Date = Date(), actor: StaffRef? = nil,
            department: String? = nil, departmentName: String? = nil, handler: StaffRef? = nil,
            dueDate: String? = nil, reasons: [String]? = nil, items: [String]? = nil, opinion: String? = nil,
            result: String? = nil, pickup: Pickup? = nil, note: String? = nil
        ) {
            self.caseId = caseId
            self.event = event
            self.occurredAt = occurredAt
            self.actor = actor
            self.department = department
            self.departmentName = departmentName
            self.handler = handler
            self.dueDate = dueDate
            self.reasons = reasons
            self.items = items
            self.opinion = opinion
            self.result = result
            self.pickup = pickup
            self.note = note
        }
    }

    public struct Result: Codable, Sendable {
        public var caseId: String
        public var status: CaseStatus
        public init(caseId: String, status: CaseStatus) {
            self.caseId = caseId
            self.status = status
        }
    }
}

/// `intake.openCasesOfCustomer`: the review duplicate check asks whether the same customer has
/// another open case of the same service type.
public enum IntakeOpenCasesOfCustomer: RPCMethod {
    public static let name = "intake.openCasesOfCustomer"
    public static let isIdempotent = true
    public static let summary = "Open cases of one customer (by keyed hash of the ID number) for a service type."

    public struct Params: Codable, Sendable {
        /// `customerKey` as sent in `review.submit`.
        public var customerKey: String
        public var serviceType: String
        public var excludingCaseId: String?
        public init(customerKey: String, serviceType: String, excludingCaseId: String? = nil) {
            self.customerKey = customerKey
            self.serviceType = serviceType
            self.excludingCaseId = excludingCaseId
        }
    }

    public struct OpenCase: Codable, Sendable {
        public var caseId: String
        public var trackingNumber: String
        public var status: CaseStatus
        public init(caseId: String, trackingNumber: String, status: CaseStatus) {
            self.caseId = caseId
            self.trackingNumber = trackingNumber
            self.status = status
        }
    }

    public struct Result: Codable, Sendable {
        public var cases: [OpenCase]
        public init(cases: [OpenCase]) { self.cases = cases }
    }
}

/// `intake.applicantIdentity`: the review checks fetch the full identity numbers of a case at
/// check time, so the plaintext travels only on the wire and never sits in an outbox row
/// (`review.submit` carries the masked numbers). Only the review service may call it.
public enum IntakeApplicantIdentity: RPCMethod {
    public static let name = "intake.applicantIdentity"
    public static let isIdempotent = true
    public static let summary = "The applicant's (and principal's) identity numbers of a case, for the review checks only."

    public struct Params: Codable, Sendable {
        public var caseId: String
        public init(caseId: String) { self.caseId = caseId }
    }

    public struct Result: Codable, Sendable {
        public var applicant: ReviewSubmit.Applicant
        public var principal: ReviewSubmit.Applicant?
        public init(applicant: ReviewSubmit.Applicant, principal: ReviewSubmit.Applicant?) {
            self.applicant = applicant
            self.principal = principal
        }
    }
}
