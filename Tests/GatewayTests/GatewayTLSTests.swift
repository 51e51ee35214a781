@testable import GatewayService
import RPCTesting
import TestSupport
import ServiceKit
import Testing

/// HTTPS on the gateway's public listener (`ONESTOP_GATEWAY_TLS_CERT_FILE` / `_KEY_FILE`), with
/// certificates made by `openssl` for this test run.
@Suite("Gateway: HTTPS")
struct GatewayTLSTests {
    private static func environment(_ certificates: TestCertificates) -> [String: String] {
        [
            "ONESTOP_GATEWAY_TLS_CERT_FILE": certificates.server.certificateFile,
            "ONESTOP_GATEWAY_TLS_KEY_FILE": certificates.server.keyFile,
        ]
    }

    @Test("over HTTPS the gateway answers and the session cookie is Secure; plain HTTP gets no answer")
    func https() async throws {
        let certificates = try TestCertificates.shared()
        try await GatewayFixture.with(environment: Self.environment(certificates)) { gateway in
            let login = try await HTTPTestClient.send(
                port: gateway.port, method: "POST", path: "/v1/auth/login",
                body: #"{"user": "\#(GatewayFixture.adminUser)", "password": "\#(GatewayFixture.adminPassword)"}"#,
                tlsTrustRoots: certificates.caPEM
            )
            #expect(login.status == 200, "\(login.body)")
            let cookie = try #require(login.setCookies.first)
            #expect(cookie.contains("; Secure"))
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))

            let value = String(cookie.dropFirst("onestop_session=".count).prefix { $0 != ";" })
            let me = try await HTTPTestClient.send(
                port: gateway.port, method: "GET", path: "/v1/auth/me",
                headers: [("Cookie", "onestop_session=\(value)")], tlsTrustRoots: certificates.caPEM
            )
            #expect(me.status == 200)
            let logout = try await HTTPTestClient.send(
                port: gateway.port, method: "POST", path: "/v1/auth/logout",
                headers: [("Cookie", "onestop_session=\(value)")], tlsTrustRoots: certificates.caPEM
            )
            #expect(logout.setCookies.first?.contains("; Secure") == true, "the clearing cookie is Secure too")

            await #expect(throws: (any Error).self, "a plaintext request gets no HTTP answer") {
                try await HTTPTestClient.send(port: gateway.port, method: "GET", path: "/openapi.json")
            }
            // A client that does not trust the CA refuses the gateway's certificate.
            await #expect(throws: (any Error).self) {
                try await HTTPTestClient.send(port: gateway.port, method: "GET", path: "/openapi.json", tlsTrustRoots: certificates.otherCAPEM)
            }
            let stillServing = try await HTTPTestClient.send(port: gateway.port, method: "GET", path: "/openapi.json", tlsTrustRoots: certificates.caPEM)
            #expect(stillServing.status == 200)
        }
    }

    @Test("HTTPS makes cookies Secure by default and refuses a setting that turns it off")
    func cookieSetting() throws {
        let certificates = try TestCertificates.shared()
        #expect(try GatewaySettings(environment: Self.environment(certificates)).secureCookies)
        #expect(try GatewaySettings(environment: Self.environment(certificates)).tls != nil)
        #expect(try !GatewaySettings(environment: [:]).secureCookies)
        #expect(try GatewaySettings(environment: [:]).tls == nil)
        #expect(try GatewaySettings(environment: ["ONESTOP_GATEWAY_SECURE_COOKIES": "1"]).secureCookies, "behind a TLS proxy")

        var contradictory = Self.environment(certificates)
        contradictory["ONESTOP_GATEWAY_SECURE_COOKIES"] = "0"
        #expect(throws: ConfigurationError.self) { try GatewaySettings(environment: contradictory) }
    }

    @Test("a setting that cannot work stops the gateway at start, with the problem named")
    func aBadSettingStopsTheGateway() async throws {
        let certificates = try TestCertificates.shared()
        var contradictory = Self.environment(certificates)
        contradictory["ONESTOP_GATEWAY_SECURE_COOKIES"] = "0"
        contradictory["ONESTOP_GATEWAY_HTTP_PORT"] = "0"
        let database = try await PostgresCluster.shared().createDatabase(prefix: "gateway")
        let configuration = ServiceConfiguration.forTesting(service: .gateway, databaseURL: database.connectionString)
        let app = ServiceApp(definition: GatewayService.definition(environment: contradictory), configuration: configuration, logger: GatewayFixture.logger)
        switch await app.outcomeOfStart() {
        case .returned: Issue.record("the gateway ran and returned without an error")
        case .stillRunning: Issue.record("the gateway still ran after 60 s")
        case .failed(let error):
            #expect(String(describing: error).contains("ONESTOP_GATEWAY_SECURE_COOKIES=0 cannot be used"))
        }
    }

    @Test("a certificate without its key, or a file that cannot be used, is named")
    func badTLSSettings() throws {
        let certificates = try TestCertificates.shared()
        func problems(_ environment: [String: String]) -> String {
            do {
                _ = try GatewaySettings(environment: environment)
                return ""
            } catch {
                return "\(error)"
            }
        }
        #expect(problems(["ONESTOP_GATEWAY_TLS_CERT_FILE": certificates.server.certificateFile]).contains("ONESTOP_GATEWAY_TLS_KEY_FILE is not"))
        #expect(problems([
            "ONESTOP_GATEWAY_TLS_CERT_FILE": certificates.server.certificateFile,
            "ONESTOP_GATEWAY_TLS_KEY_FILE": certificates.directory + "/absent.key",
        ]).contains("ONESTOP_GATEWAY_TLS_KEY_FILE=\(certificates.directory)/absent.key: no such file"))
        #expect(problems([
            "ONESTOP_GATEWAY_TLS_CERT_FILE": certificates.server.certificateFile,
            "ONESTOP_GATEWAY_TLS_KEY_FILE": certificates.client.keyFile,
        ]).contains("does not belong to the certificate"))
    }
}
