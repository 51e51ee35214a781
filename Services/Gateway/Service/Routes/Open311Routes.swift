import Contracts
import HTTPTypes
import Hummingbird
import JSONCoding
import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2), so civic apps and their client
/// libraries can apply to the hall unchanged: discovery, the service list and definitions (from
/// the catalog), POST requests, tokens and GET requests, each in JSON and XML.
///
/// One deviation: GET requests and tokens need the api_key too, and a key sees only the requests
/// it submitted. GeoReport v2 was made for public street reports; applications to the hall are
/// personal, so their status is not published. No answer carries personal data.
enum Open311Routes {
    static let base = "/open311/v2"
    static let specification = "http://wiki.open311.org/GeoReport_v2"
    /// When this endpoint's behaviour last changed (discovery's `changeset`).
    static let changeset = "2025-11-23T00:00:00Z"
    /// GeoReport v2: GET requests answers at most 1000 requests, by default of the last 90 days.
    static let maxRequests = 1000
    static let defaultWindow: TimeInterval = 90 * 86_400

    static var routes: [RouteSpec] {
        Open311Format.allCases.flatMap { format in
            [discovery(format), services(format), serviceDefinition(format), submit(format), requests(format), request(format), token(format)]
        }
    }

    static let jurisdiction = RouteSpec.QueryParameter("jurisdiction_id", .string, "Accepted and ignored: this endpoint serves one hall.")
    static let locale = RouteSpec.QueryParameter("locale", .string, "zh-CN or en; overrides Accept-Language.")
    static let apiKey = RouteSpec.QueryParameter("api_key", .string, "An API token with the scope open311 (or send it as Authorization: Bearer).")

    static func route(
        _ method: HTTPRequest.Method, _ name: String, _ format: Open311Format, _ action: GatewayAction, summary: String,
        query: [RouteSpec.QueryParameter] = [], body: RouteSpec.Body = .none, handler: @escaping RouteSpec.Handler
    ) -> RouteSpec {
        var spec = RouteSpec(method: method, path: "\(base)/\(name).\(format.rawValue)", action: action, tag: "open311",
                             summary: summary + " (GeoReport v2, \(format.rawValue.uppercased()))", query: query, body: body, handler: handler)
        spec.open311 = format
        return spec
    }

    // MARK: Discovery and services

    static func discovery(_ format: Open311Format) -> RouteSpec {
        route(.get, "discovery", format, .readCatalog, summary: "Open311 discovery: this endpoint, its specification and formats.") { request, context, gateway in
            try await gateway.authorise(.readCatalog, context)
            let endpoint: JSON = [
                "specification": .string(specification), "url": .string(baseURL(request)), "changeset": .string(changeset),
                "type": "production", "formats": ["application/json", "text/xml"],
            ]
            let document: JSON = [
                "changeset": .string(changeset),
                "contact": "The service hall's help desk (一站式服务大厅咨询台)",
                "key_service": "Ask the service hall for an API token with the scope open311; send it as api_key.",
                "endpoints": [endpoint],
            ]
            return format.response(document, root: "discovery")
        }
    }

    static func services(_ format: Open311Format) -> RouteSpec {
        var spec = route(.get, "services", format, .readCatalog, summary: "The services that can be applied for online, from the catalog.",
                         query: [jurisdiction, locale]) { request, context, gateway in
            try await gateway.authorise(.readCatalog, context)
            let locale = customerLocale(request, context)
            let list = try await onlineCatalog(context, gateway).map { service($0, locale) }
            return format.response(.array(list), root: "services")
        }
        spec.forwardsTo = (.intake, IntakeListCatalog.name)
        return spec
    }

    static func serviceDefinition(_ format: Open311Format) -> RouteSpec {
        var spec = route(.get, "services/{serviceCode}", format, .readCatalog,
                         summary: "A service definition: the attributes an application needs (applicant, identity, contact, materials).",
                         query: [jurisdiction, locale]) { request, context, gateway in
            try await gateway.authorise(.readCatalog, context)
            let code = context.parameters.get("serviceCode") ?? ""
            guard let type = try await onlineCatalog(context, gateway).first(where: { $0.code == code }) else {
                throw Problem.notFound("no service \(code.prefix(64)) can be applied for online; services.\(format.rawValue) lists them", zh: "没有可网上申请的事项 \(code.prefix(64))；services.\(format.rawValue) 列出了可申请的事项")
            }
            return format.response(Open311Attributes.definition(type, customerLocale(request, context)), root: "service_definition")
        }
        spec.forwardsTo = (.intake, IntakeListCatalog.name)
        return spec
    }

    static func service(_ type: CatalogServiceType, _ locale: CustomerLocale) -> JSON {
        let materials = type.materials.map { $0.name.text(locale) }
        let description = locale == .en
            ? "Promised within \(type.timeLimitWorkingDays) working days." + (materials.isEmpty ? "" : " Materials: \(materials.joined(separator: ", ")).")
            : "承诺时限 \(type.timeLimitWorkingDays) 个工作日。" + (materials.isEmpty ? "" : "所需材料：\(materials.joined(separator: "、"))。")
        return [
            "service_code": .string(type.code),
            "service_name": .string(type.name.text(locale)),
            "description": .string(description),
            "metadata": true,
            "type": "batch",
            "keywords": .string([type.name.zhCN, type.name.en, type.code].joined(separator: ",")),
            "group": .string(type.department),
        ]
    }

    // MARK: POST requests

    static func submit(_ format: Open311Format) -> RouteSpec {
        var spec = route(.post, "requests", format, .open311Submit,
                         summary: "Apply for a service (api_key required): the fields and attribute[code] of the service definition become an online application; a retried identical POST returns the first answer.",
                         query: [jurisdiction, locale], body: .form) { request, context, gateway in
            let fields = try await formFields(request, gateway)
            let context = try await withAPIKey(fields["api_key"], context, gateway)
            try await gateway.authorise(.open311Submit, context)
            guard case .token(let apiTokenID, _) = context.caller.credential else {
                throw Problem.unauthenticated("api_key is required", zh: "需要 api_key")
            }
            let locale = customerLocale(request, context)
            guard let code = fields["service_code"] else {
                throw Problem.invalid("service_code is required; services.\(format.rawValue) lists the services", zh: "service_code 为必填；services.\(format.rawValue) 列出了可申请的事项")
            }
            guard let type = try await onlineCatalog(context, gateway).first(where: { $0.code == code }) else {
                throw Problem.invalid("service_code \(code.prefix(64)) is not a service that can be applied for online; services.\(format.rawValue) lists them", zh: "service_code \(code.prefix(64)) 不是可网上申请的事项；services.\(format.rawValue) 列出了可申请的事项")
            }
            // The same key and the same fields are the same application: a retry after a lost
            // answer finds the first case instead of registering a second.
            let idempotencyKey = "open311:" + SecureRandom.sha256Hex(apiTokenID.uuidString + "\n" + fields.canonical(excluding: ["api_key"]))
            let params = try Open311Attributes.registration(fields, type, locale: locale, idempotencyKey: idempotencyKey)
            // Online applications are the customer's own: intake makes the day's duty officer
            // their owner, as for the hall's web form.
            var anonymous = context
            anonymous.caller = .anonymous
            let result = try await gateway.call(.intake, IntakeRegisterCase.self, params, anonymous)
            let token = try await gateway.open311.record(token: SecureRandom.token(), idempotencyKey: idempotencyKey,
                                                         trackingNumber: result.trackingNumber, serviceCode: type.code, apiTokenID: apiTokenID)
            let answer: JSON = [
                "service_request_id": .string(result.trackingNumber),
                "service_notice": .string(Open311Attributes.notice(result, locale)),
                "token": .string(token),
                "account_id": nil,
            ]
            return format.response([answer], root: "service_requests")
        }
        spec.forwardsTo = (.intake, IntakeRegisterCase.name)
        return spec
    }

    /// The POST's fields: the query string (Swagger puts them there), then the body
    /// (`application/x-www-form-urlencoded` or JSON), the body winning.
    static func formFields(_ request: Request, _ gateway: Gateway) async throws -> FormFields {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: gateway.bodies.maxBytes)
        } catch {
            throw Problem(status: .contentTooLarge, kind: "payload_too_large", detail: "the body is larger than \(gateway.bodies.maxBytes) bytes",
                          zh: "请求体超过 \(gateway.bodies.maxBytes) 字节")
        }
        do {
            var fields = try FormFields(urlEncoded: request.uri.query ?? "")
            let type = request.headers[.contentType]?.lowercased() ?? ""
            if buffer.readableBytes == 0 { return fields }
            if type.hasPrefix("application/json") {
                let json: JSON
                do { json = try buffer.withUnsafeReadableBytes { try JSON.parse($0) } } catch { throw Problem.invalid("the body is not valid JSON: \(error)", zh: "请求体不是有效的 JSON：\(error)") }
                guard JSONBodyReader.depth(of: json) <= 3, case .object(let object) = json else {
                    throw Problem.invalid("a JSON body must be a flat object of the request's fields (attribute as an object of codes)", zh: "JSON 请求体须为由请求字段组成的扁平对象（attribute 为以代码为键的对象）")
                }
                fields.merge(try FormFields(json: object))
            } else if type.isEmpty || type.hasPrefix("application/x-www-form-urlencoded") {
                fields.merge(try FormFields(urlEncoded: String(buffer: buffer)))
            } else {
                throw Problem(status: .unsupportedMediaType, kind: "unsupported_media_type",
                              detail: "send the request as application/x-www-form-urlencoded or application/json, not \(type.prefix(60)) (media uploads are not accepted)",
                              zh: "请以 application/x-www-form-urlencoded 或 application/json 发送请求，而不是 \(type.prefix(60))（不接受上传媒体文件）")
            }
            return fields
        } catch let error as FormError {
            throw Problem.invalid(error.message, zh: error.zh)
        }
    }

    /// The caller of an Open311 route: the API token of `Authorization: Bearer`, else `api_key`.
    static func withAPIKey(_ key: String?, _ context: GatewayRequestContext, _ gateway: Gateway) async throws -> GatewayRequestContext {
        guard let key, !key.isEmpty else { return context }
        if case .token = context.caller.credential { return context }
        switch try await gateway.identities.caller(bearer: key) {
        case .valid(let caller):
            var context = context
            context.caller = caller
            return context
        case .invalid(let reason):
            throw Problem.unauthenticated("api_key: \(reason.en)", zh: "api_key：\(reason.zhCN)")
        }
    }

    // MARK: GET requests and tokens

    static func requests(_ format: Open311Format) -> RouteSpec {
        let query: [RouteSpec.QueryParameter] = [
            .init("service_request_id", .string, "Comma-separated service request ids (tracking numbers)."),
            .init("service_code", .string), .init("start_date", .dateTime), .init("end_date", .dateTime),
            .init("status", .string, "open or closed"), jurisdiction, locale, apiKey,
        ]
        var spec = route(.get, "requests", format, .open311Track,
                         summary: "The requests this api_key submitted, filtered (deviation from GeoReport v2: api_key required, applications are personal); no personal data.",
                         query: query) { request, context, gateway in
            let given = request.uri.queryParameters
            let context = try await withAPIKey(given.get("api_key"), context, gateway)
            try await gateway.authorise(.open311Track, context)
            guard case .token(let apiTokenID, _) = context.caller.credential else { throw Problem.unauthenticated("api_key is required", zh: "需要 api_key") }
            var problems: [LocalizedText] = []
            let ids = given.get("service_request_id").map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }.filter { !$0.isEmpty } }
            if let ids, ids.isEmpty || ids.count > maxRequests || ids.contains(where: { $0.count > 40 }) {
                problems.append(LocalizedText("service_request_id: 1 to \(maxRequests) comma-separated ids", zh: "service_request_id：1 至 \(maxRequests) 个以逗号分隔的编号"))
            }
            func date(_ name: String) -> Date? {
                guard let text = given.get(name) else { return nil }
                guard let date = JSONDateFormat.date(from: text) else {
                    problems.append(LocalizedText("\(name): a date and time as in 2026-03-01T00:00:00Z", zh: "\(name)：日期和时间，格式如 2026-03-01T00:00:00Z"))
                    return nil
                }
                return date
            }
            var from = date("start_date")
            let to = date("end_date")
            let status = given.get("status")?.lowercased()
            if let status, status != "open", status != "closed" { problems.append(LocalizedText("status: open or closed", zh: "status：open 或 closed")) }
            guard problems.isEmpty else { throw Problem.invalid("the filters are not valid", zh: "筛选条件无效", problems: problems) }
            if ids == nil, from == nil { from = (to ?? Date()).addingTimeInterval(-defaultWindow) }
            let submissions = try await gateway.open311.submissions(apiTokenID: apiTokenID, trackingNumbers: ids, serviceCode: given.get("service_code"),
                                                                    from: from, to: to, limit: maxRequests)
            let described = try await describe(submissions, customerLocale(request, context), context, gateway)
            return format.response(.array(described.filter { status == nil || $0["status"]?.stringValue == status }), root: "service_requests")
        }
        spec.forwardsTo = (.intake, IntakeFindCases.name)
        return spec
    }

    static func request(_ format: Open311Format) -> RouteSpec {
        var spec = route(.get, "requests/{serviceRequestId}", format, .open311Track,
                         summary: "One request this api_key submitted, by id (the tracking number); api_key required; no personal data.",
                         query: [jurisdiction, locale, apiKey]) { request, context, gateway in
            let context = try await withAPIKey(request.uri.queryParameters.get("api_key"), context, gateway)
            try await gateway.authorise(.open311Track, context)
            guard case .token(let apiTokenID, _) = context.caller.credential else { throw Problem.unauthenticated("api_key is required", zh: "需要 api_key") }
            let id = (context.parameters.get("serviceRequestId") ?? "").uppercased()
            let submissions = id.count <= 40 ? try await gateway.open311.submissions(apiTokenID: apiTokenID, trackingNumbers: [id], serviceCode: nil, from: nil, to: nil, limit: 1) : []
            let described = try await describe(submissions, customerLocale(request, context), context, gateway)
            guard !described.isEmpty else { throw Problem.notFound("no request \(id.prefix(40)) was submitted with this api_key", zh: "此 api_key 没有提交过请求 \(id.prefix(40))") }
            return format.response(.array(described), root: "service_requests")
        }
        spec.forwardsTo = (.intake, IntakeFindCases.name)
        return spec
    }

    static func token(_ format: Open311Format) -> RouteSpec {
        route(.get, "tokens/{token}", format, .open311Track,
              summary: "The service request id a POST's token stands for; api_key required.", query: [jurisdiction, apiKey]) { request, context, gateway in
            let context = try await withAPIKey(request.uri.queryParameters.get("api_key"), context, gateway)
            try await gateway.authorise(.open311Track, context)
            guard case .token(let apiTokenID, _) = context.caller.credential else { throw Problem.unauthenticated("api_key is required", zh: "需要 api_key") }
            let token = context.parameters.get("token") ?? ""
            guard token.count <= 100, let submission = try await gateway.open311.submission(token: token, apiTokenID: apiTokenID) else {
                throw Problem.notFound("no request was submitted with this api_key under that token", zh: "此 api_key 没有以该 token 提交过请求")
            }
            return format.response([["service_request_id": .string(submission.trackingNumber), "token": .string(submission.token)]], root: "service_requests")
        }
    }

    /// GeoReport requests for submissions, with their status from intake. A case intake no
    /// longer lists has been archived, which only happens after it ended: it is reported closed.
    static func describe(_ submissions: [Open311Submission], _ locale: CustomerLocale, _ context: GatewayRequestContext, _ gateway: Gateway) async throws -> [JSON] {
        guard !submissions.isEmpty else { return [] }
        let names = try await gateway.call(.intake, IntakeListCatalog.self, .init(includeInactive: true), context).serviceTypes
        var cases: [String: IntakeFindCases.Summary] = [:]
        let numbers = submissions.map(\.trackingNumber)
        for start in stride(from: 0, to: numbers.count, by: IntakeFindCases.maxTrackingNumbers) {
            let chunk = Array(numbers[start..<min(start + IntakeFindCases.maxTrackingNumbers, numbers.count)])
            let found = try await gateway.call(.intake, IntakeFindCases.self, .init(limit: chunk.count, trackingNumbers: chunk), context)
            for summary in found.cases { cases[summary.trackingNumber] = summary }
        }
        let zone = gateway.settings.timeZone
        return submissions.map { submission in
            let summary = cases[submission.trackingNumber]
            let type = names.first { $0.code == submission.serviceCode }
            var status = "closed"
            var notes = locale == .en ? "archived" : "已归档"
            if let summary {
                status = summary.status.isFinal ? "closed" : "open"
                notes = Open311Attributes.statusText(summary.status, locale)
            }
            let requested = summary?.registeredAt ?? submission.submittedAt
            let expected: JSON = summary?.dueDate.map { .string(endOfDay($0, in: zone)) } ?? .null
            return [
                "service_request_id": .string(submission.trackingNumber),
                "status": .string(status),
                "status_notes": .string(notes),
                "service_name": type.map { JSON.string($0.name.text(locale)) } ?? .null,
                "service_code": .string(submission.serviceCode),
                "description": nil,
                "agency_responsible": .string(summary?.department ?? type?.department ?? "-"),
                "service_notice": nil,
                "requested_datetime": .string(JSONDateFormat.string(from: requested) ?? ""),
                "updated_datetime": nil,
                "expected_datetime": expected,
                "address": nil, "address_id": nil, "zipcode": nil, "lat": nil, "long": nil, "media_url": nil,
            ]
        }
    }

    /// A due day (YYYY-MM-DD) as the end of that day in the hall's time zone.
    static func endOfDay(_ day: String, in zone: TimeZone) -> String {
        let seconds = zone.secondsFromGMT()
        let sign = seconds < 0 ? "-" : "+"
        let offset = abs(seconds)
        return "\(day)T23:59:59\(sign)\(String(format: "%02d:%02d", offset / 3600, offset % 3600 / 60))"
    }

    // MARK: Helpers

    static func onlineCatalog(_ context: GatewayRequestContext, _ gateway: Gateway) async throws -> [CatalogServiceType] {
        try await gateway.call(.intake, IntakeListCatalog.self, .init(includeInactive: false), context).serviceTypes
            .filter { $0.admissibleOnline && $0.active != false }
    }

    /// The language of an Open311 error's description: `locale` when given, as for the answers.
    static func language(_ request: Request, _ context: GatewayRequestContext) -> Language {
        customerLocale(request, context) == .en ? .en : .zhCN
    }

    /// `locale` (zh-CN or en) when given, else `Accept-Language`.
    static func customerLocale(_ request: Request, _ context: GatewayRequestContext) -> CustomerLocale {
        if let locale = request.uri.queryParameters.get("locale")?.lowercased() {
            return locale.hasPrefix("zh") ? .zhCN : .en
        }
        return context.language == .zhCN ? .zhCN : .en
    }

    /// The URL of this endpoint as the client reached it (behind a TLS proxy: X-Forwarded-Proto).
    static func baseURL(_ request: Request) -> String {
        let scheme = request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https" ? "https" : "http"
        let host = request.head.authority ?? "localhost"
        return "\(scheme)://\(host)\(base)"
    }
}
