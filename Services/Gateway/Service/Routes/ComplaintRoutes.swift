import Contracts
import Hummingbird
import JSONCoding

/// The complaints desk, and the delivery record of notifications.
enum ComplaintRoutes {
    static var routes: [RouteSpec] {
        [
            .forward(.post, "/v1/complaints", .fileComplaintAsStaff, tag: "complaints",
                     summary: "Record a complaint received by phone, email, at the counter or in the suggestion box.",
                     to: .complaints, ComplaintsFile.name, body: .object(required: true), successStatus: .created),
            .forward(.get, "/v1/complaints", .readComplaints, tag: "complaints", summary: "Complaints newest first, one page at a time.",
                     to: .complaints, ComplaintsList.name, idempotent: true,
                     query: [.init("status"), .init("severity"), .init("category"), .init("department"), .init("caseTrackingNumber"),
                             .init("filedFrom", .dateTime), .init("filedBefore", .dateTime), .init("limit", .integer), .init("cursor")]),
            .forward(.get, "/v1/complaints/{complaintId}", .readComplaints, tag: "complaints", summary: "A complaint with its investigation and history.",
                     to: .complaints, ComplaintsGet.name, idempotent: true),
            step("classification", ComplaintsClassify.name, "Override category, severity or department, with a reason."),
            step("acknowledgement", ComplaintsAcknowledge.name, "Acknowledge the complaint to the complainant.", body: false),
            step("investigation", ComplaintsInvestigate.name, "Record an investigation step."),
            step("resolution", ComplaintsResolve.name, "Respond with the outcome, remedy and root cause."),
            step("acceptance", ComplaintsAccept.name, "The complainant accepted the response.", body: false),
            step("reopening", ComplaintsReopen.name, "Reopen a resolved complaint, with a reason."),
            step("closure", ComplaintsClose.name, "Close the complaint.", body: false),
            .forward(.get, "/v1/complaints-stats", .readComplaintStats, tag: "complaints",
                     summary: "Complaints by category, root cause, department and service type; the rate per 1,000 cases; ratings by department and service type.",
                     to: .complaints, ComplaintsStats.name, idempotent: true,
                     query: [.init("from", .dateTime), .init("before", .dateTime), .init("department")]),
            .forward(.get, "/v1/notifications", .readNotificationStatus, tag: "notifications",
                     summary: "A message's deliveries and attempts, by its key or messageId.",
                     to: .notification, NotificationStatus.name, idempotent: true, query: [.init("key"), .init("messageId")]),
        ]
    }

    static func step(_ name: String, _ method: String, _ summary: String, body: Bool = true) -> RouteSpec {
        .forward(.post, "/v1/complaints/{complaintId}/\(name)", .handleComplaint, tag: "complaints", summary: summary,
                 to: .complaints, method, body: .object(required: body))
    }
}
