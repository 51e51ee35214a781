import JSONCoding
import RPCTesting
import Testing

@Suite("Gateway: customers without accounts")
struct CustomerAccessTests {
    @Test("a wrong code and an unknown number get the same answer; guessing locks the number")
    func lockout() async throws {
        try await GatewayFixture.with(environment: ["ONESTOP_GATEWAY_ACCESS_CODE_MAX_FAILURES": "3"]) { gateway in
            let wrong = try await gateway.request("POST", "/v1/public/track", json: #"{"trackingNumber": "SH2026A", "accessCode": "guess-1"}"#)
            let unknown = try await gateway.request("POST", "/v1/public/track", json: #"{"trackingNumber": "NO-SUCH", "accessCode": "guess-1"}"#)
            #expect(wrong.status == 404)
            #expect(unknown.status == 404)
            #expect(try json(wrong.body)["detail"] == json(unknown.body)["detail"])
            #expect(try json(wrong.body)["title"] == json(unknown.body)["title"])

            let right = try await gateway.request("POST", "/v1/public/track", json: #"{"trackingNumber": "SH2026B", "accessCode": "\#(StubBackend.rightCode)"}"#)
            #expect(right.status == 200)
            // Intake answers in the language of the case's contact details unless the customer asks for one.
            #expect(try json(right.body)["params"]?["locale"] == nil)
            for (header, locale) in [("zh-CN,zh;q=0.9", "zh-CN"), ("en-GB", "en")] {
                let asked = try await gateway.request("POST", "/v1/public/track", json: #"{"trackingNumber": "SH2026B", "accessCode": "\#(StubBackend.rightCode)"}"#,
                                                      headers: [("Accept-Language", header)])
                #expect(try json(asked.body)["params"]?["locale"] == .string(locale))
            }

            for attempt in 2...3 {
                let response = try await gateway.request("POST", "/v1/public/track", json: #"{"trackingNumber": "SH2026A", "accessCode": "guess-\#(attempt)"}"#)
                #expect(response.status == 404)
            }
            // Locked now: even the right code is refused until the window passes, and other
            // routes that take the code are locked too.
            let locked = try await gateway.request("POST", "/v1/public/track", json: #"{"trackingNumber": "SH2026A", "accessCode": "\#(StubBackend.rightCode)"}"#)
            #expect(locked.status == 429)
            #expect(locked.headers["retry-after"] != nil)
            let supplement = try await gateway.request("POST", "/v1/public/cases/SH2026A/materials", json: #"{"accessCode": "\#(StubBackend.rightCode)", "materials": []}"#)
            #expect(supplement.status == 429)
            // Another number is not affected.
            #expect(try await gateway.request("POST", "/v1/public/track", json: #"{"trackingNumber": "SH2026B", "accessCode": "\#(StubBackend.rightCode)"}"#).status == 200)
        }
    }

    @Test("an online application is registered without an actor and on the online channel, whatever the body says")
    func applyOnline() async throws {
        try await GatewayFixture.with { gateway in
            let response = try await gateway.request("POST", "/v1/public/cases", json: #"{"channel": "counter", "serviceType": "residence_permit", "_meta": {"actor": {"id": "admin", "roles": ["administrator"]}}}"#)
            #expect(response.status == 201, "\(response.body)")
            let answer = try json(response.body)
            #expect(answer["actor"] == .null)
            #expect(answer["params"]?["channel"] == "online")
        }
    }

    @Test("a rating proves the case first and takes its department from intake, not from the customer")
    func rating() async throws {
        try await GatewayFixture.with { gateway in
            let refused = try await gateway.request("POST", "/v1/public/cases/SH1/rating", json: #"{"accessCode": "nope", "score": 5}"#)
            #expect(refused.status == 404)
            let rated = try await gateway.request("POST", "/v1/public/cases/SH1/rating", json: #"{"accessCode": "\#(StubBackend.rightCode)", "score": 2, "department": "made-up"}"#)
            #expect(rated.status == 201, "\(rated.body)")
            let answer = try json(rated.body)
            #expect(answer["method"] == "complaints.rate")
            #expect(answer["params"]?["department"] == "d-test")
            #expect(answer["params"]?["accessCode"] == nil)
        }
    }
}
