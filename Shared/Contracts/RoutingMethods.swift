#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation
import LineProtocol

// Routing's own methods: organisation upkeep, case processing and queries. `routing.dispatch`
// (called by review) lives in `Routing.swift`.

/// The roles routing recognises in `_meta.actor.roles` besides the assigned handler and the
/// department head (who are recognised by their ids).
public enum RoutingRole {
    /// Maintains the organisation and may act on any case.
    public static let officer = "routing_officer"
    /// Treated like a routing officer: the gateway's administrator role (`StaffRole.administrator`),
    /// which may maintain the organisation.
    public static let admin = StaffRole.administrator.rawValue
}

// MARK: - Organisation

/// A member of staff with the contact details routing notifies them on.
public struct RoutingStaffContact: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var email: String?
    /// E.164, e.g. +8613812345678.
    public var phone: String?

    public init(id: String, name: String, email: String? = nil, phone: String? = nil) {
        self.id = id
        self.name = name
        self.email = email
        self.phone = phone
    }
}

public struct RoutingDepartment: Codable, Sendable, Hashable {
    public var code: String
    public var nameZh: String
    public var nameEn: String
    /// Approves extensions and receives escalations.
    public var head: RoutingStaffContact?

    public init(code: String, nameZh: String, nameEn: String, head: RoutingStaffContact? = nil) {
        self.code = code
        self.nameZh = nameZh
        self.nameEn = nameEn
        self.head = head
    }
}

public struct RoutingHandler: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var department: String
    /// The service types this handler may process.
    public var skills: [String]
    /// How many open cases make a full load.
    public var capacity: Int
    public var email: String?
    public var phone: String?
    public var active: Bool
    /// Open (not completed) cases now assigned; ignored on upsert.
    public var openCases: Int?

    public init(
        id: String, name: String, department: String, skills: [String], capacity: Int,
        email: String? = nil, phone: String? = nil, active: Bool = true, openCases: Int? = nil
    ) {
        self.id = id
        self.name = name
        self.department = department
        self.skills = skills
        self.capacity = capacity
        self.email = email
        self.phone = phone
        self.active = active
        self.openCases = openCases
    }
}

/// Service type → department; a rule with a priority overrides the general rule of its service type.
public struct RoutingRule: Codable, Sendable, Hashable {
    public var serviceType: String
    /// nil: every priority without a rule of its own.
    public var priority: CasePriority?
    public var department: String

    public init(serviceType: String, priority: CasePriority? = nil, department: String) {
        self.serviceType = serviceType
        self.priority = priority
        self.department = department
    }
}

/// `routing.upsertDepartment` (routing officer): create or change a department.
public enum RoutingUpsertDepartment: RPCMethod {
    public static let name = "routing.upsertDepartment"
    public static let isIdempotent = true
    public static let summary = "Create or update a department (code, names, head)."
    public typealias Params = RoutingDepartment
    public typealias Result = RoutingDepartment
}

/// `routing.upsertHandler` (routing officer): create or change a handler.
public enum RoutingUpsertHandler: RPCMethod {
    public static let name = "routing.upsertHandler"
    public static let isIdempotent = true
    public static let summary = "Create or update a handler (department, skills, capacity, contact, active)."
    public typealias Params = RoutingHandler
    public typealias Result = RoutingHandler
}

/// `routing.setRule` (routing officer): set or remove (`department` nil) a routing rule.
public enum RoutingSetRule: RPCMethod {
    public static let name = "routing.setRule"
    public static let isIdempotent = true
    public static let summary = "Set or remove the department a service type (optionally of one priority) is routed to."

    public struct Params: Codable, Sendable {
        public var serviceType: String
        public var priority: CasePriority?
        /// nil removes the rule.
        public var department: String?
        public init(serviceType: String, priority: CasePriority? = nil, department: String?) {
            self.serviceType = serviceType
            self.priority = priority
            self.department = department
        }
    }

    public struct Result: Codable, Sendable {
        /// Every rule of the service type after the change.
        public var rules: [RoutingRule]
        public init(rules: [RoutingRule]) { self.rules = rules }
    }
}

/// `routing.listOrganisation`: departments, handlers (with their load) and rules.
public enum RoutingListOrganisation: RPCMethod {
    public static let name = "routing.listOrganisation"
    public static let isIdempotent = true
    public static let summary = "Departments, handlers with their open cases, and routing rules."
    public typealias Params = RPCEmpty

    public struct Result: Codable, Sendable {
        public var departments: [RoutingDepartment]
        public var handlers: [RoutingHandler]
        public var rules: [RoutingRule]
        public init(departments: [RoutingDepartment], handlers: [RoutingHandler], rules: [RoutingRule]) {
            self.departments = departments
            self.handlers = handlers
            self.rules = rules
        }
    }
}

// MARK: - Assignments

/// Where a case stands inside routing.
public enum RoutingAssignmentState: String, Codable, Sendable, CaseIterable {
    /// With a department (and usually a handler) who has not yet accepted it.
    case assigned
    case inProgress = "in_progress"
    /// Paused: waiting for the customer or another party; the clock stops.
    case infoRequested = "info_requested"
    case completed
}

/// Why the clock is paused.
public enum RoutingPauseReason: String, Codable, Sendable, CaseIterable {
    /// The customer was asked for information or materials.
    case customerInfo = "customer_info"
    case expertAssessment = "expert_assessment"
    case siteInspection = "site_inspection"
    case publicNotice = "public_notice"
    case other
}

/// A hand-over of a case: when, from whom, to whom, why.
public struct RoutingSlip: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case dispatch, transfer, reassign, reopen
        /// A complaint's re-check recorded on a case still in progress (nothing handed over).
        case recheck
    }
    public var slipId: String
    public var kind: Kind
    public var at: Date
    public var fromDepartment: String?
    public var fromHandler: String?
    public var toDepartment: String
    public var toHandler: String?
    public var reason: String
    /// Who made the hand-over (a staff id, or `system`).
    public var by: String

    public init(
        slipId: String, kind: Kind, at: Date, fromDepartment: String?, fromHandler: String?,
        toDepartment: String, toHandler: String?, reason: String, by: String
    ) {
        self.slipId = slipId
        self.kind = kind
        self.at = at
        self.fromDepartment = fromDepartment
        self.fromHandler = fromHandler
        self.toDepartment = toDepartment
        self.toHandler = toHandler
        self.reason = reason
        self.by = by
    }
}

public struct RoutingExtension: Codable, Sendable, Hashable {
    public enum Status: String, Codable, Sendable, CaseIterable {
        case pending, approved, rejected
    }
    public var extensionId: String
    public var reason: String
    public var requestedBy: String
    public var requestedAt: Date
    /// YYYY-MM-DD asked for.
    public var newDueDate: String
    /// Working days the extension adds.
    public var workingDays: Int
    public var status: Status
    public var decidedBy: String?
    public var decidedAt: Date?
    public var note: String?

    public init(
        extensionId: String, reason: String, requestedBy: String, requestedAt: Date, newDueDate: String,
        workingDays: Int, status: Status, decidedBy: String? = nil, decidedAt: Date? = nil, note: String? = nil
    ) {
        self.extensionId = extensionId
        self.reason = reason
        self.requestedBy = requestedBy
        self.requestedAt = requestedAt
        self.newDueDate = newDueDate
        self.workingDays = workingDays
        self.status = status
        self.decidedBy = decidedBy
        self.decidedAt = decidedAt
        self.note = note
    }
}

public struct RoutingPause: Codable, Sendable, Hashable {
    public var reasonType: RoutingPauseReason
    public var question: String
    /// YYYY-MM-DD the clock stopped / started again.
    public var from: String
    public var until: String?
    /// Working days the due date moved by (set when the pause ends).
    public var workingDays: Int?

    public init(reasonType: RoutingPauseReason, question: String, from: String, until: String? = nil, workingDays: Int? = nil) {
        self.reasonType = reasonType
        self.question = question
        self.from = from
        self.until = until
        self.workingDays = workingDays
    }
}

/// A case as routing holds it.
public struct RoutingAssignment: Codable, Sendable, Hashable {
    public var assignmentId: String
    public var caseId: String
    public var trackingNumber: String
    public var serviceType: String
    public var serviceName: String
    public var priority: CasePriority
    public var department: String
    public var handler: StaffRef?
    public var state: RoutingAssignmentState
    /// YYYY-MM-DD the time limit counts from.
    public var acceptedOn: String
    /// The time limit in working days after the urgent reduction.
    public var timeLimitWorkingDays: Int
    public var pausedWorkingDays: Int
    public var extendedWorkingDays: Int
    /// YYYY-MM-DD: acceptedOn + limit + paused + extended working days.
    public var dueDate: String
    public var result: String?
    public var pickup: Pickup?
    public var completedAt: Date?
    /// With `routing.getAssignment` only.
    public var slips: [RoutingSlip]?
    public var pauses: [RoutingPause]?
    public var extensions: [RoutingExtension]?

    public init(
        assignmentId: String, caseId: String, trackingNumber: String, serviceType: String, serviceName: String,
        priority: CasePriority, department: String, handler: StaffRef?, state: RoutingAssignmentState,
        acceptedOn: String, timeLimitWorkingDays: Int, pausedWorkingDays: Int, extendedWorkingDays: Int,
        dueDate: String, result: String? = nil, pickup: Pickup? = nil, completedAt: Date? = nil,
        slips: [RoutingSlip]? = nil, pauses: [RoutingPause]? = nil, extensions: [RoutingExtension]? = nil
    ) {
        self.assignmentId = assignmentId
        self.caseId = caseId
        self.trackingNumber = trackingNumber
        self.serviceType = serviceType
        self.serviceName = serviceName
        self.priority = priority
        self.department = department
        self.handler = handler
        self.state = state
        self.acceptedOn = acceptedOn
        self.timeLimitWorkingDays = timeLimitWorkingDays
        self.pausedWorkingDays = pausedWorkingDays
        self.extendedWorkingDays = extendedWorkingDays
        self.dueDate = dueDate
        self.result = result
        self.pickup = pickup
        self.completedAt = completedAt
        self.slips = slips
        self.pauses = pauses
        self.extensions = extensions
    }
}

/// Params of the methods that only name a case.
public struct RoutingCaseParams: Codable, Sendable {
    public var caseId: String
    public var note: String?
    public init(caseId: String, note: String? = nil) {
        self.caseId = caseId
        self.note = note
    }
}

/// `routing.accept`: the handler starts processing.
public enum RoutingAccept: RPCMethod {
    public static let name = "routing.accept"
    public static let summary = "The assigned handler accepts a case for processing."
    public typealias Params = RoutingCaseParams
    public typealias Result = RoutingAssignment
}

/// `routing.requestInfo`: ask the customer (or wait for another party); the clock pauses.
public enum RoutingRequestInfo: RPCMethod {
    public static let name = "routing.requestInfo"
    public static let summary = "Pause the clock with a reason type and ask for information."
    public struct Params: Codable, Sendable {
        public var caseId: String
        public var reasonType: RoutingPauseReason
        /// What is asked for (told to the customer).
        public var question: String
        public init(caseId: String, reasonType: RoutingPauseReason = .customerInfo, question: String) {
            self.caseId = caseId
            self.reasonType = reasonType
            self.question = question
        }
    }
    public typealias Result = RoutingAssignment
}

/// `routing.provideInfo`: the answer arrived; the clock runs again and the due date moves by the
/// working days paused.
public enum RoutingProvideInfo: RPCMethod {
    public static let name = "routing.provideInfo"
    public static let summary = "End the pause; the due date moves by the paused working days."
    public typealias Params = RoutingCaseParams
    public typealias Result = RoutingAssignment
}

/// `routing.extend`: ask the department head for a later due date.
public enum RoutingExtend: RPCMethod {
    public static let name = "routing.extend"
    public static let summary = "Request an extension (reason, new due date); the department head approves it."
    public struct Params: Codable, Sendable {
        public var caseId: String
        public var reason: String
        /// YYYY-MM-DD, a working day after the current due date.
        public var newDueDate: String
        public init(caseId: String, reason: String, newDueDate: String) {
            self.caseId = caseId
            self.reason = reason
            self.newDueDate = newDueDate
        }
    }
    public typealias Result = RoutingExtension
}

/// `routing.approveExtension`: the department head decides a pending extension.
public enum RoutingApproveExtension: RPCMethod {
    public static let name = "routing.approveExtension"
    public static let summary = "The department head approves or rejects the pending extension of a case."
    public struct Params: Codable, Sendable {
        public var caseId: String
        public var approve: Bool
        public var note: String?
        public init(caseId: String, approve: Bool = true, note: String? = nil) {
            self.caseId = caseId
            self.approve = approve
            self.note = note
        }
    }
    public typealias Result = RoutingAssignment
}

/// `routing.complete`: the result (and where to collect it).
public enum RoutingComplete: RPCMethod {
    public static let name = "routing.complete"
    public static let summary = "Complete an accepted case with its result and optional pickup."
    public struct Params: Codable, Sendable {
        public var caseId: String
        public var result: String
        public var pickup: Pickup?
        public init(caseId: String, result: String, pickup: Pickup? = nil) {
            self.caseId = caseId
            self.result = result
            self.pickup = pickup
        }
    }
    public typealias Result = RoutingAssignment
}

/// `routing.reopen`: a completed case goes back to processing after an upheld objection, and an
/// upheld complaint asks for its case to be re-checked. The case is named by its id or its
/// tracking number (one of them).
///
/// Staff asking to reopen a case that is not completed get `invalid_state`, and an unknown case
/// `not_found`, as before. A re-check request (one naming a complaint, or sent by a service
/// without `_meta.actor`) gets an answer for every state instead of an error, so a delivery from
/// an outbox never ends as a dead letter: see `Outcome`. A repeat (the same message, or the same
/// complaint again) answers the same outcome and changes nothing more.
public enum RoutingReopen: RPCMethod {
    public static let name = "routing.reopen"
    public static let summary = "Reopen a completed case after an upheld objection (time limit from today), or record a complaint's re-check on a case still in progress."
    public struct Params: Codable, Sendable {
        /// Routing's id of the case; or give `trackingNumber`.
        public var caseId: String?
        /// The case's tracking number; or give `caseId`.
        public var trackingNumber: String?
        public var reason: String
        /// The complaint (its number) whose upheld finding asks for the re-check.
        public var complaintNumber: String?
        public init(caseId: String? = nil, trackingNumber: String? = nil, reason: String, complaintNumber: String? = nil) {
            self.caseId = caseId
            self.trackingNumber = trackingNumber
            self.reason = reason
            self.complaintNumber = complaintNumber
        }
    }

    /// What the request did.
    public enum Outcome: String, Codable, Sendable, CaseIterable {
        /// The case was completed and is in progress again, its time limit counted from today.
        case reopened
        /// The case is still being processed: the re-check is recorded on it (a `recheck` slip)
        /// and its handler (or the department head) is told; its state and due date stay.
        case recheckRecorded = "recheck_recorded"
        /// Routing never received the case (not approved, or a wrong number): nothing to re-check.
        case notHeld = "not_held"
    }

    public struct Result: Codable, Sendable, Hashable {
        public var outcome: Outcome
        /// The outcome in plain words, naming the case and the complaint.
        public var message: String
        /// The case after the request; nil when routing does not hold it.
        public var assignment: RoutingAssignment?
        public init(outcome: Outcome, message: String, assignment: RoutingAssignment?) {
            self.outcome = outcome
            self.message = message
            self.assignment = assignment
        }
    }
}

/// `routing.transfer`: hand a case to another department (writes a slip).
public enum RoutingTransfer: RPCMethod {
    public static let name = "routing.transfer"
    public static let summary = "Transfer a case to another department with a reason; a handler there is picked."
    public struct Params: Codable, Sendable {
        public var caseId: String
        public var toDepartment: String
        public var reason: String
        /// A handler of the target department; nil picks the least loaded qualified one.
        public var toHandler: String?
        public init(caseId: String, toDepartment: String, reason: String, toHandler: String? = nil) {
            self.caseId = caseId
            self.toDepartment = toDepartment
            self.reason = reason
            self.toHandler = toHandler
        }
    }
    public typealias Result = RoutingAssignment
}

/// `routing.reassign`: another handler inside the same department (writes a slip).
public enum RoutingReassign: RPCMethod {
    public static let name = "routing.reassign"
    public static let summary = "Reassign a case to another handler of its department (head or routing officer)."
    public struct Params: Codable, Sendable {
        public var caseId: String
        public var reason: String
        /// nil picks the least loaded qualified handler other than the current one.
        public var toHandler: String?
        public init(caseId: String, reason: String, toHandler: String? = nil) {
            self.caseId = caseId
            self.reason = reason
            self.toHandler = toHandler
        }
    }
    public typealias Result = RoutingAssignment
}

/// `routing.getAssignment`: a case with its slips, pauses and extensions.
public enum RoutingGetAssignment: RPCMethod {
    public static let name = "routing.getAssignment"
    public static let isIdempotent = true
    public static let summary = "A case's assignment with its routing slips, pauses and extensions."
    public typealias Params = RoutingCaseParams
    public typealias Result = RoutingAssignment
}

/// `routing.listDepartmentQueue`: open cases of a department, most urgent first.
public enum RoutingListDepartmentQueue: RPCMethod {
    public static let name = "routing.listDepartmentQueue"
    public static let isIdempotent = true
    public static let summary = "Open cases of a department by priority then due date, one page at a time."
    public struct Params: Codable, Sendable {
        public var department: String
        /// Only these states (default: every open state).
        public var states: [RoutingAssignmentState]?
        public var handler: String?
        /// 1…1000, default 100.
        public var limit: Int?
        /// `nextCursor` of the previous page.
        public var cursor: String?
        public init(department: String, states: [RoutingAssignmentState]? = nil, handler: String? = nil, limit: Int? = nil, cursor: String? = nil) {
            self.department = department
            self.states = states
            self.handler = handler
            self.limit = limit
            self.cursor = cursor
        }
    }
    public struct Result: Codable, Sendable {
        public var items: [RoutingAssignment]
        /// Nil on the last page.
        public var nextCursor: String?
        public init(items: [RoutingAssignment], nextCursor: String? = nil) {
            self.items = items
            self.nextCursor = nextCursor
        }
    }
}

/// A page of a list paged by keyset: pass `nextCursor` back as `cursor` for the next page; nil
/// when this page is the last.
public struct RoutingAssignmentPage: Codable, Sendable, Hashable {
    public var items: [RoutingAssignment]
    public var nextCursor: String?
    public init(items: [RoutingAssignment], nextCursor: String? = nil) {
        self.items = items
        self.nextCursor = nextCursor
    }
}

/// `routing.myCases`: the open cases assigned to the calling handler (`_meta.actor.id`), earliest
/// due date first, paged by keyset.
public enum RoutingMyCases: RPCMethod {
    public static let name = "routing.myCases"
    public static let isIdempotent = true
    public static let summary = "The calling handler's open cases, earliest due date first, paged by cursor."
    public struct Params: Codable, Sendable {
        /// Only these open states (default: assigned, in progress, info requested).
        public var states: [RoutingAssignmentState]?
        /// 1...1000, default 100.
        public var limit: Int?
        /// `nextCursor` of the previous page.
        public var cursor: String?
        public init(states: [RoutingAssignmentState]? = nil, limit: Int? = nil, cursor: String? = nil) {
            self.states = states
            self.limit = limit
            self.cursor = cursor
        }
    }
    public typealias Result = RoutingAssignmentPage
}

/// An overdue case with how late it is.
public struct RoutingOverdueCase: Codable, Sendable, Hashable {
    public var assignment: RoutingAssignment
    /// Working days from the due date to today (to the start of the pause for a paused case).
    public var workingDaysOverdue: Int
    public init(assignment: RoutingAssignment, workingDaysOverdue: Int) {
        self.assignment = assignment
        self.workingDaysOverdue = workingDaysOverdue
    }
}

/// `routing.overdue`: open cases past their due date, most late first, paged by keyset. Routing
/// officers, supervisors and administrators see every department (or the one named); a
/// department head or a department-scoped actor (`_meta.actor.department`) sees only their own.
/// A paused case counts when its pause began after its due date had passed.
public enum RoutingOverdue: RPCMethod {
    public static let name = "routing.overdue"
    public static let isIdempotent = true
    public static let summary = "Open cases past their due date, most late first, in all departments or one, paged by cursor."
    public struct Params: Codable, Sendable {
        /// One department's code; nil = all the caller may see.
        public var department: String?
        /// 1...1000, default 100.
        public var limit: Int?
        /// `nextCursor` of the previous page.
        public var cursor: String?
        public init(department: String? = nil, limit: Int? = nil, cursor: String? = nil) {
            self.department = department
            self.limit = limit
            self.cursor = cursor
        }
    }
    public struct Result: Codable, Sendable, Hashable {
        public var items: [RoutingOverdueCase]
        /// Pass back as `cursor` for the next page; nil on the last page.
        public var nextCursor: String?
        public init(items: [RoutingOverdueCase], nextCursor: String? = nil) {
            self.items = items
            self.nextCursor = nextCursor
        }
    }
}

// MARK: - Case lookups for staff and other services

/// Names a case by its tracking number or by its case id: exactly one of the two.
public struct RoutingCaseLookup: Codable, Sendable, Hashable {
    public var trackingNumber: String?
    public var caseId: String?
    public init(trackingNumber: String? = nil, caseId: String? = nil) {
        self.trackingNumber = trackingNumber
        self.caseId = caseId
    }
}

/// `routing.caseAssignment`: which department (and handler) is responsible for a case, its due
/// date and whether it is overdue. Read-only; staff and services (complaints, without an actor)
/// may call it. `not_found` when routing never received the case.
public enum RoutingCaseAssignment: RPCMethod {
    public static let name = "routing.caseAssignment"
    public static let isIdempotent = true
    public static let summary = "The department, handler, due date and overdue flag of a routed case, by tracking number or case id."
    public typealias Params = RoutingCaseLookup

    public struct Result: Codable, Sendable, Hashable {
        public var caseId: String
        public var trackingNumber: String
        /// The responsible department's code.
        public var department: String
        /// Its Chinese name (the code when the department is not set up in routing).
        public var departmentName: String
        public var departmentNameEn: String?
        public var handler: StaffRef?
        /// YYYY-MM-DD on the working calendar.
        public var dueDate: String
        /// Past its due date: an open case whose clock runs and whose due date has passed, a
        /// case paused after its due date had passed, or a case completed after its due date.
        public var overdue: Bool
        public var status: RoutingAssignmentState
        /// The department head, who receives escalations.
        public var departmentHead: StaffRef?
        /// The case's service type (complaints count complaints by it).
        public var serviceType: String?

        public init(
            caseId: String, trackingNumber: String, department: String, departmentName: String,
            departmentNameEn: String? = nil, handler: StaffRef?, dueDate: String, overdue: Bool,
            status: RoutingAssignmentState, departmentHead: StaffRef? = nil, serviceType: String? = nil
        ) {
            self.serviceType = serviceType
            self.caseId = caseId
            self.trackingNumber = trackingNumber
            self.department = department
            self.departmentName = departmentName
            self.departmentNameEn = departmentNameEn
            self.handler = handler
            self.dueDate = dueDate
            self.overdue = overdue
            self.status = status
            self.departmentHead = departmentHead
        }
    }
}

/// `routing.explainDeadline`: how a case's due date was computed, step by step.
public enum RoutingExplainDeadline: RPCMethod {
    public static let name = "routing.explainDeadline"
    public static let isIdempotent = true
    public static let summary = "Why a case is due when it is: start, working days, pauses with reasons, extensions."
    public typealias Params = RoutingCaseLookup

    /// One step of the computation, in order.
    public struct Step: Codable, Sendable, Hashable {
        public enum Kind: String, Codable, Sendable, CaseIterable {
            /// The day the clock starts (acceptance, or the reopening day).
            case start
            /// The promised time limit in working days.
            case timeLimit = "time_limit"
            /// A finished pause: the due date moved by its working days.
            case pause
            /// A pause still running: the clock stands still; the due date moves when it ends.
            case openPause = "open_pause"
            /// An approved extension.
            case `extension`
            /// The stored figures differ from the recorded events by this much (kept as stored).
            case adjustment
        }
        public var kind: Kind
        /// Plain words: what happened and why.
        public var description: String
        /// YYYY-MM-DD the step starts / ends, where it has dates.
        public var from: String?
        public var until: String?
        /// Working days the step adds to the due date.
        public var workingDays: Int
        /// The due date after this step.
        public var dueDateAfter: String
        /// The pause's reason type or the extension's reason.
        public var reason: String?
        /// Who approved an extension.
        public var by: String?

        public init(
            kind: Kind, description: String, from: String? = nil, until: String? = nil, workingDays: Int,
            dueDateAfter: String, reason: String? = nil, by: String? = nil
        ) {
            self.kind = kind
            self.description = description
            self.from = from
            self.until = until
            self.workingDays = workingDays
            self.dueDateAfter = dueDateAfter
            self.reason = reason
            self.by = by
        }
    }

    public struct Result: Codable, Sendable, Hashable {
        public var caseId: String
        public var trackingNumber: String
        public var status: RoutingAssignmentState
        public var priority: CasePriority
        /// YYYY-MM-DD the clock starts from.
        public var startedOn: String
        public var timeLimitWorkingDays: Int
        public var pausedWorkingDays: Int
        public var extendedWorkingDays: Int
        /// The due date routing holds (the last step's date).
        public var dueDate: String
        public var steps: [Step]
        /// Days between the start and the due date that do not count: weekends and holidays
        /// (YYYY-MM-DD), so a reader sees why the span is longer than the working days.
        public var nonWorkingDays: [String]
        /// Weekend days between the start and the due date that are working days (make-up days).
        public var makeUpWorkingDays: [String]
        public var overdue: Bool

        public init(
            caseId: String, trackingNumber: String, status: RoutingAssignmentState, priority: CasePriority,
            startedOn: String, timeLimitWorkingDays: Int, pausedWorkingDays: Int, extendedWorkingDays: Int,
            dueDate: String, steps: [Step], nonWorkingDays: [String], makeUpWorkingDays: [String], overdue: Bool
        ) {
            self.caseId = caseId
            self.trackingNumber = trackingNumber
            self.status = status
            self.priority = priority
            self.startedOn = startedOn
            self.timeLimitWorkingDays = timeLimitWorkingDays
            self.pausedWorkingDays = pausedWorkingDays
            self.extendedWorkingDays = extendedWorkingDays
            self.dueDate = dueDate
            self.steps = steps
            self.nonWorkingDays = nonWorkingDays
            self.makeUpWorkingDays = makeUpWorkingDays
            self.overdue = overdue
        }
    }
}

// MARK: - Seeding the organisation

/// `routing.seedOrganisation` (routing officer): loads the organisation seed file (departments,
/// heads, handlers, rules) and adds every entry that is missing. Existing departments, handlers
/// and rules are never changed, so calling it again, or after edits, changes nothing already there.
public enum RoutingSeedOrganisation: RPCMethod {
    public static let name = "routing.seedOrganisation"
    public static let isIdempotent = true
    public static let summary = "Add the seed file's departments, handlers and rules that are missing; never changes existing ones."

    public struct Params: Codable, Sendable {
        /// true: do nothing unless the organisation is empty (no department, handler or rule).
        public var onlyIfEmpty: Bool?
        public init(onlyIfEmpty: Bool? = nil) { self.onlyIfEmpty = onlyIfEmpty }
    }

    public struct Result: Codable, Sendable, Hashable {
        public var departmentsAdded: Int
        public var handlersAdded: Int
        public var rulesAdded: Int
        /// Entries of the seed already present (left as they are).
        public var departmentsKept: Int
        public var handlersKept: Int
        public var rulesKept: Int
        /// Why nothing was added, when `onlyIfEmpty` found an organisation.
        public var skipped: String?

        public init(
            departmentsAdded: Int, handlersAdded: Int, rulesAdded: Int, departmentsKept: Int, handlersKept: Int,
            rulesKept: Int, skipped: String? = nil
        ) {
            self.departmentsAdded = departmentsAdded
            self.handlersAdded = handlersAdded
            self.rulesAdded = rulesAdded
            self.departmentsKept = departmentsKept
            self.handlersKept = handlersKept
            self.rulesKept = rulesKept
            self.skipped = skipped
        }
    }
}
