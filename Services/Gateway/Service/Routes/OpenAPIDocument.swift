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
                    Every response carries `X-Request-Id`. `Accept-Language: zh-CN` gives Chinese texts.
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
        }).joined(separator: "_")
        var operation: JSONObject = [
            "operationId": .string(operationID),
            "tags": [.string(route.tag)],
            "summary": .string(route.summary),
            "description": .string(permissionText(route.action) + (route.forwardsTo.map { " Served by `\($0.method)` of the \($0.service.rawValue) service." } ?? "")),
            "parameters": .array(parameters),
            "responses": .object(responses(route)),
        ]
        if case .object(let required) = route.body {
            operation["requestBody"] = [
                "required": .bool(required),
                "content": ["application/json": ["schema": route.bodySchema ?? ["type": "object"]]],
            ]
        }
        operation["security"] = route.action.audience == .anyone ? [] : [["session": []], ["token": []]]
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

    static let components: JSON = [
        "securitySchemes": [
            "session": ["type": "apiKey", "in": "cookie", "name": "onestop_session"],
            "token": ["type": "http", "scheme": "bearer"],
        ],
        "schemas": [
            "Problem": [
                "type": "object",
                "required": ["type", "title", "status", "detail", "kind", "requestId"],
                "properties": [
                    "type": ["type": "string"],
                    "title": ["type": "string"],
                    "status": ["type": "integer"],
                    "detail": ["type": "string"],
                    "kind": ["type": "string"],
                    "instance": ["type": "string"],
                    "requestId": ["type": "string"],
                    "problems": ["type": "array", "items": ["type": "string"]],
                    "service": ["type": "string"],
                ],
            ],
        ],
    ]
}
