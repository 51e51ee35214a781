import Contracts
import Hummingbird
import JSONCoding

/// Review queues and decisions; department queues and the processing of a case.
enum ProcessingRoutes {
    static var routes: [RouteSpec] {
        [
            .forward(.get, "/v1/review/queue", .readReviewQueue, tag: "review", summary: "Open review tasks of mine or my team, urgent first.",
                     to: .review, ReviewListQueue.name, idempotent: true,
                     query: [.init("scope", .string, "mine or team"), .init("limit", .integer), .init("after", .string, "nextCursor of the previous page"), .init("reviewerId")]),
            .forward(.get, "/v1/review/tasks/{taskId}", .readReviewTask, tag: "review", summary: "A review task with its automated check results.",
                     to: .review, ReviewGetTask.name, idempotent: true),
            .forward(.post, "/v1/review/tasks/{taskId}/decision", .decideReview, tag: "review",
                     summary: "Approve, reject (with reasons) or return for supplement (with the items).",
                     to: .review, ReviewDecide.name, body: .object(required: true)),
            .forward(.put, "/v1/review/reviewers/{reviewerId}/duty", .setOwnDuty, tag: "review", summary: "Go on or off duty; open tasks are redistributed.",
                     to: .review, ReviewSetOnDuty.name, body: .object(required: true)),
            .forward(.put, "/v1/review/reviewers/{reviewerId}", .manageReviewers, tag: "review", summary: "Add or change a reviewer (skills, capacity, team).",
                     to: .review, ReviewUpsertReviewer.name, body: .object(required: true), pathKeys: ["reviewerId": "id"]),
            .forward(.get, "/v1/review/stats", .readReviewStats, tag: "review", summary: "Review workload, decision times and rules that fired.",
                     to: .review, ReviewStats.name, idempotent: true, query: [.init("since", .dateTime)]),

            .forward(.get, "/v1/departments/{department}/queue", .readDepartmentQueue, tag: "processing",
                     summary: "Open cases of a department by priority, then due date (handlers see their own department).",
                     to: .routing, RoutingListDepartmentQueue.name, idempotent: true,
                     query: [.init("states", .stringList), .init("handler"), .init("limit", .integer), .init("cursor", .string, "nextCursor of the previous page")],
                     department: "department"),
            .forward(.get, "/v1/my/cases", .readMyCases, tag: "processing",
                     summary: "The calling handler's open cases, earliest due date first, one page at a time.",
                     to: .routing, RoutingMyCases.name, idempotent: true,
                     query: [.init("states", .stringList), .init("limit", .integer), .init("cursor", .string, "nextCursor of the previous page")]),
            .forward(.get, "/v1/overdue", .readOverdue, tag: "processing",
                     summary: "Open cases past their due date, most late first (department-bound staff see their own department).",
                     to: .routing, RoutingOverdue.name, idempotent: true,
                     query: [.init("department"), .init("limit", .integer), .init("cursor", .string, "nextCursor of the previous page")]),
            .forward(.get, "/v1/assignments/{caseId}", .readAssignment, tag: "processing", summary: "Who handles a case, its due date and routing slips.",
                     to: .routing, RoutingGetAssignment.name, idempotent: true),
            processing("accept", RoutingAccept.name, "Take the case on.", body: false),
            processing("information-request", RoutingRequestInfo.name, "Ask the customer for information; the clock pauses."),
            processing("information-received", RoutingProvideInfo.name, "The customer answered; the clock runs again.", body: false),
            processing("extension", RoutingExtend.name, "Ask for a later due date, with a reason (the head approves)."),
            .forward(.post, "/v1/assignments/{caseId}/extension/approval", .approveExtension, tag: "processing",
                     summary: "The department head approves or refuses an extension.",
                     to: .routing, RoutingApproveExtension.name, body: .object(required: true)),
            processing("completion", RoutingComplete.name, "Finish the case with its result and pickup details."),
            .forward(.post, "/v1/assignments/{caseId}/transfer", .transferCase, tag: "processing",
                     summary: "Hand the case to another department, with a reason.",
                     to: .routing, RoutingTransfer.name, body: .object(required: true)),
            .forward(.post, "/v1/assignments/{caseId}/reassignment", .transferCase, tag: "processing",
                     summary: "Give the case to another handler of the department.",
                     to: .routing, RoutingReassign.name, body: .object(required: true)),
            .forward(.post, "/v1/assignments/{caseId}/reopening", .reopenCase, tag: "processing",
                     summary: "Reopen a finished case after an upheld objection; the answer gives the outcome, a message and the case.",
                     to: .routing, RoutingReopen.name, body: .object(required: true)),
        ]
    }

    static func processing(_ name: String, _ method: String, _ summary: String, body: Bool = true) -> RouteSpec {
        .forward(.post, "/v1/assignments/{caseId}/\(name)", .processCase, tag: "processing", summary: summary,
                 to: .routing, method, body: .object(required: body))
    }
}
