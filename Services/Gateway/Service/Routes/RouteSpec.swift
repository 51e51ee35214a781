import Contracts
import Hummingbird
import JSONCoding

/// One route of the public API: where it is, who may use it, how it is documented and what it
/// does. The router, the OpenAPI document and the permission tests are all built from the same
/// list, so they cannot drift apart.
struct RouteSpec: Sendable {
    typealias Handler = @Sendable (Request, GatewayRequestContext, Gateway) async throws -> Response

    enum Body: Sendable, Equatable {
        case none
        case object(required: Bool)
        /// `application/x-www-form-urlencoded` (or a flat JSON object), as Open311 posts.
        case form
    }

    struct QueryParameter: Sendable {
        enum Kind: String, Sendable { case string, integer, boolean, dateTime = "date-time", stringList }
        var name: String
        var kind: Kind
        var summary: String
        init(_ name: String, _ kind: Kind = .string, _ summary: String = "") {
            self.name = name
            self.kind = kind
            self.summary = summary
        }
    }

    var method: HTTPRequest.Method
    /// OpenAPI-style template, e.g. `/v1/cases/{caseId}` (Hummingbird reads the same syntax).
    var path: String
    var action: GatewayAction
    var tag: String
    var summary: String
    var query: [QueryParameter] = []
    var body: Body = .none
    var successStatus: HTTPResponse.Status = .ok
    /// The media type of a successful answer, for the OpenAPI document.
    var responseType = "application/json"
    /// A JSON Schema of the body where the gateway itself reads it (else: any object).
    var bodySchema: JSON? = nil
    /// The service method a forwarding route calls (documentation, and the tests' stub backends).
    var forwardsTo: (service: OneStopService, method: String)? = nil
    /// Set for Open311 routes: the answer and its errors are in GeoReport v2's JSON or XML.
    var open311: Open311Format? = nil
    var handler: Handler

    /// The `{name}` parts of the path, also inside a component (`{serviceCode}.json`).
    var pathParameters: [String] {
        path.split(separator: "/").compactMap { part in
            guard let open = part.firstIndex(of: "{"), let close = part.firstIndex(of: "}"), open < close else { return nil }
            return String(part[part.index(after: open)..<close])
        }
    }

    /// A route that checks the permission, then forwards to one service method: params are the
    /// JSON body with the path parameters and typed query parameters laid over it.
    static func forward(
        _ method: HTTPRequest.Method, _ path: String, _ action: GatewayAction, tag: String, summary: String,
        to service: OneStopService, _ rpcMethod: String, idempotent: Bool = false,
        query: [QueryParameter] = [], body: Body = .none, successStatus: HTTPResponse.Status = .ok,
        department: String? = nil, pathKeys: [String: String] = [:]
    ) -> RouteSpec {
        var spec = RouteSpec(method: method, path: path, action: action, tag: tag, summary: summary, query: query, body: body, successStatus: successStatus) { _, _, _ in
            Response(status: .internalServerError)
        }
        spec.forwardsTo = (service, rpcMethod)
        let pathParameters = spec.pathParameters
        let template = spec
        spec.handler = { request, context, gateway in
            let scope = department.flatMap { context.parameters.get($0) }
            try await gateway.authorise(action, context, department: scope)
            let params = try await template.params(request, context, gateway, pathParameters: pathParameters, pathKeys: pathKeys)
            let result = try await gateway.call(service, rpcMethod, params, context, idempotent: idempotent)
            return .json(result, status: successStatus)
        }
        return spec
    }

    /// The body (when the route takes one), then path and query parameters over it.
    /// `pathKeys` renames a path parameter where the method's field is called differently.
    func params(_ request: Request, _ context: GatewayRequestContext, _ gateway: Gateway, pathParameters: [String]? = nil, pathKeys: [String: String] = [:]) async throws -> JSONObject {
        var params: JSONObject = [:]
        if case .object(let required) = body {
            params = try await gateway.bodies.object(request, required: required)
            // Clients never set protocol metadata: the gateway alone vouches for the actor.
            _ = params.removeValue(forKey: "_meta")
        }
        for name in pathParameters ?? self.pathParameters {
            guard let value = context.parameters.get(name), !value.isEmpty, value.count <= 200, !value.utf8.contains(0) else {
                throw Problem.invalid("the path parameter \(name) is missing or too long", zh: "路径参数 \(name) 缺失或过长")
            }
            params[pathKeys[name] ?? name] = .string(value)
        }
        let given = request.uri.queryParameters
        for parameter in query {
            let values = given.getAll(parameter.name)
            guard let first = values.first else { continue }
            if values.contains(where: { $0.utf8.contains(0) }) { throw Problem.invalid("the query parameter \(parameter.name) may not contain NUL characters", zh: "查询参数 \(parameter.name) 不能包含 NUL 字符") }
            switch parameter.kind {
            case .string, .dateTime:
                params[parameter.name] = .string(first)
            case .integer:
                guard let number = Int64(first) else { throw Problem.invalid("the query parameter \(parameter.name) must be a whole number, not \(first.prefix(40))", zh: "查询参数 \(parameter.name) 须为整数，而不是 \(first.prefix(40))") }
                params[parameter.name] = .integer(number)
            case .boolean:
                guard let flag = Bool(first.lowercased()) else { throw Problem.invalid("the query parameter \(parameter.name) must be true or false", zh: "查询参数 \(parameter.name) 须为 true 或 false") }
                params[parameter.name] = .bool(flag)
            case .stringList:
                params[parameter.name] = .array(values.flatMap { $0.split(separator: ",") }.map { .string(String($0)) })
            }
        }
        return params
    }
}
