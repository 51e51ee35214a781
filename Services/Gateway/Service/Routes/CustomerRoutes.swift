import Contracts
import HTTPTypes
import Hummingbird
import JSONCoding

/// What customers do without an account: apply online, and — proving the case with its tracking
/// number and access code — follow it, supplement materials, object, withdraw, complain and rate.
/// Guessing is limited per tracking number; a wrong code and an unknown number get the same answer.
enum CustomerRoutes {
    static var routes: [RouteSpec] {
        [
            .forward(.get, "/v1/catalog", .readCatalog, tag: "catalog", summary: "The services of the hall and the materials each needs.",
                     to: .intake, IntakeListCatalog.name, idempotent: true, query: [.init("includeInactive", .boolean)]),
            RouteSpec(method: .post, path: "/v1/public/cases", action: .applyOnline, tag: "customers",
                      summary: "Apply online. The answer holds the tracking number and the access code (shown once).",
                      body: .object(required: true), successStatus: .created) { request, context, gateway in
                try await gateway.authorise(.applyOnline, context)
                return try await fileAsOnlineCustomer(request, context, gateway, to: .intake, IntakeRegisterCase.name)
            },
            RouteSpec(method: .post, path: "/v1/public/track", action: .trackCase, tag: "customers",
                      summary: "Where is my case: tracking number + access code in the body (never in the URL).",
                      body: .object(required: true), bodySchema: credentialsSchema(trackingNumberInBody: true)) { request, context, gateway in
                try await gateway.authorise(.trackCase, context)
                let body = try await gateway.bodies.object(request)
                let credentials = try credentials(body, trackingNumber: nil)
                var params: JSONObject = ["trackingNumber": .string(credentials.trackingNumber), "accessCode": .string(credentials.accessCode)]
                // Texts in the language the customer reads now; without the header, the one of their contact details.
                if request.headers[.acceptLanguage] != nil {
                    params["locale"] = .string(context.language == .zhCN ? CustomerLocale.zhCN.rawValue : CustomerLocale.en.rawValue)
                }
                let view = try await withAccessCode(credentials, context, gateway) {
                    try await gateway.call(.intake, IntakeTrackCase.name, params, context, idempotent: true)
                }
                return .json(view)
            },
            customerAction(.supplementAsCustomer, "materials", IntakeSupplementMaterials.name, summary: "Hand in the missing materials listed in the notice.") { body, credentials in
                ["customer": credentials, "materials": body["materials"] ?? .array([])]
            },
            customerAction(.objectAsCustomer, "objection", IntakeObject.name, summary: "Object to a decision and ask for a re-check.") { body, credentials in
                ["customer": credentials, "reason": body["reason"] ?? .null]
            },
            customerAction(.withdrawAsCustomer, "withdrawal", IntakeWithdraw.name, summary: "Withdraw the application before a decision.") { body, credentials in
                var params: JSONObject = ["customer": credentials]
                if let reason = body["reason"] { params["reason"] = reason }
                return params
            },
            RouteSpec(method: .post, path: "/v1/public/cases/{trackingNumber}/rating", action: .rateCase, tag: "customers",
                      summary: "Rate the handling of a finished case (1–5); a low score opens a follow-up complaint.",
                      body: .object(required: true), successStatus: .created,
                      bodySchema: ["type": "object", "required": ["accessCode", "score"], "properties": [
                          "accessCode": ["type": "string", "minLength": 1, "maxLength": 40],
                          "score": ["type": "integer", "minimum": 1, "maximum": 5],
                          "comment": ["type": "string", "maxLength": 2000],
                      ]]) { request, context, gateway in
                try await gateway.authorise(.rateCase, context)
                var body = try await gateway.bodies.object(request)
                let credentials = try credentials(body, trackingNumber: context.parameters.get("trackingNumber"))
                // The access code is checked here, and the case's department and service type
                // come from intake, not from the customer.
                let view = try await withAccessCode(credentials, context, gateway) {
                    try await gateway.call(.intake, IntakeTrackCase.name, ["trackingNumber": .string(credentials.trackingNumber), "accessCode": .string(credentials.accessCode)], context, idempotent: true)
                }
                _ = body.removeValue(forKey: "_meta")
                _ = body.removeValue(forKey: "accessCode")
                body["trackingNumber"] = .string(credentials.trackingNumber)
                if let department = view["department"], !department.isNull { body["department"] = department }
                if let serviceType = view["serviceType"], !serviceType.isNull { body["serviceType"] = serviceType }
                let result = try await gateway.call(.complaints, ComplaintsRate.name, body, context)
                return .json(result, status: .created)
            },
            RouteSpec(method: .post, path: "/v1/public/complaints", action: .fileComplaintAsCustomer, tag: "customers",
                      summary: "File a complaint (optionally about a case); the answer holds the complaint number.",
                      body: .object(required: true), successStatus: .created) { request, context, gateway in
                try await gateway.authorise(.fileComplaintAsCustomer, context)
                // What routing knows about the case is for the complaints service to find out,
                // not for the complainant to claim.
                return try await fileAsOnlineCustomer(request, context, gateway, to: .complaints, ComplaintsFile.name,
                                                      removing: ["caseOverdue", "department", "caseHandlerId"])
            },
        ]
    }

    /// A customer's own filing (an online application or complaint): the body as sent, without
    /// `_meta` and the fields only staff may set, on the online channel whatever the body says,
    /// and with no actor, so no staff member is recorded as its author.
    static func fileAsOnlineCustomer(
        _ request: Request, _ context: GatewayRequestContext, _ gateway: Gateway,
        to service: OneStopService, _ method: String, removing staffOnly: [String] = []
    ) async throws -> Response {
        var params = try await gateway.bodies.object(request)
        for field in ["_meta"] + staffOnly { _ = params.removeValue(forKey: field) }
        params["channel"] = .string(IntakeChannel.online.rawValue)
        var anonymous = context
        anonymous.caller = .anonymous
        return .json(try await gateway.call(service, method, params, anonymous), status: .created)
    }

    /// `POST /v1/public/cases/{trackingNumber}/<name>` with the access code in the body.
    static func customerAction(
        _ action: GatewayAction, _ name: String, _ method: String, summary: String,
        params: @escaping @Sendable (JSONObject, JSON) throws -> JSONObject
    ) -> RouteSpec {
        var spec = RouteSpec(method: .post, path: "/v1/public/cases/{trackingNumber}/\(name)", action: action, tag: "customers",
                  summary: summary + " The access code goes in the body.", body: .object(required: true),
                  bodySchema: credentialsSchema(trackingNumberInBody: false)) { request, context, gateway in
            try await gateway.authorise(action, context)
            let body = try await gateway.bodies.object(request)
            let credentials = try credentials(body, trackingNumber: context.parameters.get("trackingNumber"))
            let rpcParams = try params(body, ["trackingNumber": .string(credentials.trackingNumber), "accessCode": .string(credentials.accessCode)])
            let result = try await withAccessCode(credentials, context, gateway) {
                try await gateway.call(.intake, method, rpcParams, context)
            }
            return .json(result)
        }
        spec.forwardsTo = (.intake, method)
        return spec
    }

    static func credentialsSchema(trackingNumberInBody: Bool) -> JSON {
        var properties: JSONObject = ["accessCode": ["type": "string", "minLength": 1, "maxLength": 40]]
        if trackingNumberInBody { properties["trackingNumber"] = ["type": "string", "minLength": 1, "maxLength": 40] }
        return ["type": "object", "required": .array((trackingNumberInBody ? ["trackingNumber", "accessCode"] : ["accessCode"]).map { .string($0) }),
                "properties": .object(properties)]
    }

    static func credentials(_ body: JSONObject, trackingNumber: String?) throws -> CustomerCredentials {
        var problems: [LocalizedText] = []
        let number = trackingNumber ?? body["trackingNumber"]?.stringValue
        let code = body["accessCode"]?.stringValue
        if number == nil || number!.isEmpty || number!.count > 40 {
            problems.append(LocalizedText("trackingNumber: the tracking number from the receipt", zh: "trackingNumber：回执上的受理编号"))
        }
        if code == nil || code!.isEmpty || code!.count > 40 { problems.append(LocalizedText("accessCode: the access code from the receipt", zh: "accessCode：回执上的查询码")) }
        guard problems.isEmpty, let number, let code else { throw Problem.invalid("a tracking number and access code are needed", zh: "需要受理编号和查询码", problems: problems) }
        return CustomerCredentials(trackingNumber: number.uppercased(), accessCode: code)
    }

    /// Runs `body` unless the number is locked; a not-found answer counts as a failed attempt and
    /// is replaced by one fixed answer, so nothing tells a wrong code from an unknown number.
    static func withAccessCode(_ credentials: CustomerCredentials, _ context: GatewayRequestContext, _ gateway: Gateway, _ body: () async throws -> JSON) async throws -> JSON {
        if let lockedUntil = try await gateway.identities.accessCodeLock(trackingNumber: credentials.trackingNumber) {
            throw Problem.tooManyRequests("too many wrong access codes for this tracking number; try again later", zh: "此受理编号的查询码错误次数过多，请稍后再试",
                                          retryAfterSeconds: Int(lockedUntil.timeIntervalSinceNow.rounded(.up)))
        }
        do {
            let result = try await body()
            try await gateway.identities.clearAccessCodeFailures(trackingNumber: credentials.trackingNumber)
            return result
        } catch let problem as Problem where problem.status == .notFound || problem.status == .unauthorized || problem.status == .forbidden {
            try await gateway.identities.recordAccessCodeFailure(trackingNumber: credentials.trackingNumber)
            throw Problem.notFound("no case matches this tracking number and access code", zh: "没有与此受理编号和查询码相符的办件")
        }
    }
}
