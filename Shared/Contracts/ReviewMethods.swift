#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation
import LineProtocol

// Review's staff-facing methods (the gateway and the console call them). `review.submit`, which
// intake calls, lives in `Review.swift`.

/// Where a review task stands.
public enum ReviewTaskState: String, Codable, Sendable, CaseIterable {
    /// The automated checks have not finished yet.
    case checking
    /// A person must decide, but no qualified reviewer is on duty.
    case awaitingDecision = "awaiting_decision"
    /// A reviewer holds it.
    case assigned
    /// A person decided (see the outcome).
    case decided
    /// The checks alone approved it (the catalog allows it and nothing was flagged).
    case approvedAutomatically = "approved_automatically"
    /// The customer withdrew the application before a decision; nobody decides it.
    case withdrawn
}

/// What an automated check found.
public enum ReviewCheckOutcome: String, Codable, Sendable, CaseIterable {
    case passed
    case flagged
    /// The check could not be run (a peer or the external verifier did not answer); a person decides.
    case couldNotVerify = "could_not_verify"
}

/// A reviewer's decision.
public enum ReviewDecisionKind: String, Codable, Sendable, CaseIterable {
    /// Approve with an opinion: the case goes to routing.
    case approve
    /// Reject with at least one reason: the customer is told.
    case reject
    /// Return for supplement or correction, with the items.
    case `return`
}

/// One automated check's result, with the rule that fired.
public struct ReviewCheckResult: Codable, Sendable, Hashable {
    /// e.g. `identity.document`, `materials.count`, `risk.amount.high`.
    public var ruleId: String
    public var outcome: ReviewCheckOutcome
    public var detail: String
    public var checkedAt: Date?

    public init(ruleId: String, outcome: ReviewCheckOutcome, detail: String, checkedAt: Date? = nil) {
        self.ruleId = ruleId
        self.outcome = outcome
        self.detail = detail
        self.checkedAt = checkedAt
    }
}

/// A task as lists show it (no personal data beyond the masked ID number).
public struct ReviewTaskSummary: Codable, Sendable, Hashable {
    public var taskId: String
    public var caseId: String
    public var trackingNumber: String
    public var serviceType: String
    public var serviceName: String
    public var priority: CasePriority
    public var state: ReviewTaskState
    public var assignedReviewer: String?
    public var assignedAt: Date?
    public var flaggedChecks: Int
    public var createdAt: Date

    public init(
        taskId: String, caseId: String, trackingNumber: String, serviceType: String, serviceName: String,
        priority: CasePriority, state: ReviewTaskState, assignedReviewer: String?, assignedAt: Date?,
        flaggedChecks: Int, createdAt: Date
    ) {
        self.taskId = taskId
        self.caseId = caseId
        self.trackingNumber = trackingNumber
        self.serviceType = serviceType
        self.serviceName = serviceName
        self.priority = priority
        self.state = state
        self.assignedReviewer = assignedReviewer
        self.assignedAt = assignedAt
        self.flaggedChecks = flaggedChecks
        self.createdAt = createdAt
    }
}

/// A recorded decision (a person's or the system's).
public struct ReviewDecisionRecord: Codable, Sendable, Hashable {
    public var decision: ReviewDecisionKind
    /// A reviewer id, or `system` for automatic approval.
    public var decidedBy: String
    public var automatic: Bool
    public var opinion: String?
    public var reasons: [String]
    public var items: [String]
    public var decidedAt: Date

    public init(decision: ReviewDecisionKind, decidedBy: String, automatic: Bool, opinion: String?, reasons: [String], items: [String], decidedAt: Date) {
        self.decision = decision
        self.decidedBy = decidedBy
        self.automatic = automatic
        self.opinion = opinion
        self.reasons = reasons
        self.items = items
        self.decidedAt = decidedAt
    }
}

/// A reviewer on the roster.
public struct ReviewReviewer: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    /// Service types the reviewer is qualified for; `*` means every type.
    public var serviceTypes: [String]
    public var onDuty: Bool
    public var team: String?
    /// The reviewer's supervisor (who may decide their tasks).
    public var supervisorId: String?
    /// A supervisor may decide any task of the reviewers they supervise or of their team.
    public var isSupervisor: Bool?

    public init(id: String, name: String, serviceTypes: [String], onDuty: Bool = true, team: String? = nil, supervisorId: String? = nil, isSupervisor: Bool? = nil) {
        self.id = id
        self.name = name
        self.serviceTypes = serviceTypes
        self.onDuty = onDuty
        self.team = team
        self.supervisorId = supervisorId
        self.isSupervisor = isSupervisor
    }
}

/// `review.upsertReviewer`: add a reviewer to the roster or change one.
public enum ReviewUpsertReviewer: RPCMethod {
    public static let name = "review.upsertReviewer"
    public static let isIdempotent = true
    public static let summary = "Add or change a reviewer on the roster (qualifications, team, supervisor, duty)."

    public typealias Params = ReviewReviewer

    public struct Result: Codable, Sendable {
        public var reviewer: ReviewReviewer
        public var created: Bool
        /// Open tasks moved to others because the change left the reviewer off duty or unqualified.
        public var redistributed: Int
        public init(reviewer: ReviewReviewer, created: Bool, redistributed: Int) {
            self.reviewer = reviewer
            self.created = created
            self.redistributed = redistributed
        }
    }
}

/// `review.setOnDuty`: a reviewer comes on or goes off duty. Going off duty hands their open
/// tasks to other qualified reviewers on duty; coming on duty picks up waiting tasks.
public enum ReviewSetOnDuty: RPCMethod {
    public static let name = "review.setOnDuty"
    public static let isIdempotent = true
    public static let summary = "Put a reviewer on or off duty; their open tasks are redistributed when they leave."

    public struct Params: Codable, Sendable {
        public var reviewerId: String
        public var onDuty: Bool
        public init(reviewerId: String, onDuty: Bool) {
            self.reviewerId = reviewerId
            self.onDuty = onDuty
        }
    }

    public struct Result: Codable, Sendable {
        public var reviewerId: String
        public var onDuty: Bool
        /// Tasks moved to other reviewers (off duty) or to the waiting pool when nobody qualifies.
        public var redistributed: Int
        /// Waiting tasks assigned (to anyone) after this reviewer came on duty.
        public var assignedFromWaiting: Int
        public init(reviewerId: String, onDuty: Bool, redistributed: Int, assignedFromWaiting: Int) {
            self.reviewerId = reviewerId
            self.onDuty = onDuty
            self.redistributed = redistributed
            self.assignedFromWaiting = assignedFromWaiting
        }
    }
}

/// `review.listQueue`: the caller's queue (or their team's), urgent first, keyset-paginated.
public enum ReviewListQueue: RPCMethod {
    public static let name = "review.listQueue"
    public static let isIdempotent = true
    public static let summary = "Open review tasks of the caller (mine) or their team, urgent first; page with `after`."

    public enum Scope: String, Codable, Sendable, CaseIterable {
        case mine, team
    }

    public struct Params: Codable, Sendable {
        public var scope: Scope
        /// 1…200, default 50.
        public var limit: Int?
        /// `nextCursor` of the previous page.
        public var after: String?
        /// Whose queue: defaults to `_meta.actor.id`; another reviewer's only for a supervisor.
        public var reviewerId: String?
        public init(scope: Scope = .mine, limit: Int? = nil, after: String? = nil, reviewerId: String? = nil) {
            self.scope = scope
            self.limit = limit
            self.after = after
            self.reviewerId = reviewerId
        }
    }

    public struct Result: Codable, Sendable {
        public var tasks: [ReviewTaskSummary]
        /// Nil on the last page.
        public var nextCursor: String?
        public init(tasks: [ReviewTaskSummary], nextCursor: String?) {
            self.tasks = tasks
            self.nextCursor = nextCursor
        }
    }
}

/// `review.getTask`: one task with its check results and decision.
public enum ReviewGetTask: RPCMethod {
    public static let name = "review.getTask"
    public static let isIdempotent = true
    public static let summary = "A review task with its automated check results and decision."

    public struct Params: Codable, Sendable {
        /// The task id, or give `caseId`.
        public var taskId: String?
        public var caseId: String?
        public init(taskId: String? = nil, caseId: String? = nil) {
            self.taskId = taskId
            self.caseId = caseId
        }
    }

    public struct Result: Codable, Sendable {
        public var task: ReviewTaskSummary
        public var applicantName: String
        /// The applicant's ID number, masked.
        public var applicantIdMasked: String
        public var description: String
        public var declaredAmount: Double?
        public var autoApprovalAllowed: Bool
        public var checks: [ReviewCheckResult]
        public var decision: ReviewDecisionRecord?
        public init(
            task: ReviewTaskSummary, applicantName: String, applicantIdMasked: String, description: String,
            declaredAmount: Double?, autoApprovalAllowed: Bool, checks: [ReviewCheckResult], decision: ReviewDecisionRecord?
        ) {
            self.task = task
            self.applicantName = applicantName
            self.applicantIdMasked = applicantIdMasked
            self.description = description
            self.declaredAmount = declaredAmount
            self.autoApprovalAllowed = autoApprovalAllowed
            self.checks = checks
            self.decision = decision
        }
    }
}

/// `review.decide`: the assigned reviewer (or a supervisor) approves, rejects or returns a task.
/// The caller is `_meta.actor`. A decided task cannot be decided again (`conflict`).
public enum ReviewDecide: RPCMethod {
    public static let name = "review.decide"
    public static let summary = "Approve (with an opinion), reject (with reasons) or return (with items) an assigned task."

    public struct Params: Codable, Sendable {
        public var taskId: String
        public var decision: ReviewDecisionKind
        /// Required for approve; optional otherwise.
        public var opinion: String?
        /// At least one for reject.
        public var reasons: [String]?
        /// At least one for return.
        public var items: [String]?
        public init(taskId: String, decision: ReviewDecisionKind, opinion: String? = nil, reasons: [String]? = nil, items: [String]? = nil) {
            self.taskId = taskId
            self.decision = decision
            self.opinion = opinion
            self.reasons = reasons
            self.items = items
        }
    }

    public struct Result: Codable, Sendable {
        public var taskId: String
        public var state: ReviewTaskState
        public var decision: ReviewDecisionRecord
        public init(taskId: String, state: ReviewTaskState, decision: ReviewDecisionRecord) {
            self.taskId = taskId
            self.state = state
            self.decision = decision
        }
    }
}

/// `review.cancel`: the customer withdrew the application (from intake's outbox, idempotent):
/// the open task of the case leaves every queue and can no longer be decided.
public enum ReviewCancel: RPCMethod {
    public static let name = "review.cancel"
    public static let isIdempotent = true
    public static let summary = "Withdraw a case's open review task; a decided task is left as it is."

    public struct Params: Codable, Sendable {
        public var caseId: String
        public var reason: String?
        public init(caseId: String, reason: String? = nil) {
            self.caseId = caseId
            self.reason = reason
        }
    }

    public enum Outcome: String, Codable, Sendable {
        /// The open task is withdrawn.
        case withdrawn
        /// Decided before the withdrawal arrived: left as decided.
        case alreadyDecided = "already_decided"
        /// Review holds no task for the case (it never reached review).
        case notHeld = "not_held"
    }

    public struct Result: Codable, Sendable {
        public var outcome: Outcome
        public var taskId: String?
        public var state: ReviewTaskState?
        public init(outcome: Outcome, taskId: String?, state: ReviewTaskState?) {
            self.outcome = outcome
            self.taskId = taskId
            self.state = state
        }
    }
}

/// `review.stats`: what management reads about review.
public enum ReviewStats: RPCMethod {
    public static let name = "review.stats"
    public static let isIdempotent = true
    public static let summary = "Tasks per state, decision times (p50/p90), auto-approval rate, flags by rule, per reviewer."

    public struct Params: Codable, Sendable {
        /// Only tasks created at or after this instant (default: all).
        public var since: Date?
        public init(since: Date? = nil) { self.since = since }
    }

    public struct RuleCount: Codable, Sendable, Hashable {
        public var ruleId: String
        public var flagged: Int
        public var couldNotVerify: Int
        public init(ruleId: String, flagged: Int, couldNotVerify: Int) {
            self.ruleId = ruleId
            self.flagged = flagged
            self.couldNotVerify = couldNotVerify
        }
    }

    public struct ReviewerFigures: Codable, Sendable, Hashable {
        public var reviewerId: String
        public var open: Int
        public var approved: Int
        public var rejected: Int
        public var returned: Int
        /// Seconds from assignment to decision.
        public var decisionSecondsP50: Double?
        public init(reviewerId: String, open: Int, approved: Int, rejected: Int, returned: Int, decisionSecondsP50: Double?) {
            self.reviewerId = reviewerId
            self.open = open
            self.approved = approved
            self.rejected = rejected
            self.returned = returned
            self.decisionSecondsP50 = decisionSecondsP50
        }
    }

    public struct Result: Codable, Sendable {
        /// State raw value → count.
        public var tasksByState: [String: Int]
        /// Seconds from submission to decision, over every decision (automatic ones included).
        public var decisionSecondsP50: Double?
        public var decisionSecondsP90: Double?
        /// Seconds from assignment to a person's decision.
        public var humanDecisionSecondsP50: Double?
        public var humanDecisionSecondsP90: Double?
        /// Automatic approvals / all decisions (0 when none).
        public var autoApprovalRate: Double
        public var flagsByRule: [RuleCount]
        public var reviewers: [ReviewerFigures]
        public init(
            tasksByState: [String: Int], decisionSecondsP50: Double?, decisionSecondsP90: Double?,
            humanDecisionSecondsP50: Double?, humanDecisionSecondsP90: Double?, autoApprovalRate: Double,
            flagsByRule: [RuleCount], reviewers: [ReviewerFigures]
        ) {
            self.tasksByState = tasksByState
            self.decisionSecondsP50 = decisionSecondsP50
            self.decisionSecondsP90 = decisionSecondsP90
            self.humanDecisionSecondsP50 = humanDecisionSecondsP50
            self.humanDecisionSecondsP90 = humanDecisionSecondsP90
            self.autoApprovalRate = autoApprovalRate
            self.flagsByRule = flagsByRule
            self.reviewers = reviewers
        }
    }
}
