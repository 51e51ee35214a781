import Contracts
import LineProtocol
import ServiceKit
import Testing

@Suite("Service configuration from the environment")
struct ServiceConfigurationTests {
    @Test func defaultsFitTheLocalLayout() throws {
        let configuration = try ServiceConfiguration(service: .review, environment: [:])
        #expect(configuration.rpcPort == 7102)
        #expect(configuration.adminPort == 9102)
        #expect(configuration.databaseURL == "postgresql://onestop_review@127.0.0.1:25432/onestop_review")
        #expect(configuration.peers[.intake] == [RPCTarget(host: "127.0.0.1", port: 7101)])
        #expect(configuration.peers[.review] == nil)
        #expect(configuration.usesDevelopmentSecret)
    }

    @Test func variablesOverrideDefaults() throws {
        let configuration = try ServiceConfiguration(service: .intake, environment: [
            "ONESTOP_RPC_PORT": "8101",
            "ONESTOP_REVIEW_ADDRESSES": "10.0.0.1:7102, 10.0.0.2:7102",
            "ONESTOP_SERVICE_SECRET": "a-production-secret-value",
            "ONESTOP_LOG_FORMAT": "TEXT",
        ])
        #expect(configuration.rpcPort == 8101)
        #expect(configuration.peers[.review]?.count == 2)
        #expect(!configuration.usesDevelopmentSecret)
        #expect(configuration.logFormat == .text)
    }

    @Test func everyBadValueIsNamedAtOnce() {
        do {
            _ = try ServiceConfiguration(service: .intake, environment: [
                "ONESTOP_RPC_PORT": "seventy",
                "ONESTOP_ADMIN_PORT": "70000",
                "ONESTOP_LOG_FORMAT": "xml",
                "ONESTOP_SERVICE_SECRET": "short",
                "ONESTOP_REVIEW_ADDRESSES": "nohostport",
                "ONESTOP_DATABASE_URL": "mysql://x",
            ])
            Issue.record("the configuration must be refused")
        } catch let error as ConfigurationError {
            let text = error.description
            for name in ["ONESTOP_RPC_PORT", "ONESTOP_ADMIN_PORT", "ONESTOP_LOG_FORMAT", "ONESTOP_SERVICE_SECRET", "ONESTOP_REVIEW_ADDRESSES", "ONESTOP_DATABASE_URL"] {
                #expect(text.contains(name), "\(name) must be named")
            }
            #expect(error.problems.count == 6)
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
