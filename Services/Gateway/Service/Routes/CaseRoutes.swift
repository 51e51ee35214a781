import Contracts
import Hummingbird
import JSONCoding

/// Cases as staff see them: registration at the counter, search, the case file, supplements,
/// archive access and the duty roster.
enum CaseRoutes {
    static let findQuery: [RouteSpec.QueryParameter] = [
        .init("status", .string, "a case status"), .init("owner"), .init("serviceType"), .init("channel"),
        .init("department"), .init("registeredFrom", .dateTime), .init("registeredBefore", .dateTime),
        .init("limit", .integer, "1…200"), .init("cursor", .string, "nextCursor of the previous page"),
    ]

    static var routes: [RouteSpec] {
        [
            RouteSpec(method: .post, path: "/v1/cases", action: .registerCase, tag: "cases",
                      summary: "Register an application taken at the counter, by phone or by email (intake checks identity and materials).",
                      body: .object(required: true), successStatus: .created) { request, context, gateway in
                try await gateway.authorise(.registerCase, context)
                var params = try await gateway.bodies.object(request)
                _ = params.removeValue(forKey: "_meta")
                if params["channel"]?.stringValue == IntakeChannel.online.rawValue {
                    throw Problem.invalid("online applications come through POST /v1/public/cases; staff register counter, phone or email applications", zh: "网上申请请通过 POST /v1/public/cases 提交；工作人员登记的是窗口、电话或电子邮件申请")
                }
                let result = try await gateway.call(.intake, IntakeRegisterCase.name, params, context)
                return .json(result, status: .created)
            },
            .forward(.get, "/v1/cases", .findCases, tag: "cases", summary: "Find cases, newest first, one page at a time (keyset cursor).",
                     to: .intake, IntakeFindCases.name, idempotent: true, query: findQuery),
            .forward(.get, "/v1/cases/{caseId}", .readCase, tag: "cases", summary: "The case file (personal data masked).",
                     to: .intake, IntakeGetCase.name, idempotent: true),
            .forward(.post, "/v1/cases/{caseId}/materials", .supplementAsStaff, tag: "cases",
                     summary: "Hand in materials the customer brought; the case is re-checked.",
                     to: .intake, IntakeSupplementMaterials.name, body: .object(required: true)),
            .forward(.post, "/v1/cases/{caseId}/additional-items", .requestAdditionalItems, tag: "cases",
                     summary: "Ask for items beyond the one notice (supervisor, with a reason).",
                     to: .intake, IntakeRequestAdditionalItems.name, body: .object(required: true)),
            .forward(.post, "/v1/cases/{caseId}/archive-access", .requestArchiveAccess, tag: "cases",
                     summary: "Ask to read an archived case file (a supervisor approves).",
                     to: .intake, IntakeRequestArchiveAccess.name, body: .object(required: true), successStatus: .created),
            .forward(.post, "/v1/archive-access/{grantId}/approval", .approveArchiveAccess, tag: "cases",
                     summary: "Approve an archive access request.",
                     to: .intake, IntakeApproveArchiveAccess.name, body: .object(required: false)),
            .forward(.put, "/v1/duty-officers/{day}", .setDutyOfficer, tag: "administration",
                     summary: "Who owns online applications on a day (YYYY-MM-DD).",
                     to: .intake, IntakeSetDutyOfficer.name, body: .object(required: true)),
        ]
    }
}
