import Hummingbird
import JSONCoding

/// The OpenAPI 3.1 document of the public API, built from the same route list the router uses,
/// so every documented operation exists and every route is documented. Served at `/openapi.json`.
enum OpenAPIDocument {
    static func make(routes: [RouteSpec]) -> JSON {
        var paths: JSONObject = [:]
        for route in routes {
            var item = paths[route.path]?.objectValue ?? [:]
            item[route.method.rawValue.lowercased()] = .object(operation(route))
            paths[route.path] = .object(item)
        }
        return .object([
            "openapi": "3.1.0",
            "info": .object([
                "title": "OneStop public API",
                "version": "1.0.0",
                "description": .string("""
                    The only door from outside into OneStop, the back office of a one-stop service hall. Staff log in \
                    (session cookie) or integrations use an API token (Bearer); customers have no account and prove a \
                    case with its tracking number and access code. Errors are RFC 9457 problem details with a `kind`. \
                    Every response carries `X-Request-Id`. `Accept-Language` picks zh-CN or en (English otherwise) for \
                    texts, problems' `title`, `detail` and `problems` included; `Content-Language` says which was used.
                    """),
            ]),
            "servers": [["url": "/"]],
            "tags": .array(Array(Set(routes.map(\.tag))).sorted().map { .object(["name": .string($0)]) }),
            "paths": .object(paths),
            "components": components,
        ])
    }

    static func operation(_ route: RouteSpec) -> JSONObject {
        var parameters: [JSON] = route.pathParameters.map { name in
            ["name": .string(name), "in": "path", "required": true, "schema": ["type": "string", "minLength": 1, "maxLength": 200]]
        }
        for query in route.query {
            var schema: JSONObject
            switch query.kind {
            case .string: schema = ["type": "string"]
            case .dateTime: schema = ["type": "string", "format": "date-time"]
            case .integer: schema = ["type": "integer"]
            case .boolean: schema = ["type": "boolean"]
            case .stringList: schema = ["type": "array", "items": ["type": "string"]]
            }
            var parameter: JSONObject = ["name": .string(query.name), "in": "query", "required": false, "schema": .object(schema)]
            if !query.summary.isEmpty { parameter["description"] = .string(query.summary) }
            parameters.append(.object(parameter))
        }
        let operationID = ([route.method.rawValue.lowercased()] + route.path.split(separator: "/").map {
            $0.replacingOccurrences(of: "{", with: "by_").replacingOccurrences(of: "}", with: "").replacingOccurrences(of: "-", with: "_")
                .replacingOccurrences(of: ".", with: "_")
        }).joined(separator: "_")
        var operation: JSONObject = [
            "operationId": .string(operationID),
            "tags": [.string(route.tag)],
            "summary": .string(route.summary),
            "description": .string(permissionText(route.action) + (route.forwardsTo.map { " Served by `\($0.method)` of the \($0.service.rawValue) service." } ?? "")),
            "parameters": .array(parameters),
            "responses": .object(responses(route)),
        ]
        switch route.body {
        case .none: break
        case .object(let required):
            operation["requestBody"] = [
                "required": .bool(required),
                "content": ["application/json": ["schema": route.bodySchema ?? ["type": "object"]]],
            ]
        case .form:
            let form: JSON = ["type": "object", "additionalProperties": ["type": "string"]]
            operation["requestBody"] = [
                "required": true,
                "content": ["application/x-www-form-urlencoded": ["schema": form], "application/json": ["schema": ["type": "object"]]],
            ]
        }
        if route.action.audience == .anyone {
            operation["security"] = []
        } else if route.action.isOpen311 {
            operation["security"] = [["open311Key": []], ["token": []]]
        } else {
            operation["security"] = [["session": []], ["token": []]]
        }
        return operation
    }

    static func permissionText(_ action: GatewayAction) -> String {
        let who: String
        switch action.audience {
        case .anyone: who = "anyone (no login)"
        case .anyStaff: who = "any member of staff"
        case .roles(let roles): who = "roles: " + roles.map(\.rawValue).sorted().joined(separator: ", ")
        }
        return "Action `\(action.rawValue)`; allowed for \(who); API tokens need the scope `\(action.scope.rawValue)`."
    }

    static func responses(_ route: RouteSpec) -> JSONObject {
        if let format = route.open311 { return open311Responses(route, format) }
        var responses: JSONObject = [:]
        let success = String(route.successStatus.code)
        responses[success] = route.successStatus == .noContent
            ? ["description": "done"]
            : ["description": "the result", "content": .object([route.responseType: route.responseType == "application/json" ? ["schema": ["type": "object"]] : ["schema": ["type": "string"]]])]
        let problems: [(Int, String)] = [
            (400, "the request is not valid (the problems are listed)"),
            (401, "a login or API token is needed, or the one given is no longer valid"),
            (403, "not permitted for this caller"),
            (404, "not found"),
            (405, "method not allowed"),
            (409, "conflicts with the current state"),
            (413, "body too large"),
            (415, "not JSON"),
            (429, "rate limit or guessing limit reached; see Retry-After"),
            (503, "a service behind the gateway is unavailable (named in `service`)"),
            (504, "a service did not answer in time"),
        ]
        for (status, description) in problems {
            responses[String(status)] = ["description": .string(description), "content": ["application/problem+json": ["schema": ["$ref": "#/components/schemas/Problem"]]]]
        }
        return responses
    }

    /// Open311 routes answer GeoReport v2 documents, and errors as its `errors` list.
    static func open311Responses(_ route: RouteSpec, _ format: Open311Format) -> JSONObject {
        let type = format == .json ? "application/json" : "text/xml"
        let errors: JSON = format == .json ? ["$ref": "#/components/schemas/Open311Errors"] : ["type": "string"]
        var responses: JSONObject = [
            String(route.successStatus.code): ["description": "the GeoReport v2 document", "content": [.init(type): ["schema": format == .json ? ["type": ["array", "object"]] : ["type": "string"]]]],
        ]
        let problems: [(Int, String)] = [
            (400, "the request is not valid (the description lists the problems)"),
            (401, "api_key is missing, unknown, revoked or expired"),
            (403, "the api_key may not do this"),
            (404, "not found"),
            (429, "rate limit reached; see Retry-After"),
            (503, "a service behind the gateway is unavailable"),
        ]
        for (status, description) in problems {
            responses[String(status)] = ["description": .string(description), "content": [.init(type): ["schema": errors]]]
        }
        return responses
    }

    static let components: JSON = [
        "securitySchemes": [
            "open311Key": ["type": "apiKey", "in": "query", "name": "api_key", "description": "An API token with the scope open311; also accepted as the form field api_key or as Authorization: Bearer."],
            "session": ["type": "apiKey", "in": "cookie", "name": "onestop_session"],
            "token": ["type": "http", "scheme": "bearer"],
        ],
        "schemas": [
            "Open311Errors": [
                "type": "array",
                "items": ["type": "object", "required": ["code", "description"], "properties": ["code": ["type": "integer"], "description": ["type": "string"]]],
            ],
            "Problem": [
                "type": "object",
                "required": ["type", "title", "status", "detail", "kind", "requestId"],
                "properties": [
                    "type": ["type": "string"],
                    "title": ["type": "string"],
                    "status": ["type": "integer"],
                    "detail": ["type": "string", "description": "What went wrong, in the language of Content-Language (Accept-Language: zh-CN or en)."],
                    "kind": ["type": "string"],
                    "instance": ["type": "string"],
                    "requestId": ["type": "string"],
                    "problems": ["type": "array", "items": ["type": "string"],
                                 "description": "invalid_params: one line per bad field, in the language of Content-Language."],
                    "service": ["type": "string"],
                ],
            ],
        ],
    ]
}
