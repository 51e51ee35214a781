import Contracts
import Identity
import JSONCoding
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// A complaint row as the service holds it, contacts included (never logged, masked in views).
struct ComplaintRecord: Sendable {
    var id: UUID
    var number: String
    var status: ComplaintStatus
    var channel: IntakeChannel
    var complainantName: String
    var phone: String?
    var email: String?
    var locale: CustomerLocale
    var caseTrackingNumber: String?
    var caseOverdue: Bool
    var vulnerable: Bool
    var caseHandlerId: String?
    var content: String
    var category: String
    var severity: ComplaintSeverity
    var classificationReasons: [String]
    var department: String?
    var assigneeId: String?
    var escalated: Bool
    var filedAt: Date
    var firstResponseDueAt: Date
    var firstResponseAt: Date?
    /// YYYY-MM-DD.
    var resolutionDueDate: String?
    var outcome: ComplaintOutcome?
    var resolution: String?
    var remedy: String?
    var rootCause: String?
    var resolvedAt: Date?
    var reopenCount: Int
    var acceptedAt: Date?
    var closedAt: Date?
    var sourceRatingId: UUID?
    /// `routing`, `filing` or `officer`; nil while no department is set.
    var departmentSource: String?
    /// Why the complaint has no department (routing down, case unknown, no case named).
    var departmentMissingReason: String?
    /// When the first-response timer escalated it to the supervisor.
    var firstResponseEscalatedAt: Date?
    /// When the deadline monitor warned that the first-response limit was near.
    var firstResponseWarnedAt: Date?
    /// YYYY-MM-DD: after this day the resolution limit is near and a warning goes out.
    var resolutionWarnDate: String?
    var resolutionWarnedAt: Date?
    /// When the resolution limit passed and the supervisor was told.
    var resolutionEscalatedAt: Date?
    /// Routing's id of the case complained about, when routing answered at filing.
    var caseId: String?
    /// The service type of the case complained about, when routing answered at filing.
    var caseServiceType: String?

    /// The columns `init(row:)` reads, in a SELECT list.
    static let columns = SQL(unsafeSQL: """
        id, number, status, channel, complainant_name, complainant_phone, complainant_email, contact_key_id,
        phone_cipher, email_cipher, locale,
        case_tracking_number, case_overdue, vulnerable, case_handler_id, content, category, severity,
        classification_reasons, department, assignee_id, escalated, filed_at, first_response_due_at,
        first_response_at, resolution_due_date::text AS resolution_due_date, outcome, resolution, remedy,
        root_cause, resolved_at, reopen_count, accepted_at, closed_at, source_rating_id, department_source,
        department_missing_reason, first_response_escalated_at, first_response_warned_at,
        resolution_warn_date::text AS resolution_warn_date, resolution_warned_at, resolution_escalated_at, case_id,
        case_service_type
        """)

    init(row: PostgresRow) throws {
        func value<T: PostgresDecodable>(_ column: String, _ type: T.Type = T.self) throws -> T {
            try row.decode(T.self, column: column)
        }
        func parse<E: RawRepresentable>(_ column: String) throws -> E where E.RawValue == String {
            let raw = try row.decode(String.self, column: column)
            guard let parsed = E(rawValue: raw) else {
                throw PostgresError(code: .decoding, message: "column \(column) holds an unknown value")
            }
            return parsed
        }
        id = try value("id")
        number = try value("number")
        status = try parse("status")
        channel = try parse("channel")
        complainantName = try value("complainant_name")
        phone = try value("complainant_phone")
        email = try value("complainant_email")
        locale = try parse("locale")
        caseTrackingNumber = try value("case_tracking_number")
        caseOverdue = try value("case_overdue")
        vulnerable = try value("vulnerable")
        caseHandlerId = try value("case_handler_id")
        content = try value("content")
        category = try value("category")
        severity = try parse("severity")
        classificationReasons = try value("classification_reasons")
        department = try value("department")
        assigneeId = try value("assignee_id")
        escalated = try value("escalated")
        filedAt = try value("filed_at")
        firstResponseDueAt = try value("first_response_due_at")
        firstResponseAt = try value("first_response_at")
        resolutionDueDate = try value("resolution_due_date")
        outcome = try row.decode(String?.self, column: "outcome").flatMap(ComplaintOutcome.init(rawValue:))
        resolution = try value("resolution")
        remedy = try value("remedy")
        rootCause = try value("root_cause")
        resolvedAt = try value("resolved_at")
        reopenCount = try value("reopen_count")
        acceptedAt = try value("accepted_at")
        closedAt = try value("closed_at")
        sourceRatingId = try value("source_rating_id")
        departmentSource = try value("department_source")
        departmentMissingReason = try value("department_missing_reason")
        firstResponseEscalatedAt = try value("first_response_escalated_at")
        firstResponseWarnedAt = try value("first_response_warned_at")
        resolutionWarnDate = try value("resolution_warn_date")
        resolutionWarnedAt = try value("resolution_warned_at")
        resolutionEscalatedAt = try value("resolution_escalated_at")
        caseId = try value("case_id")
        caseServiceType = try value("case_service_type")
    }

    init(
        id: UUID, number: String, channel: IntakeChannel, complainantName: String, phone: String?, email: String?,
        locale: CustomerLocale, caseTrackingNumber: String?, caseOverdue: Bool, vulnerable: Bool, caseHandlerId: String?,
        content: String, decision: ClassificationRules.Decision, department: String?, filedAt: Date,
        firstResponseDueAt: Date, sourceRatingId: UUID?, departmentSource: String? = nil, departmentMissingReason: String? = nil,
        caseId: String? = nil, caseServiceType: String? = nil
    ) {
        self.caseServiceType = caseServiceType
        self.id = id
        self.number = number
        self.status = .filed
        self.channel = channel
        self.complainantName = complainantName
        self.phone = phone
        self.email = email
        self.locale = locale
        self.caseTrackingNumber = caseTrackingNumber
        self.caseOverdue = caseOverdue
        self.vulnerable = vulnerable
        self.caseHandlerId = caseHandlerId
        self.content = content
        self.category = decision.category
        self.severity = decision.severity
        self.classificationReasons = decision.reasons
        self.department = department
        self.assigneeId = nil
        self.escalated = false
        self.filedAt = filedAt
        self.firstResponseDueAt = firstResponseDueAt
        self.reopenCount = 0
        self.sourceRatingId = sourceRatingId
        self.departmentSource = departmentSource
        self.departmentMissingReason = departmentMissingReason
        self.caseId = caseId
    }

    var lifecycleState: ComplaintLifecycle.State {
        ComplaintLifecycle.State(status: status, isAssigned: department != nil || escalated, reopenCount: reopenCount, number: number)
    }

    var hasContact: Bool { phone != nil || email != nil }

    var view: ComplaintView {
        ComplaintView(
            id: id.uuidString.lowercased(), number: number, status: status, channel: channel,
            complainantName: complainantName,
            phoneMasked: phone.map { (try? PhoneNumber($0).masked) ?? Masking.mask($0, keepingPrefix: 3, suffix: 2) },
            emailMasked: email.map { (try? EmailAddress($0).masked) ?? "***" },
            caseTrackingNumber: caseTrackingNumber, caseOverdue: caseOverdue, vulnerable: vulnerable, content: content,
            category: category, severity: severity, classificationReasons: classificationReasons, department: department,
            assigneeId: assigneeId, escalated: escalated, filedAt: filedAt, firstResponseDueAt: firstResponseDueAt,
            firstResponseAt: firstResponseAt, resolutionDueDate: resolutionDueDate, outcome: outcome,
            resolution: resolution, remedy: remedy, rootCause: rootCause, resolvedAt: resolvedAt, reopenCount: reopenCount,
            acceptedAt: acceptedAt, closedAt: closedAt, sourceRatingId: sourceRatingId.map { $0.uuidString.lowercased() },
            departmentSource: departmentSource, departmentMissingReason: departmentMissingReason,
            firstResponseEscalatedAt: firstResponseEscalatedAt, firstResponseWarnedAt: firstResponseWarnedAt,
            resolutionWarnedAt: resolutionWarnedAt, resolutionEscalatedAt: resolutionEscalatedAt,
            caseServiceType: caseServiceType
        )
    }

    /// What the audit trail keeps of a complaint: everything but the contacts and the content.
    var auditSnapshot: [String: String] {
        var snapshot: [String: String] = [
            "status": status.rawValue, "category": category, "severity": severity.rawValue,
            "escalated": String(escalated), "reopenCount": String(reopenCount),
        ]
        snapshot["department"] = department
        snapshot["departmentSource"] = departmentSource
        snapshot["departmentMissingReason"] = departmentMissingReason
        snapshot["assigneeId"] = assigneeId
        snapshot["resolutionDueDate"] = resolutionDueDate
        snapshot["outcome"] = outcome?.rawValue
        snapshot["rootCause"] = rootCause
        snapshot["firstResponseAt"] = firstResponseAt.flatMap { JSONDateFormat.string(from: $0) }
        return snapshot
    }
}
