import Contracts
import Hummingbird
import JSONCoding
import LineProtocol
import NIOCore

/// An RFC 9457 problem: what went wrong, for people (`title`, `detail`) and for code (`kind`,
/// the same vocabulary as the line protocol's `error.data.kind`).
///
/// The detail and the list of problems are held in both languages of the hall; `response` writes
/// the one the client asked for with `Accept-Language`. English is what logs and the access audit
/// keep.
struct Problem: Error, Sendable {
    var status: HTTPResponse.Status
    var kind: String
    var detail: LocalizedText
    /// One line per bad field of an `invalid_params` problem, written as `problems`.
    var problems: [LocalizedText] = []
    var extra: JSONObject = [:]
    var headers: HTTPFields = [:]

    static func invalid(_ detail: String, zh: String, problems: [LocalizedText] = []) -> Problem {
        var problem = Problem(status: .badRequest, kind: "invalid_params", detail: detail, zh: zh)
        problem.problems = problems
        return problem
    }
    static func unauthenticated(_ detail: String, zh: String) -> Problem { unauthenticated(LocalizedText(zhCN: zh, en: detail)) }
    static func unauthenticated(_ detail: LocalizedText) -> Problem { Problem(status: .unauthorized, kind: "unauthenticated", detail: detail) }
    static func forbidden(_ detail: String, zh: String) -> Problem { Problem(status: .forbidden, kind: "forbidden", detail: detail, zh: zh) }
    static func notFound(_ detail: String, zh: String) -> Problem { Problem(status: .notFound, kind: "not_found", detail: detail, zh: zh) }
    static func conflict(_ detail: String, zh: String) -> Problem { Problem(status: .conflict, kind: "conflict", detail: detail, zh: zh) }

    static func tooManyRequests(_ detail: String, zh: String, retryAfterSeconds: Int) -> Problem {
        var problem = Problem(status: .tooManyRequests, kind: "overloaded", detail: detail, zh: zh)
        problem.headers[.retryAfter] = String(max(1, retryAfterSeconds))
        problem.extra["retryAfterSeconds"] = .integer(Int64(max(1, retryAfterSeconds)))
        return problem
    }

    /// A service's error as the HTTP client sees it. `service` names who answered, so a 503 says
    /// what is unavailable. The Chinese detail is the service's `error.data.texts["zh-CN"]`, or
    /// its English message when it sent none (an older deployed version, an internal fault); the
    /// same for its problems (`error.data.problemTexts["zh-CN"]`, else `error.data.problems`).
    init(_ error: RPCError, service: String) {
        let kind = error.kind ?? .internal
        let message = LocalizedText(zhCN: error.message(in: RPCError.chinese), en: error.message)
        self.kind = kind.rawValue
        self.detail = message
        switch kind {
        case .invalidParams: status = .badRequest
        case .notFound: status = .notFound
        case .conflict, .invalidState: status = .conflict
        case .unauthenticated: status = .unauthorized
        case .forbidden: status = .forbidden
        case .overloaded, .unavailable: status = .serviceUnavailable
        case .deadlineExceeded: status = .gatewayTimeout
        case .internal: status = .internalServerError
        }
        // `texts` and `problemTexts` are the detail and the problems in other languages: not
        // extension members. The problems are written in the client's language.
        var notExtensions: Set = ["kind", "retryable", RPCError.textsKey, RPCError.problemTextsKey]
        if let english = error.problems {
            let chinese = error.problems(in: RPCError.chinese) ?? english
            problems = zip(english, chinese).map { LocalizedText(zhCN: $1, en: $0) }
            notExtensions.insert(RPCError.problemsKey)
        }
        if case .object(let data)? = error.data {
            for (key, value) in data where !notExtensions.contains(key) { extra[key] = value }
        }
        if error.code == -32601 {
            // Services deploy independently: this one is older than the gateway.
            status = .notImplemented
            self.kind = "not_implemented"
            detail = LocalizedText(
                zhCN: "\(service) 服务尚未提供此功能（其部署版本比网关旧）：\(message.zhCN)",
                en: "the \(service) service does not offer this yet (its deployed version is older than the gateway's): \(message.en)"
            )
        }
        if kind == .unavailable || kind == .overloaded || kind == .deadlineExceeded {
            extra["service"] = .string(service)
            detail = LocalizedText(zhCN: "\(service) 服务暂不可用：\(message.zhCN)", en: "the \(service) service is unavailable: \(message.en)")
            if kind != .deadlineExceeded { headers[.retryAfter] = "5" }
        }
    }

    init(status: HTTPResponse.Status, kind: String, detail: String, zh: String, extra: JSONObject = [:], headers: HTTPFields = [:]) {
        self.init(status: status, kind: kind, detail: LocalizedText(zhCN: zh, en: detail), extra: extra, headers: headers)
    }

    init(status: HTTPResponse.Status, kind: String, detail: LocalizedText, extra: JSONObject = [:], headers: HTTPFields = [:]) {
        self.status = status
        self.kind = kind
        self.detail = detail
        self.extra = extra
        self.headers = headers
    }

    func response(requestID: String, path: String, language: Language) -> Response {
        var body: JSONObject = [
            "type": .string("https://onestop.example/problems/\(kind)"),
            "title": .string(Self.title(kind, language)),
            "status": .integer(Int64(status.code)),
            "detail": .string(detail.text(in: language)),
            "kind": .string(kind),
            "instance": .string(path),
            "requestId": .string(requestID),
        ]
        if !problems.isEmpty { body["problems"] = .array(problems.map { .string($0.text(in: language)) }) }
        for (key, value) in extra { body[key] = value }
        var headers = self.headers
        headers[.contentType] = "application/problem+json"
        headers[.contentLanguage] = language.rawValue
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: JSON.object(body).jsonString)))
    }

    static func title(_ kind: String, _ language: Language) -> String {
        switch (kind, language) {
        case ("invalid_params", .en): "The request is not valid"
        case ("invalid_params", .zhCN): "请求内容不正确"
        case ("not_found", .en): "Not found"
        case ("not_found", .zhCN): "未找到"
        case ("conflict", .en), ("invalid_state", .en): "The request conflicts with the current state"
        case ("conflict", .zhCN), ("invalid_state", .zhCN): "请求与当前状态冲突"
        case ("unauthenticated", .en): "Login required"
        case ("unauthenticated", .zhCN): "需要登录"
        case ("forbidden", .en): "Not permitted"
        case ("forbidden", .zhCN): "无权操作"
        case ("overloaded", .en): "Too many requests"
        case ("overloaded", .zhCN): "请求过于频繁"
        case ("unavailable", .en): "A service is unavailable"
        case ("unavailable", .zhCN): "服务暂不可用"
        case ("deadline_exceeded", .en): "A service did not answer in time"
        case ("deadline_exceeded", .zhCN): "服务响应超时"
        case ("payload_too_large", .en): "The request body is too large"
        case ("payload_too_large", .zhCN): "请求内容过大"
        case ("unsupported_media_type", .en): "Only JSON is accepted"
        case ("unsupported_media_type", .zhCN): "仅接受 JSON"
        case (_, .en): "The request failed"
        case (_, .zhCN): "请求失败"
        }
    }
}

extension LocalizedText {
    /// A text of the gateway's, English first as in `Problem.invalid(_:zh:)`.
    init(_ en: String, zh: String) {
        self.init(zhCN: zh, en: en)
    }

    /// The text in the language the client asked for.
    func text(in language: Language) -> String {
        switch language {
        case .zhCN: zhCN
        case .en: en
        }
    }
}
