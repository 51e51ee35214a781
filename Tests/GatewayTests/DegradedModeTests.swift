import Contracts
import JSONCoding
import RPCTesting
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

@Suite("Gateway: when services are down")
struct DegradedModeTests {
    /// A stopped service is given up on at the service deadline; these tests time that bound.
    static let shortDeadline = ["ONESTOP_GATEWAY_SERVICE_TIMEOUT_MS": "3000"]

    @Test("registering keeps working with only intake up; what needs a missing service gets a 503 naming it")
    func onlyIntake() async throws {
        try await GatewayFixture.with(environment: Self.shortDeadline, backends: .onlyIntake) { gateway in
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
                // Bounded by the service deadline (3 s here) plus reconnect backoff, even on a loaded machine.
                #expect(ContinuousClock.now - started < .seconds(8), "a dead service must not hold the client for long")
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

    /// A request that needs `service` and nothing else behind the gateway.
    static let needs: [(service: OneStopService, method: String, path: String)] = [
        (.intake, "GET", "/v1/cases?limit=5"),
        (.review, "GET", "/v1/review/queue"),
        (.routing, "GET", "/v1/departments/civil-affairs/queue"),
        (.notification, "GET", "/v1/notifications?key=k"),
        (.complaints, "GET", "/v1/complaints"),
    ]

    @Test("with one service stopped, only what needs it fails, with a 503 naming it", arguments: OneStopService.allCases.filter { $0 != .gateway })
    func oneServiceDown(_ down: OneStopService) async throws {
        try await GatewayFixture.with(environment: Self.shortDeadline, backends: .allBut(down)) { gateway in
            // Logins live in the gateway's own database: they work whatever is down.
            let admin = try await gateway.adminSession()
            let staff = try await gateway.staff("all-desks", roles: ["intake_officer", "reviewer", "complaint_officer", "supervisor", "administrator"], admin: admin)

            let registered = try await gateway.request("POST", "/v1/cases", json: #"{"channel": "counter", "serviceType": "residence_permit"}"#, cookie: staff)
            if down == .intake {
                #expect(registered.status == 503, "\(registered.body)")
                #expect(try json(registered.body)["service"] == "intake")
                // The customer's own door answers the same way, without telling more.
                let tracked = try await gateway.request("POST", "/v1/public/track", json: #"{"trackingNumber": "20260301-000001-X", "accessCode": "RIGHT-CODE"}"#)
                #expect(tracked.status == 503, "\(tracked.body)")
            } else {
                #expect(registered.status == 201, "registering must not need \(down.rawValue): \(registered.body)")
            }

            for need in Self.needs {
                let response = try await gateway.request(need.method, need.path, cookie: staff)
                if need.service == down {
                    #expect(response.status == 503, "\(need.path): \(response.body)")
                    let problem = try json(response.body)
                    #expect(problem["service"] == .string(down.rawValue))
                    #expect(problem["kind"] == "unavailable")
                    #expect(response.headers["retry-after"] != nil)
                } else {
                    #expect(response.status == 200, "\(need.path) must not need \(down.rawValue): \(response.body)")
                }
            }
        }
    }

    @Test("KPIs show what the running services know, name the rest, and come as CSV too")
    func kpis() async throws {
        try await GatewayFixture.with(environment: Self.shortDeadline, backends: .onlyIntake) { gateway in
            let admin = try await gateway.adminSession()
            let supervisor = try await gateway.staff("sup", roles: ["supervisor"], admin: admin)
            let response = try await gateway.request("GET", "/v1/kpis?from=2026-11-01T00:00:00Z&before=2026-12-01T00:00:00Z", cookie: supervisor)
            #expect(response.status == 200, "\(response.body)")
            let kpis = try json(response.body)
            #expect(kpis["intake"]?["firstTimeCompleteRate"] == 0.5)
            #expect(kpis["intake"]?["acceptanceRate"] == 1.0)
            #expect(kpis["incomplete"]?.arrayValue?.count == 3)

            let csv = try await gateway.request("GET", "/v1/kpis.csv", cookie: supervisor)
            #expect(csv.status == 200)
            #expect(csv.headers["content-type"]?.hasPrefix("text/csv") == true)
            let lines = csv.body.split(separator: "\n").map(String.init)
            #expect(lines.first == "section,metric,key,value")
            #expect(lines.contains("intake,firstTimeCompleteRate,,0.5"), "\(lines)")
            #expect(lines.contains("intake,byChannel.count,counter,3"), "\(lines)")

            #expect(try await gateway.request("GET", "/v1/kpis?from=yesterday", cookie: supervisor).status == 400)
            #expect(try await gateway.request("GET", "/v1/kpis", cookie: try await gateway.staff("clerk", roles: ["intake_officer"], admin: admin)).status == 403)
        }
    }

    @Test("the complaint rate in the KPIs is complaints' own figure, overall and per service type")
    func kpiComplaintRateComesFromComplaints() async throws {
        try await GatewayFixture.with { gateway in
            let admin = try await gateway.adminSession()
            let supervisor = try await gateway.staff("sup", roles: ["supervisor"], admin: admin)
            let response = try await gateway.request("GET", "/v1/kpis?from=2026-11-01T00:00:00Z&before=2026-12-01T00:00:00Z&department=civil-affairs", cookie: supervisor)
            #expect(response.status == 200, "\(response.body)")
            let kpis = try json(response.body)
            // Not 3 complaints over intake's 4 cases (750): complaints asked intake itself.
            #expect(kpis["complaints"]?["ratePer1000Cases"] == 3.8)
            #expect(kpis["complaints"]?["rateUnavailableReason"] == .null)
            #expect(kpis["complaints"]?["rateByServiceType"]?[0]?["per1000Cases"] == 2.5)
            #expect(kpis["complaints"]?["byServiceType"]?[1]?["key"] == "none")
            #expect(kpis["satisfaction"]?["byServiceType"]?[0]?["key"] == "residence_permit")
            let gaps = kpis["incomplete"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(!gaps.contains { $0.hasPrefix("complaints") }, "\(gaps)")
            #expect(gateway.backend?.calls.filter { $0.method == ComplaintsStats.name }.count == 1)

            let csv = try await gateway.request("GET", "/v1/kpis.csv", cookie: supervisor)
            let lines = csv.body.split(separator: "\n").map(String.init)
            #expect(lines.contains("complaints,ratePer1000Cases,,3.8"), "\(lines)")
            #expect(lines.contains("complaints,rateByServiceType.per1000Cases,residence_permit,2.5"), "\(lines)")
        }
    }
}
