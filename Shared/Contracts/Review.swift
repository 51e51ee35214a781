#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation
import LineProtocol

/// `review.submit`: intake hands an accepted case to review (from its outbox, with
/// `_meta.messageId`; idempotent on `caseId`).
public enum ReviewSubmit: RPCMethod {
    public static let name = "review.submit"
    public static let isIdempotent = true
    public static let summary = "Create the review task and the automated-check job for an accepted case."

    /// The applicant as review needs it for its checks. From intake, `idNumber` is the MASKED
    /// number (so no plaintext sits in intake's outbox); the checks fetch the full numbers with
    /// `intake.applicantIdentity` when `idNumber` contains `*`.
    public struct Applicant: Codable, Sendable {
        public var name: String
        /// `resident_id`, `passport` or `unified_social_credit_code`.
        public var idType: String
        public var idNumber: String
        /// Keyed hash of the normalised ID number: the same customer has the same key everywhere.
        public var customerKey: String
        public init(name: String, idType: String, idNumber: String, customerKey: String) {
            self.name = name
            self.idType = idType
            self.idNumber = idNumber
            self.customerKey = customerKey
        }
    }

    public struct Params: Codable, Sendable {
        public var caseId: String
        public var trackingNumber: String
        public var serviceType: String
        public var serviceName: String
        public var applicantType: ApplicantType
        public var applicant: Applicant
        /// The person a representative acts for.
        public var principal: Applicant?
        public var priority: CasePriority
        public var confidentiality: Confidentiality
        public var channel: IntakeChannel
        public var description: String
        /// The materials handed in.
        public var materials: [MaterialItem]
        /// What the catalog requires for this service type and applicant type.
        public var requiredMaterials: [MaterialItem]
        /// The catalog allows approval by the automated checks alone.
        public var autoApprovalAllowed: Bool
        /// The catalog's responsible department code.
        public var department: String
        public var timeLimitWorkingDays: Int
        /// An amount the application is about (fees, subsidies), for risk rules.
        public var declaredAmount: Double?
        public var acceptedAt: Date
        /// 1 for the first review; one more each time the case comes back after a return for
        /// supplement. Review is idempotent on (caseId, round).
        public var round: Int?

        public init(
            caseId: String, trackingNumber: String, serviceType: String, serviceName: String,
            applicantType: ApplicantType, applicant: Applicant, principal: Applicant? = nil,
            priority: CasePriority, confidentiality: Confidentiality, channel: IntakeChannel,
            description: String, materials: [MaterialItem], requiredMaterials: [MaterialItem],
            autoApprovalAllowed: Bool, department: String, timeLimitWorkingDays: Int,
            declaredAmount: Double? = nil, acceptedAt: Date
        ) {
            self.caseId = caseId
            self.trackingNumber = trackingNumber
            self.serviceType = serviceType
            self.serviceName = serviceName
            self.applicantType = applicantType
            self.applicant = applicant
            self.principal = principal
            self.priority = priority
            self.confidentiality = confidentiality
            self.channel = channel
            self.description = description
            self.materials = materials
            self.requiredMaterials = requiredMaterials
            self.autoApprovalAllowed = autoApprovalAllowed
            self.department = department
            self.timeLimitWorkingDays = timeLimitWorkingDays
            self.declaredAmount = declaredAmount
            self.acceptedAt = acceptedAt
        }
    }

    public struct Result: Codable, Sendable {
        public var taskId: String
        /// False when the task already existed (a redelivery).
        public var created: Bool
        public init(taskId: String, created: Bool) {
            self.taskId = taskId
            self.created = created
        }
    }
}
