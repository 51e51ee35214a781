import JSONCoding
import LineProtocol
import NIOCore
import RPCTesting
import Synchronization
import Testing

/// TLS and mutual TLS on real sockets, with certificates made by `openssl` for this test run
/// (`TestCertificates`): one CA that signed the server and client certificates, and an unrelated
/// CA that signed a stranger's.
@Suite("Line protocol over TLS")
struct RPCTLSTests {
    static let secret = "a-long-shared-service-secret"

    /// Counts the calls that reached a handler.
    final class Runs: Sendable {
        private let count = Atomic<Int>(0)
        var value: Int { count.load(ordering: .relaxed) }
        func add() { count.add(1, ordering: .relaxed) }
    }

    private static func methods(counting runs: Runs) -> RPCMethodTable {
        var table = testMethods()
        table.register(name: "test.count") { _, _ in
            runs.add()
            return .bool(true)
        }
        return table
    }

    private static func identity(_ leaf: TestCertificates.Leaf) throws -> RPCTLSIdentity {
        try RPCTLSIdentity(certificateChainPEM: leaf.certificatePEM, privateKeyPEM: leaf.keyPEM)
    }

    /// The listener of most tests: the server certificate, client certificates from the CA required.
    private static func mutualTLS() throws -> RPCServerTLS {
        let certificates = try TestCertificates.shared()
        return try RPCServerTLS(identity: identity(certificates.server), clientCertificateIssuers: RPCTLSTrustRoots(pem: certificates.caPEM))
    }

    /// A client trusting the CA, showing `leaf` (nil: no certificate).
    private static func clientTLS(showing leaf: TestCertificates.Leaf?, serverName: String? = nil) throws -> RPCClientTLS {
        let certificates = try TestCertificates.shared()
        return try RPCClientTLS(trustRoots: RPCTLSTrustRoots(pem: certificates.caPEM), identity: leaf.map(identity), serverName: serverName)
    }

    private func client(port: Int, tls: RPCClientTLS?, credential: String? = secret, timeout: Duration = .seconds(5)) -> RPCClient {
        testClient(port: port, credential: credential, timeout: timeout, connectTimeout: .seconds(1), tls: tls)
    }

    /// The failure of a call that must fail.
    private func failure(of call: () async throws -> JSON) async -> RPCError? {
        do {
            _ = try await call()
            Issue.record("the call must fail")
            return nil
        } catch let error as RPCError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    // MARK: Working connections

    @Test func aMutualTLSClientAndServerTalk() async throws {
        let certificates = try TestCertificates.shared()
        let serverTLS = try Self.mutualTLS()
        #expect(serverTLS.requiresClientCertificate)
        try await withServer({ $0.credential = Self.secret; $0.tls = serverTLS }) { _, port in
            let client = client(port: port, tls: try Self.clientTLS(showing: certificates.client))
            let answers = try await withThrowingTaskGroup(of: Echo.Params.self) { group in
                for index in 0..<50 {
                    group.addTask { try await client.call(Echo.self, Echo.Params(text: "tls \(index) 中文")) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(Set(answers.map(\.text)) == Set((0..<50).map { "tls \($0) 中文" }))
            await client.shutdown()
        }
    }

    @Test func aServerWithoutACAServesClientsThatShowNoCertificate() async throws {
        let certificates = try TestCertificates.shared()
        let serverTLS = try RPCServerTLS(identity: Self.identity(certificates.server))
        #expect(!serverTLS.requiresClientCertificate)
        try await withServer({ $0.credential = Self.secret; $0.tls = serverTLS }) { _, port in
            let client = client(port: port, tls: try Self.clientTLS(showing: nil))
            #expect(try await client.call(Echo.self, Echo.Params(text: "one-way")).text == "one-way")
            await client.shutdown()
        }
    }

    // MARK: Refusals

    /// Without a credential the client sends its call right after its side of the handshake
    /// (TLS 1.3), so the request bytes do reach the server: it must still run nothing.
    @Test func aClientWithoutACertificateIsRefusedAndNothingRuns() async throws {
        let runs = Runs()
        let serverTLS = try Self.mutualTLS()
        try await withServer({ $0.tls = serverTLS }, methods: Self.methods(counting: runs)) { _, port in
            let anonymous = client(port: port, tls: try Self.clientTLS(showing: nil), credential: nil, timeout: .milliseconds(1500))
            #expect(await failure { try await anonymous.call(method: "test.count", params: nil) } != nil)
            await anonymous.shutdown()

            let greeting = client(port: port, tls: try Self.clientTLS(showing: nil), timeout: .milliseconds(1500))
            let refused = await failure { try await greeting.call(method: "test.count", params: nil) }
            #expect(refused?.message.contains("client certificate") == true, "\(String(describing: refused))")
            await greeting.shutdown()
        }
        #expect(runs.value == 0)
    }

    @Test func aClientCertificateSignedByAnotherCAIsRefused() async throws {
        let certificates = try TestCertificates.shared()
        let runs = Runs()
        let serverTLS = try Self.mutualTLS()
        try await withServer({ $0.credential = Self.secret; $0.tls = serverTLS }, methods: Self.methods(counting: runs)) { _, port in
            let stranger = client(port: port, tls: try Self.clientTLS(showing: certificates.stranger), timeout: .milliseconds(1500))
            let refused = await failure { try await stranger.call(method: "test.count", params: nil) }
            #expect(refused?.message.contains("TLS") == true, "\(String(describing: refused))")
            #expect(refused?.message.contains("UNKNOWN_CA") == true || refused?.message.contains("BAD_CERTIFICATE") == true, "\(String(describing: refused))")
            await stranger.shutdown()
        }
        #expect(runs.value == 0)
    }

    @Test func aServerCertificateFromAnUntrustedCAIsRefusedByTheClient() async throws {
        let certificates = try TestCertificates.shared()
        let serverTLS = try Self.mutualTLS()
        try await withServer({ $0.credential = Self.secret; $0.tls = serverTLS }) { _, port in
            let trustingOthers = try RPCClientTLS(trustRoots: RPCTLSTrustRoots(pem: certificates.otherCAPEM), identity: Self.identity(certificates.client))
            let client = client(port: port, tls: trustingOthers, timeout: .milliseconds(1500))
            let refused = await failure { try await client.call(method: "sys.ping", params: nil) }
            #expect(refused?.message.contains("CERTIFICATE_VERIFY_FAILED") == true, "\(String(describing: refused))")
            await client.shutdown()
        }
    }

    @Test func theServerMustCarryTheNameConnectedToOrTheConfiguredOne() async throws {
        let certificates = try TestCertificates.shared()
        let misnamed = try RPCServerTLS(identity: Self.identity(certificates.misnamed))
        try await withServer({ $0.credential = Self.secret; $0.tls = misnamed }) { _, port in
            let byAddress = client(port: port, tls: try Self.clientTLS(showing: nil), timeout: .milliseconds(1500))
            let refused = await failure { try await byAddress.call(method: "sys.ping", params: nil) }
            #expect(refused?.message.contains("does not carry the expected name") == true, "\(String(describing: refused))")
            await byAddress.shutdown()

            let byName = client(port: port, tls: try Self.clientTLS(showing: nil, serverName: "elsewhere.invalid"))
            #expect(try await byName.call(Echo.self, Echo.Params(text: "named")).text == "named")
            await byName.shutdown()
        }
    }

    // MARK: Mixed plaintext and TLS

    @Test func aTLSClientAgainstAPlainServerFailsWithAClearError() async throws {
        try await withServer({ $0.credential = Self.secret }) { _, port in
            let client = client(port: port, tls: try Self.clientTLS(showing: nil), timeout: .milliseconds(2500))
            let started = ContinuousClock.now
            let refused = await failure { try await client.call(method: "sys.ping", params: nil) }
            #expect(refused?.kind == .unavailable)
            #expect(refused?.message.contains("TLS") == true, "\(String(describing: refused))")
            #expect(ContinuousClock.now - started < .seconds(5))
            await client.shutdown()
        }
    }

    @Test func aPlainClientAgainstATLSServerFailsAndTheServerKeepsServingOthers() async throws {
        let certificates = try TestCertificates.shared()
        let serverTLS = try Self.mutualTLS()
        try await withServer({ $0.credential = Self.secret; $0.tls = serverTLS }) { server, port in
            let plain = client(port: port, tls: nil, timeout: .milliseconds(1500))
            let refused = await failure { try await plain.call(method: "sys.ping", params: nil) }
            #expect(refused?.kind == .unavailable)
            #expect(refused?.message.contains("requires TLS") == true, "\(String(describing: refused))")
            await plain.shutdown()

            // Raw bytes, as `nc` would send them: closed, nothing answered in plaintext.
            try await withLineClient(port: port) { raw in
                try await raw.send(#"{"jsonrpc":"2.0","method":"sys.ping","id":1}"# + "\n")
                #expect(await raw.readLine(timeout: .seconds(3)) == nil)
            }

            let trusted = client(port: port, tls: try Self.clientTLS(showing: certificates.client))
            #expect(try await trusted.call(Echo.self, Echo.Params(text: "still serving")).text == "still serving")
            await trusted.shutdown()
            for _ in 0..<100 where server.openConnectionCount > 0 {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(server.openConnectionCount == 0, "refused connections must not linger")
        }
    }

    // MARK: Configuration

    @Test func unusableMaterialIsRefusedWhenTheConfigurationIsBuilt() throws {
        let certificates = try TestCertificates.shared()
        #expect(throws: RPCTLSError.invalidCertificate) {
            try RPCTLSIdentity(certificateChainPEM: Array("not a certificate".utf8), privateKeyPEM: certificates.server.keyPEM)
        }
        #expect(throws: RPCTLSError.invalidPrivateKey) {
            try RPCTLSIdentity(certificateChainPEM: certificates.server.certificatePEM, privateKeyPEM: certificates.server.certificatePEM)
        }
        #expect(throws: RPCTLSError.invalidTrustRoots) {
            try RPCTLSTrustRoots(pem: certificates.server.keyPEM)
        }
        let mismatched = try RPCTLSIdentity(certificateChainPEM: certificates.server.certificatePEM, privateKeyPEM: certificates.client.keyPEM)
        #expect(throws: RPCTLSError.keyDoesNotMatchCertificate) {
            try RPCServerTLS(identity: mismatched)
        }
        #expect(throws: RPCTLSError.keyDoesNotMatchCertificate) {
            try RPCClientTLS(trustRoots: nil, identity: mismatched)
        }
        // Safe to show: says what is expected, never the material.
        #expect(RPCTLSError.invalidPrivateKey.description.contains("PRIVATE KEY"))
    }
}
