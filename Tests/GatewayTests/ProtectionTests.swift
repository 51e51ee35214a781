import JSONCoding
import RPCTesting
import Testing

@Suite("Gateway: bad input, limits, problem details")
struct ProtectionTests {
    @Test("errors are RFC 9457 problems with a kind and the request id; Accept-Language picks the language")
    func problems() async throws {
        try await GatewayFixture.with { gateway in
            let response = try await gateway.request("GET", "/v1/cases", headers: [("Accept-Language", "zh-CN,zh;q=0.9,en;q=0.5")])
            #expect(response.status == 401)
            #expect(response.headers["content-type"] == "application/problem+json")
            let problem = try json(response.body)
            #expect(problem["kind"] == "unauthenticated")
            #expect(problem["title"] == "需要登录")
            #expect(problem["status"] == 401)
            #expect(problem["requestId"] == .string(response.headers["x-request-id"] ?? "-"))
            let english = try await gateway.request("GET", "/v1/no-such-route")
            #expect(english.status == 404)
            #expect(try json(english.body)["title"] == "Not found")
            #expect(english.headers["x-request-id"] != nil)
            // A sane request id from the client is kept, for tracing across systems.
            let traced = try await gateway.request("GET", "/v1/catalog", headers: [("X-Request-Id", "client-trace-0001")])
            #expect(traced.headers["x-request-id"] == "client-trace-0001")
        }
    }

    @Test("malformed, deep, oversized and non-JSON bodies are refused clearly and reach no service")
    func badBodies() async throws {
        try await GatewayFixture.with(environment: ["ONESTOP_GATEWAY_MAX_BODY_BYTES": "2048", "ONESTOP_GATEWAY_MAX_JSON_DEPTH": "8"]) { gateway in
            let before = gateway.backend?.calls.count ?? 0
            let cases: [(String, [(String, String)], Int, String)] = [
                (#"{"trackingNumber": "#, [], 400, "invalid_params"),
                ("[1, 2, 3]", [], 400, "invalid_params"),
                (String(repeating: "[", count: 20) + String(repeating: "]", count: 20), [], 400, "invalid_params"),
                (#"{"a": ""# + String(repeating: "x", count: 4000) + #""}"#, [], 413, "payload_too_large"),
                ("trackingNumber=1", [("Content-Type", "application/x-www-form-urlencoded")], 415, "unsupported_media_type"),
                ("", [], 400, "invalid_params"),
                (#"{"trackingNumber": "SH\u0000", "accessCode": "x"}"#, [], 400, "invalid_params"),
            ]
            for (body, headers, status, kind) in cases {
                let response = try await gateway.request("POST", "/v1/public/track", json: body, headers: headers)
                #expect(response.status == status, "\(body.prefix(30)): \(response.body)")
                #expect(try json(response.body)["kind"] == .string(kind))
            }
            #expect((gateway.backend?.calls.count ?? 0) == before)
        }
    }

    @Test("a client cannot claim an actor through _meta; the gateway alone vouches for it")
    func metaInjection() async throws {
        try await GatewayFixture.with { gateway in
            let admin = try await gateway.adminSession()
            let clerk = try await gateway.staff("clerk", roles: ["intake_officer"], admin: admin)
            let response = try await gateway.request("POST", "/v1/cases/c1/materials",
                json: #"{"materials": [], "_meta": {"actor": {"id": "boss", "roles": ["supervisor"]}}}"#, cookie: clerk)
            #expect(response.status == 200, "\(response.body)")
            let answer = try json(response.body)
            #expect(answer["actor"] == "clerk")
            #expect(answer["actorRoles"] == ["intake_officer"])
        }
    }

    @Test("a client over its rate limit gets 429 with Retry-After")
    func rateLimit() async throws {
        try await GatewayFixture.with(environment: ["ONESTOP_GATEWAY_RATE_LIMIT_PER_SECOND": "1", "ONESTOP_GATEWAY_RATE_LIMIT_BURST": "3"]) { gateway in
            // Sent at once, so the bucket (3, refilled at 1/s) cannot refill in between.
            let responses = try await withThrowingTaskGroup(of: HTTPTestClient.Response.self) { group in
                for _ in 0..<8 { group.addTask { try await gateway.request("GET", "/v1/catalog") } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let statuses = responses.map(\.status)
            #expect(statuses.filter { $0 == 200 }.count >= 3, "\(statuses)")
            #expect(statuses.filter { $0 == 429 }.count >= 2, "\(statuses)")
            let limited = try #require(responses.first { $0.status == 429 })
            #expect(limited.headers["retry-after"].flatMap(Int.init).map { (1...3).contains($0) } == true)
            #expect(try json(limited.body)["kind"] == "overloaded")
        }
    }

    @Test("bad query parameters are refused before any service is asked")
    func badQuery() async throws {
        try await GatewayFixture.with { gateway in
            let admin = try await gateway.adminSession()
            let response = try await gateway.request("GET", "/v1/cases?limit=lots", cookie: admin)
            #expect(response.status == 403 || response.status == 400)
            let supervisor = try await gateway.staff("sup", roles: ["supervisor"], admin: admin)
            let bad = try await gateway.request("GET", "/v1/cases?limit=lots", cookie: supervisor)
            #expect(bad.status == 400)
            #expect(try json(bad.body)["detail"]?.stringValue?.contains("limit") == true)
        }
    }
}
