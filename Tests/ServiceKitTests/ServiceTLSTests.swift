import Contracts
import IntakeService
import LineProtocol
import Logging
import RPCTesting
import ServiceKit
import Testing
import TestSupport

/// `ONESTOP_TLS_CERT_FILE`, `ONESTOP_TLS_KEY_FILE`, `ONESTOP_TLS_CA_FILE`: read once by
/// `ServiceConfiguration`, used by every service's listener and clients.
@Suite("TLS between services from the environment")
struct ServiceTLSTests {
    private static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    private static func mutualTLS(_ certificates: TestCertificates) -> [String: String] {
        [
            "ONESTOP_TLS_CERT_FILE": certificates.server.certificateFile,
            "ONESTOP_TLS_KEY_FILE": certificates.server.keyFile,
            "ONESTOP_TLS_CA_FILE": certificates.caFile,
        ]
    }

    /// The configuration error for `environment`, as printed at start ("" when it is accepted).
    private static func problems(_ environment: [String: String]) -> String {
        do {
            _ = try ServiceConfiguration(service: .review, environment: environment)
            return ""
        } catch {
            return "\(error)"
        }
    }

    @Test func withoutTheVariablesEverythingStaysPlaintext() throws {
        let configuration = try ServiceConfiguration(service: .review, environment: [:])
        #expect(configuration.tls == nil)
        #expect(configuration.rpcServerConfiguration.tls == nil)
        #expect(configuration.clientConfiguration(for: .intake).tls == nil)
    }

    @Test func allThreeGiveMutualTLSToTheListenerAndEveryPeerClient() throws {
        let certificates = try TestCertificates.shared()
        var environment = Self.mutualTLS(certificates)
        environment["ONESTOP_ROUTING_TLS_SERVER_NAME"] = "routing.internal"
        let configuration = try ServiceConfiguration(service: .review, environment: environment)
        #expect(configuration.tls?.isMutual == true)
        #expect(configuration.rpcServerConfiguration.tls?.requiresClientCertificate == true)
        for peer in OneStopService.allCases where peer != .review {
            let client = try #require(configuration.clientConfiguration(for: peer).tls, "\(peer) must be called over TLS")
            #expect(client.presentsCertificate)
            #expect(client.serverName == (peer == .routing ? "routing.internal" : nil))
        }
    }

    @Test func withoutACATheListenerAsksForNoClientCertificate() throws {
        let certificates = try TestCertificates.shared()
        var environment = Self.mutualTLS(certificates)
        environment["ONESTOP_TLS_CA_FILE"] = nil
        let configuration = try ServiceConfiguration(service: .review, environment: environment)
        #expect(configuration.tls?.isMutual == false)
        #expect(configuration.clientConfiguration(for: .intake).tls != nil)
    }

    @Test func halfAPairIsRefusedNamingTheMissingVariable() throws {
        let certificates = try TestCertificates.shared()
        let onlyCertificate = Self.problems(["ONESTOP_TLS_CERT_FILE": certificates.server.certificateFile])
        #expect(onlyCertificate.contains("ONESTOP_TLS_CERT_FILE is set but ONESTOP_TLS_KEY_FILE is not"))
        let onlyKey = Self.problems(["ONESTOP_TLS_KEY_FILE": certificates.server.keyFile, "ONESTOP_TLS_CA_FILE": certificates.caFile])
        #expect(onlyKey.contains("ONESTOP_TLS_KEY_FILE is set but ONESTOP_TLS_CERT_FILE is not"))
        let onlyCA = Self.problems(["ONESTOP_TLS_CA_FILE": certificates.caFile])
        #expect(onlyCA.contains("ONESTOP_TLS_CA_FILE is set without ONESTOP_TLS_CERT_FILE and ONESTOP_TLS_KEY_FILE"))
        let nameWithoutTLS = Self.problems(["ONESTOP_INTAKE_TLS_SERVER_NAME": "intake.internal"])
        #expect(nameWithoutTLS.contains("ONESTOP_INTAKE_TLS_SERVER_NAME is set but TLS is off"))
    }

    @Test func unusableFilesAreNamedAllAtOnce() throws {
        let certificates = try TestCertificates.shared()
        let missing = Self.problems([
            "ONESTOP_TLS_CERT_FILE": certificates.directory + "/absent.pem",
            "ONESTOP_TLS_KEY_FILE": certificates.directory,
            "ONESTOP_TLS_CA_FILE": "",
        ])
        #expect(missing.contains("ONESTOP_TLS_CERT_FILE=\(certificates.directory)/absent.pem: no such file"))
        #expect(missing.contains("ONESTOP_TLS_KEY_FILE=\(certificates.directory) is a directory"))
        #expect(missing.contains("ONESTOP_TLS_CA_FILE is set but empty"))

        let swapped = Self.problems([
            "ONESTOP_TLS_CERT_FILE": certificates.server.keyFile,
            "ONESTOP_TLS_KEY_FILE": certificates.server.certificateFile,
            "ONESTOP_TLS_CA_FILE": certificates.server.keyFile,
        ])
        #expect(swapped.contains("ONESTOP_TLS_CERT_FILE=\(certificates.server.keyFile): no certificate could be read"))
        #expect(swapped.contains("ONESTOP_TLS_CA_FILE=\(certificates.server.keyFile): no CA certificate could be read"))

        let mismatched = Self.problems([
            "ONESTOP_TLS_CERT_FILE": certificates.server.certificateFile,
            "ONESTOP_TLS_KEY_FILE": certificates.client.keyFile,
        ])
        #expect(mismatched.contains("ONESTOP_TLS_KEY_FILE=\(certificates.client.keyFile) and ONESTOP_TLS_CERT_FILE"))
        #expect(mismatched.contains("does not belong to the certificate"))
    }

    /// A real service booted with the three variables: a peer configured the same way calls it;
    /// a plaintext peer and a peer with a stranger's certificate are refused.
    @Test func aServiceBootedWithTheVariablesServesPeersOverMutualTLSOnly() async throws {
        let certificates = try TestCertificates.shared()
        let database = try await PostgresCluster.shared().createDatabase(prefix: "tls")
        var configuration = ServiceConfiguration.forTesting(service: .intake, databaseURL: database.connectionString)
        let environment = Self.mutualTLS(certificates)
        configuration.tls = try ServiceConfiguration(service: .intake, environment: environment).tls
        let app = ServiceApp(definition: IntakeService.definition, configuration: configuration, logger: Self.logger)
        let (addresses, readyContinuation) = AsyncStream<ServiceAddresses>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run { readyContinuation.yield($0) } }
            var iterator = addresses.makeAsyncIterator()
            let ready = try #require(await iterator.next())

            let review = try ServiceConfiguration(service: .review, environment: environment)
            let peer = RPCClient(configuration: review.clientConfiguration(for: .intake).with(targets: [ready.rpcTarget]), logger: Self.logger)
            #expect(try await peer.call(SysHealth.self, RPCEmpty()).status == "ok")
            await peer.shutdown()

            var plaintext = ServiceConfiguration.forTesting(service: .review, databaseURL: database.connectionString).clientConfiguration(for: .intake).with(targets: [ready.rpcTarget])
            plaintext.defaultTimeout = .milliseconds(1500)
            let plain = RPCClient(configuration: plaintext, logger: Self.logger)
            await #expect(throws: RPCError.self) { try await plain.call(SysHealth.self, RPCEmpty()) }
            await plain.shutdown()

            var strangerEnvironment = environment
            strangerEnvironment["ONESTOP_TLS_CERT_FILE"] = certificates.stranger.certificateFile
            strangerEnvironment["ONESTOP_TLS_KEY_FILE"] = certificates.stranger.keyFile
            var strangerConfiguration = try ServiceConfiguration(service: .review, environment: strangerEnvironment)
                .clientConfiguration(for: .intake).with(targets: [ready.rpcTarget])
            strangerConfiguration.defaultTimeout = .milliseconds(1500)
            let stranger = RPCClient(configuration: strangerConfiguration, logger: Self.logger)
            await #expect(throws: RPCError.self) { try await stranger.call(SysHealth.self, RPCEmpty()) }
            await stranger.shutdown()

            await app.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }
}
