#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation
import LineProtocol

// The complaints service's methods (complaints, investigation, resolution, satisfaction ratings,
// statistics). Categories and root causes are codes from the service's rules file, so they travel
// as strings; everything with a fixed set of values is an enum.

// MARK: - Shared types

/// How serious a complaint is: major complaints go to a supervisor at once.
public enum ComplaintSeverity: String, Codable, Sendable, CaseIterable {
    case general, major
}

/// Where a complaint stands. Allowed moves:
/// filed → acknowledged (first contact) → investigating → resolved → accepted → closed;
/// resolved → reopened → investigating (a limited number of times); resolved → closed.
public enum ComplaintStatus: String, Codable, Sendable, CaseIterable {
    case filed, acknowledged, investigating, resolved, reopened, accepted, closed
}

/// The finding of an investigation.
public enum ComplaintOutcome: String, Codable, Sendable, CaseIterable {
    case upheld
    case partlyUpheld = "partly_upheld"
    case notUpheld = "not_upheld"
}

/// The person complaining and how to reach them. At least one of phone and email is needed,
/// except through the suggestion box (which may be anonymous).
public struct ComplainantInput: Codable, Sendable, Hashable {
    public var name: String
    /// A mainland mobile number or E.164.
    public var phone: String?
    public var email: String?
    public var locale: CustomerLocale?

    public init(name: String, phone: String? = nil, email: String? = nil, locale: CustomerLocale? = nil) {
        self.name = name
        self.phone = phone
        self.email = email
        self.locale = locale
    }
}

/// A complaint as staff see it: contacts are masked.
public struct ComplaintView: Codable, Sendable, Hashable {
    public var id: String
    public var number: String
    public var status: ComplaintStatus
    public var channel: IntakeChannel
    public var complainantName: String
    public var phoneMasked: String?
    public var emailMasked: String?
    public var caseTrackingNumber: String?
    /// The case's service type as routing reported it at filing (nil: no case, or not known).
    public var caseServiceType: String?
    public var caseOverdue: Bool
    public var vulnerable: Bool
    public var content: String
    public var category: String
    public var severity: ComplaintSeverity
    /// Why the rules (or an officer) chose this severity, in plain words.
    public var classificationReasons: [String]
    public var department: String?
    /// Who handles it now: the supervisor for escalated complaints.
    public var assigneeId: String?
    public var escalated: Bool
    public var filedAt: Date
    public var firstResponseDueAt: Date
    public var firstResponseAt: Date?
    /// YYYY-MM-DD on the working calendar, once a department or supervisor holds it.
    public var resolutionDueDate: String?
    public var outcome: ComplaintOutcome?
    public var resolution: String?
    public var remedy: String?
    public var rootCause: String?
    public var resolvedAt: Date?
    public var reopenCount: Int
    public var acceptedAt: Date?
    public var closedAt: Date?
    /// Set on a follow-up opened by a low satisfaction rating.
    public var sourceRatingId: String?
    /// Where `department` came from: `routing` (the case's responsible department), `filing`
    /// (given by whoever filed it) or `officer` (set with complaints.classify).
    public var departmentSource: String?
    /// Why there is no department yet, e.g. routing could not be asked or does not know the case;
    /// an officer sets it with complaints.classify.
    public var departmentMissingReason: String?
    /// When the complaint, not acknowledged within the first-response limit, was escalated to the supervisor.
    public var firstResponseEscalatedAt: Date?
    /// When the department (or supervisor) was warned that the first-response limit was near.
    public var firstResponseWarnedAt: Date?
    /// When the department (or supervisor) was warned that the resolution due date was near.
    public var resolutionWarnedAt: Date?
    /// When the resolution due date passed with the complaint still open and the supervisor was told.
    public var resolutionEscalatedAt: Date?

    public init(
        id: String, number: String, status: ComplaintStatus, channel: IntakeChannel, complainantName: String,
        phoneMasked: String?, emailMasked: String?, caseTrackingNumber: String?, caseOverdue: Bool, vulnerable: Bool,
        content: String, category: String, severity: ComplaintSeverity, classificationReasons: [String],
        department: String?, assigneeId: String?, escalated: Bool, filedAt: Date, firstResponseDueAt: Date,
        firstResponseAt: Date?, resolutionDueDate: String?, outcome: ComplaintOutcome?, resolution: String?,
        remedy: String?, rootCause: String?, resolvedAt: Date?, reopenCount: Int, acceptedAt: Date?,
        closedAt: Date?, sourceRatingId: String?, departmentSource: String? = nil, departmentMissingReason: String? = nil,
        firstResponseEscalatedAt: Date? = nil, firstResponseWarnedAt: Date? = nil, resolutionWarnedAt: Date? = nil,
        resolutionEscalatedAt: Date? = nil, caseServiceType: String? = nil
    ) {
        self.caseServiceType = caseServiceType
        self.id = id
        self.number = number
        self.status = status
        self.channel = channel
        self.complainantName = complainantName
        self.phoneMasked = phoneMasked
        self.emailMasked = emailMasked
        self.caseTrackingNumber = caseTrackingNumber
        self.caseOverdue = caseOverdue
        self.vulnerable = vulnerable
        self.content = content
        self.category = category
        self.severity = severity
        self.classificationReasons = classificationReasons
        self.department = department
        self.assigneeId = assigneeId
        self.escalated = escalated
        self.filedAt = filedAt
        self.firstResponseDueAt = firstResponseDueAt
        self.firstResponseAt = firstResponseAt
        self.resolutionDueDate = resolutionDueDate
        self.outcome = outcome
        self.resolution = resolution
        self.remedy = remedy
        self.rootCause = rootCause
        self.resolvedAt = resolvedAt
        self.reopenCount = reopenCount
        self.acceptedAt = acceptedAt
        self.closedAt = closedAt
        self.sourceRatingId = sourceRatingId
        self.departmentSource = departmentSource
        self.departmentMissingReason = departmentMissingReason
        self.firstResponseEscalatedAt = firstResponseEscalatedAt
        self.firstResponseWarnedAt = firstResponseWarnedAt
        self.resolutionWarnedAt = resolutionWarnedAt
        self.resolutionEscalatedAt = resolutionEscalatedAt
    }
}

/// Names a complaint by id or by number (one of them).
public struct ComplaintRef: Codable, Sendable, Hashable {
    public var complaintId: String?
    public var complaintNumber: String?
    public init(complaintId: String? = nil, complaintNumber: String? = nil) {
        self.complaintId = complaintId
        self.complaintNumber = complaintNumber
    }
}

// MARK: - Filing and classification

/// `complaints.file`: take a complaint from any channel. Idempotent on `_meta.messageId` and on
/// `idempotencyKey`: a repeat answers with the complaint already filed.
public enum ComplaintsFile: RPCMethod {
    public static let name = "complaints.file"
    public static let isIdempotent = true
    public static let summary = "File a complaint: number, classification, acknowledgement, escalation of major ones."

    public struct Params: Codable, Sendable {
        public var complainant: ComplainantInput
        public var channel: IntakeChannel
        public var content: String
        /// The case complained about, if any.
        public var caseTrackingNumber: String?
        /// The case is past its promised time limit: severity rises a level. Used only when routing
        /// cannot be asked about the case (routing's answer wins when it has one).
        public var caseOverdue: Bool?
        /// The complainant is a vulnerable customer: severity rises a level.
        public var vulnerable: Bool?
        /// The responsible department, when known at filing; used only when routing does not answer
        /// for the case (routing's department wins when it has one).
        public var department: String?
        /// The staff id of the case's handler, who must not investigate the complaint.
        public var caseHandlerId: String?
        /// A client-chosen key: filing twice with the same key makes one complaint.
        public var idempotencyKey: String?

        public init(
            complainant: ComplainantInput, channel: IntakeChannel, content: String, caseTrackingNumber: String? = nil,
            caseOverdue: Bool? = nil, vulnerable: Bool? = nil, department: String? = nil, caseHandlerId: String? = nil,
            idempotencyKey: String? = nil
        ) {
            self.complainant = complainant
            self.channel = channel
            self.content = content
            self.caseTrackingNumber = caseTrackingNumber
            self.caseOverdue = caseOverdue
            self.vulnerable = vulnerable
            self.department = department
            self.caseHandlerId = caseHandlerId
            self.idempotencyKey = idempotencyKey
        }
    }

    public typealias Result = ComplaintView
}

/// `complaints.classify`: an officer sets category, severity or department; a changed category or
/// severity needs a reason, which is recorded. Raising to major escalates at once.
public enum ComplaintsClassify: RPCMethod {
    public static let name = "complaints.classify"
    public static let summary = "Override a complaint's category or severity (with a reason) or set its department."

    public struct Params: Codable, Sendable {
        public var complaintId: String
        public var category: String?
        public var severity: ComplaintSeverity?
        public var department: String?
        public var caseHandlerId: String?
        public var reason: String?
        public init(
            complaintId: String, category: String? = nil, severity: ComplaintSeverity? = nil, department: String? = nil,
            caseHandlerId: String? = nil, reason: String? = nil
        ) {
            self.complaintId = complaintId
            self.category = category
            self.severity = severity
            self.department = department
            self.caseHandlerId = caseHandlerId
            self.reason = reason
        }
    }

    public typealias Result = ComplaintView
}

// MARK: - Handling

/// `complaints.acknowledge`: the first contact with the complainant (records the first-response time).
public enum ComplaintsAcknowledge: RPCMethod {
    public static let name = "complaints.acknowledge"
    public static let summary = "Record the first contact with the complainant."

    public struct Params: Codable, Sendable {
        public var complaintId: String
        public var note: String?
        public init(complaintId: String, note: String? = nil) {
            self.complaintId = complaintId
            self.note = note
        }
    }

    public typealias Result = ComplaintView
}

/// `complaints.investigate`: add an investigation note with evidence references (starts the
/// investigation of an acknowledged or reopened complaint).
public enum ComplaintsInvestigate: RPCMethod {
    public static let name = "complaints.investigate"
    public static let summary = "Add investigation notes and evidence references."

    public struct Params: Codable, Sendable {
        public var complaintId: String
        /// Who investigates; defaults to the calling actor. Must not be the case's handler.
        public var investigator: StaffRef?
        public var note: String
        public var evidenceRefs: [String]?
        public init(complaintId: String, investigator: StaffRef? = nil, note: String, evidenceRefs: [String]? = nil) {
            self.complaintId = complaintId
            self.investigator = investigator
            self.note = note
            self.evidenceRefs = evidenceRefs
        }
    }

    public typealias Result = ComplaintView
}

/// `complaints.resolve`: the finding, remedy and response; the complainant is told. An upheld or
/// partly upheld complaint in a re-check category (rules file, default `wrong_decision`) about a
/// case asks routing to reopen the case (`routing.reopen` through the outbox, once per complaint).
public enum ComplaintsResolve: RPCMethod {
    public static let name = "complaints.resolve"
    public static let summary = "Resolve an investigated complaint and tell the complainant."

    public struct Params: Codable, Sendable {
        public var complaintId: String
        public var outcome: ComplaintOutcome
        /// The response text sent to the complainant.
        public var resolution: String
        public var remedy: String?
        /// A code from the rules file's root-cause list.
        public var rootCause: String
        public init(complaintId: String, outcome: ComplaintOutcome, resolution: String, remedy: String? = nil, rootCause: String) {
            self.complaintId = complaintId
            self.outcome = outcome
            self.resolution = resolution
            self.remedy = remedy
            self.rootCause = rootCause
        }
    }

    public typealias Result = ComplaintView
}

/// `complaints.accept`: the complainant accepts the resolution.
public enum ComplaintsAccept: RPCMethod {
    public static let name = "complaints.accept"
    public static let summary = "The complainant accepts the resolution."

    public struct Params: Codable, Sendable {
        public var complaintId: String
        public init(complaintId: String) { self.complaintId = complaintId }
    }

    public typealias Result = ComplaintView
}

/// `complaints.reopen`: the complainant does not accept; investigation starts again (limited times).
public enum ComplaintsReopen: RPCMethod {
    public static let name = "complaints.reopen"
    public static let summary = "The complainant reopens a resolved complaint (a limited number of times)."

    public struct Params: Codable, Sendable {
        public var complaintId: String
        public var reason: String
        public init(complaintId: String, reason: String) {
            self.complaintId = complaintId
            self.reason = reason
        }
    }

    public typealias Result = ComplaintView
}

/// `complaints.close`: close a resolved or accepted complaint.
public enum ComplaintsClose: RPCMethod {
    public static let name = "complaints.close"
    public static let summary = "Close a resolved or accepted complaint."

    public struct Params: Codable, Sendable {
        public var complaintId: String
        public var note: String?
        public init(complaintId: String, note: String? = nil) {
            self.complaintId = complaintId
            self.note = note
        }
    }

    public typealias Result = ComplaintView
}

// MARK: - Reading

/// `complaints.get`: one complaint with its notes, escalations, classifications and history.
public enum ComplaintsGet: RPCMethod {
    public static let name = "complaints.get"
    public static let isIdempotent = true
    public static let summary = "One complaint with notes, escalations, classification history and audit trail."

    public typealias Params = ComplaintRef

    public struct Note: Codable, Sendable, Hashable {
        public var investigatorId: String
        public var note: String
        public var evidenceRefs: [String]
        public var at: Date
        public init(investigatorId: String, note: String, evidenceRefs: [String], at: Date) {
            self.investigatorId = investigatorId
            self.note = note
            self.evidenceRefs = evidenceRefs
            self.at = at
        }
    }

    /// A deadline step or escalation, recorded once per kind and level: `severity` level 1 (a
    /// major complaint, at once); `first_response` and `resolution` level 0 (the warning before
    /// the limit, to the department or supervisor) and level 1 (the escalation to the supervisor
    /// on breach).
    public struct Escalation: Codable, Sendable, Hashable {
        public var level: Int
        public var reason: String
        public var toStaffId: String
        public var at: Date
        /// `severity` (a major complaint, at once), `first_response` (first contact) or `resolution`.
        public var kind: String?
        public init(level: Int, reason: String, toStaffId: String, at: Date, kind: String? = nil) {
            self.level = level
            self.reason = reason
            self.toStaffId = toStaffId
            self.at = at
            self.kind = kind
        }
    }

    public struct Classification: Codable, Sendable, Hashable {
        public var category: String
        public var severity: ComplaintSeverity
        /// `rules` or `officer`.
        public var source: String
        public var reason: String?
        public var by: String
        public var at: Date
        public init(category: String, severity: ComplaintSeverity, source: String, reason: String?, by: String, at: Date) {
            self.category = category
            self.severity = severity
            self.source = source
            self.reason = reason
            self.by = by
            self.at = at
        }
    }

    public struct Event: Codable, Sendable, Hashable {
        public var action: String
        public var fromStatus: ComplaintStatus?
        public var toStatus: ComplaintStatus?
        public var actorId: String
        public var at: Date
        public init(action: String, fromStatus: ComplaintStatus?, toStatus: ComplaintStatus?, actorId: String, at: Date) {
            self.action = action
            self.fromStatus = fromStatus
            self.toStatus = toStatus
            self.actorId = actorId
            self.at = at
        }
    }

    public struct Result: Codable, Sendable {
        public var complaint: ComplaintView
        public var notes: [Note]
        public var escalations: [Escalation]
        public var classifications: [Classification]
        public var history: [Event]
        public init(complaint: ComplaintView, notes: [Note], escalations: [Escalation], classifications: [Classification], history: [Event]) {
            self.complaint = complaint
            self.notes = notes
            self.escalations = escalations
            self.classifications = classifications
            self.history = history
        }
    }
}

/// `complaints.list`: newest first, filtered, with keyset pagination (`cursor` = the previous
/// page's `nextCursor`).
public enum ComplaintsList: RPCMethod {
    public static let name = "complaints.list"
    public static let isIdempotent = true
    public static let summary = "List complaints newest first with filters and keyset pagination."

    public struct Params: Codable, Sendable {
        public var status: ComplaintStatus?
        public var severity: ComplaintSeverity?
        public var category: String?
        public var department: String?
        public var caseTrackingNumber: String?
        public var filedFrom: Date?
        public var filedBefore: Date?
        /// 1…200, default 50.
        public var limit: Int?
        public var cursor: String?
        public init(
            status: ComplaintStatus? = nil, severity: ComplaintSeverity? = nil, category: String? = nil,
            department: String? = nil, caseTrackingNumber: String? = nil, filedFrom: Date? = nil,
            filedBefore: Date? = nil, limit: Int? = nil, cursor: String? = nil
        ) {
            self.status = status
            self.severity = severity
            self.category = category
            self.department = department
            self.caseTrackingNumber = caseTrackingNumber
            self.filedFrom = filedFrom
            self.filedBefore = filedBefore
            self.limit = limit
            self.cursor = cursor
        }
    }

    public struct Result: Codable, Sendable {
        public var items: [ComplaintView]
        public var nextCursor: String?
        public init(items: [ComplaintView], nextCursor: String?) {
            self.items = items
            self.nextCursor = nextCursor
        }
    }
}

// MARK: - Satisfaction

/// `complaints.rate`: the customer rates a completed case, once. A low score opens a follow-up
/// complaint. Idempotent on `_meta.messageId`; a second rating of the same case is a conflict.
public enum ComplaintsRate: RPCMethod {
    public static let name = "complaints.rate"
    public static let summary = "Rate a completed case 1–5 (once); a low score opens a follow-up complaint."

    public struct Params: Codable, Sendable {
        public var trackingNumber: String
        /// The case's access code. When given, the complaints service has intake check it
        /// (`intake.trackCase`) and refuses a wrong one with `not_found`; it is stored nowhere.
        /// The gateway checks customers' codes itself and does not forward them.
        public var accessCode: String?
        /// 1…5.
        public var score: Int
        public var timeliness: Int?
        public var attitude: Int?
        public var clarity: Int?
        public var comment: String?
        /// The department that handled the case and its service type, for statistics.
        public var department: String?
        public var serviceType: String?
        /// Who rated, for the follow-up complaint's contact.
        public var customer: ComplainantInput?
        public init(
            trackingNumber: String, accessCode: String? = nil, score: Int, timeliness: Int? = nil, attitude: Int? = nil,
            clarity: Int? = nil, comment: String? = nil, department: String? = nil, serviceType: String? = nil,
            customer: ComplainantInput? = nil
        ) {
            self.trackingNumber = trackingNumber
            self.accessCode = accessCode
            self.score = score
            self.timeliness = timeliness
            self.attitude = attitude
            self.clarity = clarity
            self.comment = comment
            self.department = department
            self.serviceType = serviceType
            self.customer = customer
        }
    }

    public struct Result: Codable, Sendable {
        public var ratingId: String
        public var followUpComplaint: ComplaintView?
        public init(ratingId: String, followUpComplaint: ComplaintView?) {
            self.ratingId = ratingId
            self.followUpComplaint = followUpComplaint
        }
    }
}

// MARK: - Statistics

/// `complaints.stats`: counts by category, root cause, department and service type (Pareto order,
/// largest first), first-response and resolution times, resolution and reopen rates, the
/// complaint rate per 1,000 cases (intake's case counts of the same period), satisfaction by
/// department and service type.
public enum ComplaintsStats: RPCMethod {
    public static let name = "complaints.stats"
    public static let isIdempotent = true
    public static let summary = "Complaint and satisfaction statistics over a period."

    /// The `byServiceType` key of complaints that name no case.
    public static let noCase = "none"
    /// The `byServiceType` key of complaints whose case's service type is not known.
    public static let unknownServiceType = "unknown"

    public struct Params: Codable, Sendable {
        public var from: Date?
        public var before: Date?
        /// Only complaints held by this department, ratings of its cases, and (for the rate)
        /// intake's cases of this department.
        public var department: String?
        public init(from: Date? = nil, before: Date? = nil, department: String? = nil) {
            self.from = from
            self.before = before
            self.department = department
        }
    }

    public struct Count: Codable, Sendable, Hashable {
        public var key: String
        public var count: Int
        /// Running share of the total, 0…1, in Pareto order.
        public var cumulativeShare: Double
        public init(key: String, count: Int, cumulativeShare: Double) {
            self.key = key
            self.count = count
            self.cumulativeShare = cumulativeShare
        }
    }

    /// Complaints per 1,000 cases registered in the same period, overall and per service type.
    /// The case counts come from intake (`intake.stats`); when intake cannot be asked, the counts
    /// and rates are nil and `unavailableReason` says why (the other figures are still given).
    public struct ComplaintRate: Codable, Sendable, Hashable {
        /// Cases intake registered in the period; nil when unavailable.
        public var casesRegistered: Int?
        /// All complaints of the period per 1,000 of those cases, one decimal; nil when
        /// unavailable or when no case was registered.
        public var per1000Cases: Double?
        /// One row per service type with cases or complaints in the period, highest rate first
        /// (types with complaints but no case registered in the period, which have no rate, last).
        public var byServiceType: [ServiceTypeRate]
        /// Why there is no rate (intake unreachable, not configured); nil when it is given.
        public var unavailableReason: String?
        public init(casesRegistered: Int?, per1000Cases: Double?, byServiceType: [ServiceTypeRate], unavailableReason: String?) {
            self.casesRegistered = casesRegistered
            self.per1000Cases = per1000Cases
            self.byServiceType = byServiceType
            self.unavailableReason = unavailableReason
        }
    }

    public struct ServiceTypeRate: Codable, Sendable, Hashable {
        public var serviceType: String
        /// Complaints of the period about cases of this service type.
        public var complaints: Int
        /// Cases of this service type registered in the period.
        public var cases: Int
        /// Per 1,000 cases, one decimal; nil when no case of this type was registered in the period.
        public var per1000Cases: Double?
        public init(serviceType: String, complaints: Int, cases: Int, per1000Cases: Double?) {
            self.serviceType = serviceType
            self.complaints = complaints
            self.cases = cases
            self.per1000Cases = per1000Cases
        }
    }

    /// Ratings of one group (a service type), like `Satisfaction` but keyed.
    public struct KeyedSatisfaction: Codable, Sendable, Hashable {
        public var key: String
        public var ratings: Int
        public var average: Double
        /// Count of each score, index 0 = score 1.
        public var distribution: [Int]
        public init(key: String, ratings: Int, average: Double, distribution: [Int]) {
            self.key = key
            self.ratings = ratings
            self.average = average
            self.distribution = distribution
        }
    }

    public struct Satisfaction: Codable, Sendable, Hashable {
        public var department: String
        public var ratings: Int
        public var average: Double
        /// Count of each score, index 0 = score 1.
        public var distribution: [Int]
        public init(department: String, ratings: Int, average: Double, distribution: [Int]) {
            self.department = department
            self.ratings = ratings
            self.average = average
            self.distribution = distribution
        }
    }

    public struct Result: Codable, Sendable {
        public var total: Int
        public var byCategory: [Count]
        public var byRootCause: [Count]
        public var byDepartment: [Count]
        /// By the service type of the case complained about: `none` for complaints naming no
        /// case, `unknown` for a case whose service type routing could not tell at filing.
        public var byServiceType: [Count]
        public var complaintRate: ComplaintRate
        public var firstResponseSecondsP50: Double?
        public var firstResponseSecondsP90: Double?
        /// Resolved (or later) over all complaints in the period.
        public var resolutionRate: Double
        public var resolutionSecondsAverage: Double?
        public var resolutionSecondsP50: Double?
        /// Complaints reopened at least once over those resolved.
        public var reopenRate: Double
        public var satisfactionAverage: Double?
        public var satisfactionDistribution: [Int]
        public var satisfactionByDepartment: [Satisfaction]
        /// By the service type the rating was given for (`unknown` when none was given).
        public var satisfactionByServiceType: [KeyedSatisfaction]
        public init(
            total: Int, byCategory: [Count], byRootCause: [Count], byDepartment: [Count], byServiceType: [Count] = [],
            complaintRate: ComplaintRate = ComplaintRate(casesRegistered: nil, per1000Cases: nil, byServiceType: [], unavailableReason: "not computed"),
            firstResponseSecondsP50: Double?, firstResponseSecondsP90: Double?, resolutionRate: Double,
            resolutionSecondsAverage: Double?, resolutionSecondsP50: Double?, reopenRate: Double,
            satisfactionAverage: Double?, satisfactionDistribution: [Int], satisfactionByDepartment: [Satisfaction],
            satisfactionByServiceType: [KeyedSatisfaction] = []
        ) {
            self.total = total
            self.byCategory = byCategory
            self.byRootCause = byRootCause
            self.byDepartment = byDepartment
            self.byServiceType = byServiceType
            self.complaintRate = complaintRate
            self.satisfactionByServiceType = satisfactionByServiceType
            self.firstResponseSecondsP50 = firstResponseSecondsP50
            self.firstResponseSecondsP90 = firstResponseSecondsP90
            self.resolutionRate = resolutionRate
            self.resolutionSecondsAverage = resolutionSecondsAverage
            self.resolutionSecondsP50 = resolutionSecondsP50
            self.reopenRate = reopenRate
            self.satisfactionAverage = satisfactionAverage
            self.satisfactionDistribution = satisfactionDistribution
            self.satisfactionByDepartment = satisfactionByDepartment
        }
    }
}
