#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation
import LineProtocol

// Intake's methods for people (through the gateway). The cross-service ones are in Intake.swift.

/// A text in both languages of the hall.
public struct LocalizedText: Codable, Sendable, Hashable {
    public var zhCN: String
    public var en: String

    enum CodingKeys: String, CodingKey {
        case zhCN = "zh-CN"
        case en
    }

    public init(zhCN: String, en: String) {
        self.zhCN = zhCN
        self.en = en
    }

    public func text(_ locale: CustomerLocale) -> String { locale == .en ? en : zhCN }
}

/// Whether the automated checks alone may approve, or a person must decide.
public enum ReviewPolicy: String, Codable, Sendable, CaseIterable {
    case automaticAllowed = "automatic_allowed"
    case personDecides = "person_decides"
}

/// A material the catalog asks for.
public struct CatalogMaterial: Codable, Sendable, Hashable {
    public var code: String
    public var name: LocalizedText
    public var original: Bool
    public var copies: Int
    /// The applicant types that must hand it in; absent means all.
    public var applicantTypes: [ApplicantType]?

    public init(code: String, name: LocalizedText, original: Bool, copies: Int, applicantTypes: [ApplicantType]? = nil) {
        self.code = code
        self.name = name
        self.original = original
        self.copies = copies
        self.applicantTypes = applicantTypes
    }

    public func applies(to applicantType: ApplicantType) -> Bool {
        applicantTypes.map { $0.contains(applicantType) } ?? true
    }
}

/// One service type of the hall's catalog.
public struct CatalogServiceType: Codable, Sendable, Hashable {
    public var code: String
    public var name: LocalizedText
    public var department: String
    public var timeLimitWorkingDays: Int
    /// The shorter limit for urgent and special cases (the green channel).
    public var urgentTimeLimitWorkingDays: Int?
    public var reviewPolicy: ReviewPolicy
    public var admissibleOnline: Bool
    public var applicantTypes: [ApplicantType]
    public var materials: [CatalogMaterial]
    /// Working days the customer has to hand in missing materials.
    public var materialsDeadlineWorkingDays: Int
    /// Most working days an extension may add.
    public var maxExtensionWorkingDays: Int?
    /// False when the hall no longer offers it (registrations are not accepted, with guidance).
    public var active: Bool?
    public var guidance: LocalizedText?

    public init(
        code: String, name: LocalizedText, department: String, timeLimitWorkingDays: Int,
        urgentTimeLimitWorkingDays: Int? = nil, reviewPolicy: ReviewPolicy, admissibleOnline: Bool,
        applicantTypes: [ApplicantType], materials: [CatalogMaterial], materialsDeadlineWorkingDays: Int,
        maxExtensionWorkingDays: Int? = nil, active: Bool? = nil, guidance: LocalizedText? = nil
    ) {
        self.code = code
        self.name = name
        self.department = department
        self.timeLimitWorkingDays = timeLimitWorkingDays
        self.urgentTimeLimitWorkingDays = urgentTimeLimitWorkingDays
        self.reviewPolicy = reviewPolicy
        self.admissibleOnline = admissibleOnline
        self.applicantTypes = applicantTypes
        self.materials = materials
        self.materialsDeadlineWorkingDays = materialsDeadlineWorkingDays
        self.maxExtensionWorkingDays = maxExtensionWorkingDays
        self.active = active
        self.guidance = guidance
    }

    public func requiredMaterials(for applicantType: ApplicantType) -> [CatalogMaterial] {
        materials.filter { $0.applies(to: applicantType) }
    }
}

public enum IntakeListCatalog: RPCMethod {
    public static let name = "intake.listCatalog"
    public static let isIdempotent = true
    public static let summary = "The service types of the catalog with their materials, limits and policies."
    public struct Params: Codable, Sendable {
        public var includeInactive: Bool?
        public init(includeInactive: Bool? = nil) { self.includeInactive = includeInactive }
    }
    public struct Result: Codable, Sendable {
        public var serviceTypes: [CatalogServiceType]
        public init(serviceTypes: [CatalogServiceType]) { self.serviceTypes = serviceTypes }
    }
}

/// Administrators add or change a service type; the change applies to registrations from then on.
public enum IntakeUpsertServiceType: RPCMethod {
    public static let name = "intake.upsertServiceType"
    public static let isIdempotent = true
    public static let summary = "Add or change a catalog service type (administrators)."
    public struct Params: Codable, Sendable {
        public var serviceType: CatalogServiceType
        public init(serviceType: CatalogServiceType) { self.serviceType = serviceType }
    }
    public struct Result: Codable, Sendable {
        public var code: String
        public var version: Int
        public init(code: String, version: Int) {
            self.code = code
            self.version = version
        }
    }
}

/// An identity as typed at the counter or in the form.
public struct IdentityInput: Codable, Sendable {
    public var name: String
    /// `resident_id`, `passport` or `unified_social_credit_code`.
    public var idType: String
    public var idNumber: String
    public init(name: String, idType: String, idNumber: String) {
        self.name = name
        self.idType = idType
        self.idNumber = idNumber
    }
}

public struct ContactInput: Codable, Sendable {
    public var phone: String?
    public var email: String?
    public var locale: CustomerLocale?
    public init(phone: String? = nil, email: String? = nil, locale: CustomerLocale? = nil) {
        self.phone = phone
        self.email = email
        self.locale = locale
    }
}

/// One thing the customer must still hand in or correct.
public struct NoticeItem: Codable, Sendable, Hashable {
    public enum Problem: String, Codable, Sendable {
        case missing
        case tooFewCopies = "too_few_copies"
        case originalRequired = "original_required"
        case other
    }
    public var code: String
    public var name: String
    public var problem: Problem
    public var requiredCopies: Int?
    public var note: String?

    public init(code: String, name: String, problem: Problem, requiredCopies: Int? = nil, note: String? = nil) {
        self.code = code
        self.name = name
        self.problem = problem
        self.requiredCopies = requiredCopies
        self.note = note
    }
}

/// The single notice of everything missing (一次性告知), or an updated one after a supplement.
public struct MaterialsNotice: Codable, Sendable {
    public var items: [NoticeItem]
    /// YYYY-MM-DD, on the working calendar.
    public var deadline: String
    public var issuedAt: Date
    public var updated: Bool
    public init(items: [NoticeItem], deadline: String, issuedAt: Date, updated: Bool) {
        self.items = items
        self.deadline = deadline
        self.issuedAt = issuedAt
        self.updated = updated
    }
}

public enum IntakeRegisterCase: RPCMethod {
    public static let name = "intake.registerCase"
    public static let summary = "Register an application: checks identity and materials; accepted, awaiting materials (one notice) or not accepted."

    public struct Params: Codable, Sendable {
        public var channel: IntakeChannel
        public var serviceType: String
        public var applicantType: ApplicantType
        /// The applicant: the person, the company (with its credit code) or the representative.
        public var applicant: IdentityInput
        /// The person or company a representative acts for.
        public var principal: IdentityInput?
        public var contact: ContactInput
        public var description: String
        public var materials: [MaterialItem]
        public var priority: CasePriority?
        public var confidentiality: Confidentiality?
        public var declaredAmount: Double?
        /// A client's idempotency key: a retried registration with the same key returns the first case.
        public var idempotencyKey: String?

        public init(
            channel: IntakeChannel, serviceType: String, applicantType: ApplicantType, applicant: IdentityInput,
            principal: IdentityInput? = nil, contact: ContactInput, description: String, materials: [MaterialItem],
            priority: CasePriority? = nil, confidentiality: Confidentiality? = nil, declaredAmount: Double? = nil,
            idempotencyKey: String? = nil
        ) {
            self.channel = channel
            self.serviceType = serviceType
            self.applicantType = applicantType
            self.applicant = applicant
            self.principal = principal
            self.contact = contact
            self.description = description
            self.materials = materials
            self.priority = priority
            self.confidentiality = confidentiality
            self.declaredAmount = declaredAmount
            self.idempotencyKey = idempotencyKey
        }
    }

    public struct Result: Codable, Sendable {
        public var caseId: String
        public var trackingNumber: String
        /// Shown once to the customer (and sent by SMS/email); only its hash is stored.
        public var accessCode: String?
        public var status: CaseStatus
        public var notice: MaterialsNotice?
        public var notAcceptedReason: String?
        public var guidance: String?
        public var dueDate: String?
        public var owner: String
        public init(
            caseId: String, trackingNumber: String, accessCode: String?, status: CaseStatus, notice: MaterialsNotice?,
            notAcceptedReason: String?, guidance: String?, dueDate: String?, owner: String
        ) {
            self.caseId = caseId
            self.trackingNumber = trackingNumber
            self.accessCode = accessCode
            self.status = status
            self.notice = notice
            self.notAcceptedReason = notAcceptedReason
            self.guidance = guidance
            self.dueDate = dueDate
            self.owner = owner
        }
    }
}

/// How a customer (no account) proves a case is theirs.
public struct CustomerCredentials: Codable, Sendable {
    public var trackingNumber: String
    public var accessCode: String
    /// The language the customer reads the answer in now (the gateway passes `Accept-Language`);
    /// without it, the language of the case's contact details.
    public var locale: CustomerLocale?
    public init(trackingNumber: String, accessCode: String, locale: CustomerLocale? = nil) {
        self.trackingNumber = trackingNumber
        self.accessCode = accessCode
        self.locale = locale
    }
}

public enum IntakeSupplementMaterials: RPCMethod {
    public static let name = "intake.supplementMaterials"
    public static let summary = "Hand in missing materials; the case is re-checked and accepted or given one updated notice."
    public struct Params: Codable, Sendable {
        /// Staff give the case id; customers their tracking number and access code.
        public var caseId: String?
        public var customer: CustomerCredentials?
        public var materials: [MaterialItem]
        public init(caseId: String? = nil, customer: CustomerCredentials? = nil, materials: [MaterialItem]) {
            self.caseId = caseId
            self.customer = customer
            self.materials = materials
        }
    }
    public typealias Result = IntakeRegisterCase.Result
}

/// Asking for an item that was not in the first notice needs a supervisor's override.
public enum IntakeRequestAdditionalItems: RPCMethod {
    public static let name = "intake.requestAdditionalItems"
    public static let summary = "Ask for items beyond the first notice (supervisors only, with a reason); issues an updated notice."
    public struct Params: Codable, Sendable {
        public var caseId: String
        public var items: [NoticeItem]
        public var reason: String
        public init(caseId: String, items: [NoticeItem], reason: String) {
            self.caseId = caseId
            self.items = items
            self.reason = reason
        }
    }
    public typealias Result = IntakeRegisterCase.Result
}

public struct TimelineEntry: Codable, Sendable {
    public var at: Date
    public var event: String
    public var actor: String?
    public var detail: String?
    public init(at: Date, event: String, actor: String?, detail: String?) {
        self.at = at
        self.event = event
        self.actor = actor
        self.detail = detail
    }
}

/// A case as staff see it: personal data masked.
public struct CaseView: Codable, Sendable {
    public var caseId: String
    public var trackingNumber: String
    public var status: CaseStatus
    public var serviceType: String
    public var serviceName: String
    public var channel: IntakeChannel
    public var applicantType: ApplicantType
    public var customerName: String
    public var idType: String
    public var idNumberMasked: String
    public var phoneMasked: String?
    public var emailMasked: String?
    public var priority: CasePriority
    public var confidentiality: Confidentiality
    public var description: String
    public var materials: [MaterialItem]
    public var notice: MaterialsNotice?
    public var owner: String
    public var department: String
    public var handler: String?
    public var dueDate: String?
    public var registeredAt: Date
    public var archived: Bool
    public var timeline: [TimelineEntry]
    public init(caseId: String, trackingNumber: String, status: CaseStatus, serviceType: String, serviceName: String, channel: IntakeChannel, applicantType: ApplicantType, customerName: String, idType: String, idNumberMasked: String, phoneMasked: String? = nil, emailMasked: String? = nil, priority: CasePriority, confidentiality: Confidentiality, description: String, materials: [MaterialItem], notice: MaterialsNotice? = nil, owner: String, department: String, handler: String? = nil, dueDate: String? = nil, registeredAt: Date, archived: Bool, timeline: [TimelineEntry]) {
        self.caseId = caseId
        self.trackingNumber = trackingNumber
        self.status = status
        self.serviceType = serviceType
        self.serviceName = serviceName
        self.channel = channel
        self.applicantType = applicantType
        self.customerName = customerName
        self.idType = idType
        self.idNumberMasked = idNumberMasked
        self.phoneMasked = phoneMasked
        self.emailMasked = emailMasked
        self.priority = priority
        self.confidentiality = confidentiality
        self.description = description
        self.materials = materials
        self.notice = notice
        self.owner = owner
        self.department = department
        self.handler = handler
        self.dueDate = dueDate
        self.registeredAt = registeredAt
        self.archived = archived
        self.timeline = timeline
    }
}

/// A case as its customer sees it: nothing beyond what they need to follow it.
public struct CustomerCaseView: Codable, Sendable {
    public var trackingNumber: String
    public var status: CaseStatus
    public var serviceName: String
    public var registeredAt: Date
    public var dueDate: String?
    public var notice: MaterialsNotice?
    public var timeline: [TimelineEntry]
    /// The service type's code and the department responsible for the case: the gateway files a
    /// customer's rating under them (the satisfaction statistics are by department).
    public var serviceType: String?
    public var department: String?
    public init(trackingNumber: String, status: CaseStatus, serviceName: String, registeredAt: Date, dueDate: String? = nil, notice: MaterialsNotice? = nil, timeline: [TimelineEntry], serviceType: String? = nil, department: String? = nil) {
        self.trackingNumber = trackingNumber
        self.status = status
        self.serviceName = serviceName
        self.registeredAt = registeredAt
        self.dueDate = dueDate
        self.notice = notice
        self.timeline = timeline
        self.serviceType = serviceType
        self.department = department
    }
}

public enum IntakeGetCase: RPCMethod {
    public static let name = "intake.getCase"
    public static let isIdempotent = true
    public static let summary = "A case with its timeline, by id (staff) — reads of confidential or archived cases are logged."
    public struct Params: Codable, Sendable {
        public var caseId: String
        public init(caseId: String) { self.caseId = caseId }
    }
    public typealias Result = CaseView
}

public enum IntakeTrackCase: RPCMethod {
    public static let name = "intake.trackCase"
    public static let isIdempotent = true
    public static let summary = "A customer's view of their case by tracking number and access code."
    public typealias Params = CustomerCredentials
    public typealias Result = CustomerCaseView
}

public enum IntakeFindCases: RPCMethod {
    public static let name = "intake.findCases"
    public static let isIdempotent = true
    public static let summary = "Cases by status, owner, service type, channel, department and registration date, newest first, in pages."
    /// The most tracking numbers one call may filter by.
    public static let maxTrackingNumbers = 500
    public struct Params: Codable, Sendable {
        public var status: CaseStatus?
        public var owner: String?
        public var serviceType: String?
        public var channel: IntakeChannel?
        public var department: String?
        public var registeredFrom: Date?
        public var registeredBefore: Date?
        public var limit: Int?
        /// The `nextCursor` of the previous page.
        public var cursor: String?
        /// Only these cases (at most `maxTrackingNumbers`), e.g. an Open311 lookup by request id.
        public var trackingNumbers: [String]?
        public init(
            status: CaseStatus? = nil, owner: String? = nil, serviceType: String? = nil, channel: IntakeChannel? = nil,
            department: String? = nil, registeredFrom: Date? = nil, registeredBefore: Date? = nil, limit: Int? = nil,
            cursor: String? = nil, trackingNumbers: [String]? = nil
        ) {
            self.status = status
            self.owner = owner
            self.serviceType = serviceType
            self.channel = channel
            self.department = department
            self.registeredFrom = registeredFrom
            self.registeredBefore = registeredBefore
            self.limit = limit
            self.cursor = cursor
            self.trackingNumbers = trackingNumbers
        }
    }
    public struct Summary: Codable, Sendable {
        public var caseId: String
        public var trackingNumber: String
        public var status: CaseStatus
        public var serviceType: String
        public var channel: IntakeChannel
        public var customerName: String
        public var priority: CasePriority
        public var owner: String
        public var department: String
        public var registeredAt: Date
        /// YYYY-MM-DD, the promised day (absent until the case is accepted).
        public var dueDate: String?
        public init(caseId: String, trackingNumber: String, status: CaseStatus, serviceType: String, channel: IntakeChannel, customerName: String, priority: CasePriority, owner: String, department: String, registeredAt: Date, dueDate: String? = nil) {
            self.caseId = caseId
            self.trackingNumber = trackingNumber
            self.status = status
            self.serviceType = serviceType
            self.channel = channel
            self.customerName = customerName
            self.priority = priority
            self.owner = owner
            self.department = department
            self.registeredAt = registeredAt
            self.dueDate = dueDate
        }
    }
    public struct Result: Codable, Sendable {
        public var cases: [Summary]
        public var nextCursor: String?
        public init(cases: [Summary], nextCursor: String? = nil) {
            self.cases = cases
            self.nextCursor = nextCursor
        }
    }
}

public enum IntakeWithdraw: RPCMethod {
    public static let name = "intake.withdraw"
    public static let summary = "The customer withdraws the application before a decision."
    public struct Params: Codable, Sendable {
        public var customer: CustomerCredentials
        public var reason: String?
        public init(customer: CustomerCredentials, reason: String? = nil) {
            self.customer = customer
            self.reason = reason
        }
    }
    public struct Result: Codable, Sendable {
        public var trackingNumber: String
        public var status: CaseStatus
        public init(trackingNumber: String, status: CaseStatus) {
            self.trackingNumber = trackingNumber
            self.status = status
        }
    }
}

public enum IntakeObject: RPCMethod {
    public static let name = "intake.object"
    public static let summary = "The customer objects to a decision and asks for a re-check."
    public struct Params: Codable, Sendable {
        public var customer: CustomerCredentials
        public var reason: String
        public init(customer: CustomerCredentials, reason: String) {
            self.customer = customer
            self.reason = reason
        }
    }
    public struct Result: Codable, Sendable {
        public var objectionId: String
        public var status: String
        public init(objectionId: String, status: String) {
            self.objectionId = objectionId
            self.status = status
        }
    }
}

public enum IntakeRequestArchiveAccess: RPCMethod {
    public static let name = "intake.requestArchiveAccess"
    public static let summary = "Ask to read an archived case; a supervisor must approve."
    public struct Params: Codable, Sendable {
        public var caseId: String
        public var reason: String
        public init(caseId: String, reason: String) {
            self.caseId = caseId
            self.reason = reason
        }
    }
    public struct Result: Codable, Sendable {
        public var grantId: String
        public var status: String
        public var validUntil: Date?
        public init(grantId: String, status: String, validUntil: Date? = nil) {
            self.grantId = grantId
            self.status = status
            self.validUntil = validUntil
        }
    }
}

public enum IntakeApproveArchiveAccess: RPCMethod {
    public static let name = "intake.approveArchiveAccess"
    public static let summary = "A supervisor approves an archive access request for a limited time."
    public struct Params: Codable, Sendable {
        public var grantId: String
        public var hours: Int?
        public init(grantId: String, hours: Int? = nil) {
            self.grantId = grantId
            self.hours = hours
        }
    }
    public typealias Result = IntakeRequestArchiveAccess.Result
}

public enum IntakeSetDutyOfficer: RPCMethod {
    public static let name = "intake.setDutyOfficer"
    public static let isIdempotent = true
    public static let summary = "Name the duty officer of a day, the owner of record of that day's online cases."
    public struct Params: Codable, Sendable {
        /// YYYY-MM-DD
        public var day: String
        public var officer: StaffRef
        public init(day: String, officer: StaffRef) {
            self.day = day
            self.officer = officer
        }
    }
    public struct Result: Codable, Sendable {
        public var day: String
        public var officer: StaffRef
        public init(day: String, officer: StaffRef) {
            self.day = day
            self.officer = officer
        }
    }
}
