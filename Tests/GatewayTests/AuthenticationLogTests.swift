import Logging
import RPCTesting
import Testing
import TestSupport

/// ASVS V7 (logging): every authentication decision and every denied access is logged, with who
/// and why and never the secret itself.
@Suite("Gateway: authentication decisions and denials are logged")
struct AuthenticationLogTests {
    @Test("login success and failure, a refused token and cookie, and a denied access each leave a log record")
    func decisionsAreLogged() async throws {
        let capture = LogCapture()
        try await GatewayFixture.with(logger: capture.logger(label: "gateway", level: .info)) { gateway in
            let admin = try await gateway.adminSession()
            let wrong = try await gateway.request("POST", "/v1/auth/login", json: #"{"user": "admin", "password": "not-the-password-at-all"}"#)
            #expect(wrong.status == 401)
            let token = try await gateway.request("GET", "/v1/cases", token: "ost_forged-token-value")
            #expect(token.status == 401)
            let cookie = try await gateway.request("GET", "/v1/cases", cookie: "forged-session-cookie")
            #expect(cookie.status == 401)
            let clerk = try await gateway.staff("clerk-log", roles: ["intake_officer"], admin: admin)
            let denied = try await gateway.request("GET", "/v1/users", cookie: clerk)
            #expect(denied.status == 403)

            let records = capture.records
            func logged(_ message: String, _ match: (LogCapture.Record) -> Bool = { _ in true }) -> Bool {
                records.contains { $0.message == message && match($0) }
            }
            #expect(logged("login succeeded") { $0.metadata["principal"] == "admin" && $0.metadata["request.id"] != nil })
            #expect(logged("login refused") { $0.metadata["principal"] == "admin" && $0.metadata["request.id"] == wrong.headers["x-request-id"] })
            #expect(logged("API token refused"))
            #expect(logged("session cookie refused"))
            #expect(logged("access denied") { $0.metadata["principal"] == "clerk-log" && $0.metadata["request.id"] == denied.headers["x-request-id"] })
            // Never the secrets.
            for secret in ["not-the-password-at-all", GatewayFixture.adminPassword, "ost_forged-token-value", "forged-session-cookie", admin] {
                #expect(!records.contains { $0.text.contains(secret) }, "a log record holds a secret")
            }
            // The login decisions are in the access audit too.
            #expect(try await gateway.count("SELECT count(*)::int8 AS n FROM access_audit WHERE action = 'login' AND outcome = 'denied' AND principal = 'admin'") == 1)
        }
    }
}
