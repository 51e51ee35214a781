import Contracts
@testable import GatewayService
import JSONCoding
import RPCTesting
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

@Suite("Gateway: the permission matrix")
struct PermissionMatrixTests {
    /// Every route, called by every role: allowed routes reach the service (or fail validation),
    /// forbidden ones are answered 403 (401 without a login) and never reach a service.
    /// nil is a caller without a login.
    @Test("every role × every route is allowed or refused as the matrix says", arguments: [nil] + StaffRole.allCases.map(Optional.some))
    func matrix(_ role: StaffRole?) async throws {
        try await GatewayFixture.with { gateway in
            let admin = try await gateway.adminSession()
            var cookie: String?
            var caller = Caller.anonymous
            if let staffRole = role {
                cookie = staffRole == .administrator ? admin : try await gateway.staff("u-\(staffRole.rawValue.replacingOccurrences(of: "_", with: "-"))", roles: [staffRole.rawValue], admin: admin)
                caller = Caller(credential: .session(UUID()), id: "x", roles: [staffRole], department: nil)
            }
            var mismatches: [String] = []
            for route in GatewayService.routes where route.action != .login && route.path != "/v1/auth/logout" {
                let path = route.path
                    .replacingOccurrences(of: "{trackingNumber}", with: "X2026")
                    .replacingOccurrences(of: "{userId}", with: "nobody")
                    .replacingOccurrences(of: "{sessionId}", with: "00000000-0000-0000-0000-000000000000")
                    .replacingOccurrences(of: "{tokenId}", with: "00000000-0000-0000-0000-000000000000")
                    .replacing(/\{[a-zA-Z]+\}/, with: "p1")
                let body = route.body == .none ? nil : #"{"accessCode": "\#(StubBackend.rightCode)"}"#
                let before = gateway.backend?.calls.count ?? 0
                let response = try await gateway.request(route.method.rawValue, path, json: body, cookie: cookie)
                let reached = (gateway.backend?.calls.count ?? 0) > before
                let expectedDenied = route.action.denial(for: caller) != nil
                let denied = response.status == 401 || response.status == 403
                if denied != expectedDenied || (denied && reached) || response.status >= 500 {
                    mismatches.append("\(route.method.rawValue) \(route.path) as \(role?.rawValue ?? "anonymous"): \(response.status) \(response.body.prefix(160))")
                }
            }
            #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
        }
    }

    /// The matrix written out for the cases people ask about, so a change to it is deliberate.
    @Test("the matrix in plain words")
    func spotChecks() {
        func may(_ role: StaffRole, _ action: GatewayAction) -> Bool {
            action.denial(for: Caller(credential: .session(UUID()), id: "x", roles: [role], department: nil)) == nil
        }
        #expect(may(.intakeOfficer, .registerCase))
        #expect(!may(.reviewer, .registerCase))
        #expect(may(.reviewer, .decideReview))
        #expect(!may(.intakeOfficer, .decideReview))
        #expect(!may(.administrator, .decideReview), "administrators keep the system, they do not decide cases")
        #expect(may(.handler, .processCase))
        #expect(!may(.reviewer, .processCase))
        #expect(may(.complaintOfficer, .handleComplaint))
        #expect(!may(.handler, .handleComplaint))
        #expect(may(.supervisor, .approveArchiveAccess))
        #expect(!may(.administrator, .approveArchiveAccess))
        #expect(may(.administrator, .manageUsers))
        #expect(!may(.supervisor, .manageUsers))
        #expect(may(.supervisor, .readKPIs))
        #expect(Caller.anonymous.isAuthenticated == false)
        #expect(GatewayAction.findCases.denial(for: .anonymous)?.status == .unauthorized)
    }

    @Test("a handler sees only their own department's queue, and every denial is audited")
    func departmentScope() async throws {
        try await GatewayFixture.with { gateway in
            let admin = try await gateway.adminSession()
            let handler = try await gateway.staff("h-wang", roles: ["handler"], department: "civil-affairs", admin: admin)
            #expect(try await gateway.request("GET", "/v1/departments/civil-affairs/queue", cookie: handler).status == 200)
            let other = try await gateway.request("GET", "/v1/departments/tax/queue", cookie: handler)
            #expect(other.status == 403)
            let audit = try json(try await gateway.request("GET", "/v1/audit", cookie: admin).body)
            let entries = try #require(audit["entries"]?.arrayValue)
            #expect(entries.contains { $0["principal"] == "h-wang" && $0["action"] == "readDepartmentQueue" && $0["outcome"] == "denied" })
            #expect(entries.first { $0["principal"] == "h-wang" }?["requestId"] == .string(other.headers["x-request-id"] ?? "-"))
        }
    }
}
