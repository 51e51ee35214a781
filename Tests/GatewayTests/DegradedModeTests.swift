import JSONCoding
import RPCTesting
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

@Suite("Gateway: when services are down")
struct DegradedModeTests {
    @Test("registering keeps working with only intake up; what needs a missing service gets a 503 naming it")
    func onlyIntake() async throws {
        try await GatewayFixture.with(backends: .onlyIntake) { gateway in
            let admin = try await gateway.adminSession()
            let officer = try await gateway.staff("officer", roles: ["intake_officer", "reviewer", "complaint_officer"], admin: admin)
            let registered = try await gateway.request("POST", "/v1/cases", json: #"{"channel": "counter", "serviceType": "residence_permit"}"#, cookie: officer)
            #expect(registered.status == 201, "\(registered.body)")
            #expect(try await gateway.request("POST", "/v1/public/cases", json: #"{"serviceType": "residence_permit"}"#).status == 201)

            for (path, service) in [("/v1/review/queue", "review"), ("/v1/complaints", "complaints"), ("/v1/notifications?key=k", "notification")] {
                let started = ContinuousClock.now
                let response = try await gateway.request("GET", path, cookie: officer)
                #expect(response.status == 503, "\(path): \(response.body)")
                let problem = try json(response.body)
                #expect(problem["service"] == .string(service))
                #expect(problem["kind"] == "unavailable")
                #expect(response.headers["retry-after"] != nil)
                #expect(ContinuousClock.now - started < .seconds(4), "a dead service must not hold the client for long")
            }

            // The timeline shows what intake knows and names the sources it could not read.
            let timeline = try await gateway.request("GET", "/v1/cases/c1/timeline", cookie: officer)
            #expect(timeline.status == 200, "\(timeline.body)")
            let view = try json(timeline.body)
            #expect(view["entries"]?[0]?["event"] == "registered")
            let gaps = view["incomplete"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(gaps.count == 3, "\(gaps)")
            #expect(gaps.contains { $0.hasPrefix("review:") } && gaps.contains { $0.hasPrefix("routing:") } && gaps.contains { $0.hasPrefix("complaints:") })
        }
    }
}
