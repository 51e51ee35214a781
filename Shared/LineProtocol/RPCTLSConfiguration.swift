import NIOCore
import NIOSSL

// TLS for the line protocol. Each type below is built once (at start-up) from PEM text and holds
// a ready `NIOSSLContext`, so a bad certificate, key or pairing is an error at start, never at the
// first connection; and the combinations that make no sense (a key without a certificate, a
// listener without a certificate, client certificates required but no CA to check them
// against) cannot be written down.

/// A certificate chain (leaf first) and the private key of its leaf: what a listener shows its
/// clients, and what a client shows a listener that requires client certificates.
public struct RPCTLSIdentity: Sendable {
    let certificateChain: [NIOSSLCertificate]
    let privateKey: NIOSSLPrivateKey

    /// Reads a PEM certificate chain and a PEM private key (unencrypted: PKCS #8, RSA or EC).
    /// Whether the key belongs to the certificate is checked when a configuration is built.
    public init(certificateChainPEM: [UInt8], privateKeyPEM: [UInt8]) throws(RPCTLSError) {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(certificateChainPEM)
        } catch {
            throw RPCTLSError(.invalidCertificate, underlying: error)
        }
        guard !chain.isEmpty else { throw .invalidCertificate }
        do {
            self.privateKey = try NIOSSLPrivateKey(bytes: privateKeyPEM, format: .pem)
        } catch {
            throw RPCTLSError(.invalidPrivateKey, underlying: error)
        }
        self.certificateChain = chain
    }

    var certificateSources: [NIOSSLCertificateSource] { certificateChain.map { .certificate($0) } }
}

/// The certificate authorities a side trusts to vouch for its peer (PEM, one or more).
public struct RPCTLSTrustRoots: Sendable {
    let certificates: [NIOSSLCertificate]

    public init(pem: [UInt8]) throws(RPCTLSError) {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMBytes(pem)
        } catch {
            throw RPCTLSError(.invalidTrustRoots, underlying: error)
        }
        guard !certificates.isEmpty else { throw .invalidTrustRoots }
        self.certificates = certificates
    }
}

/// TLS on a listener (`RPCServerConfiguration.tls`).
public struct RPCServerTLS: Sendable {
    /// True for mutual TLS: a client without a certificate signed by one of the trusted
    /// authorities fails the handshake, before any line of it is read.
    public let requiresClientCertificate: Bool
    /// The swift-nio-ssl configuration (TLS 1.2 or later), for servers built on other stacks
    /// that should follow the same policy (the gateway's HTTPS listener).
    public let tlsConfiguration: TLSConfiguration
    let context: NIOSSLContext

    /// TLS with the listener's certificate only: clients are not asked for one.
    public init(identity: RPCTLSIdentity) throws(RPCTLSError) {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: identity.certificateSources,
            privateKey: .privateKey(identity.privateKey)
        )
        configuration.minimumTLSVersion = .tlsv12
        self.context = try Self.context(configuration)
        self.tlsConfiguration = configuration
        self.requiresClientCertificate = false
    }

    /// Mutual TLS: every client must present a certificate that chains to `clientCertificateIssuers`
    /// (its name is not checked; the `sys.hello` credential still follows).
    public init(identity: RPCTLSIdentity, clientCertificateIssuers: RPCTLSTrustRoots) throws(RPCTLSError) {
        var configuration = TLSConfiguration.makeServerConfigurationWithMTLS(
            certificateChain: identity.certificateSources,
            privateKey: .privateKey(identity.privateKey),
            trustRoots: .certificates(clientCertificateIssuers.certificates)
        )
        configuration.minimumTLSVersion = .tlsv12
        self.context = try Self.context(configuration)
        self.tlsConfiguration = configuration
        self.requiresClientCertificate = true
    }

    static func context(_ configuration: TLSConfiguration) throws(RPCTLSError) -> NIOSSLContext {
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            // The certificate and key each parsed on their own: what is left is the pair.
            throw RPCTLSError(.keyDoesNotMatchCertificate, underlying: error)
        }
    }
}

/// TLS on a client pool (`RPCClientConfiguration.tls`): the server's certificate must chain to
/// the trust roots and name the server, and the client may show its own certificate.
public struct RPCClientTLS: Sendable {
    /// The name the server's certificate must carry. Nil: the target's host (a DNS name, or an IP
    /// address matched against the certificate's IP subject alternative names).
    public var serverName: String?
    /// Whether a certificate is shown to servers that ask for one.
    public let presentsCertificate: Bool
    let context: NIOSSLContext

    /// - Parameters:
    ///   - trustRoots: who may vouch for servers; nil trusts the system's certificate store.
    ///   - identity: the client certificate for listeners that require one (mutual TLS).
    ///   - serverName: see `serverName`.
    public init(trustRoots: RPCTLSTrustRoots?, identity: RPCTLSIdentity? = nil, serverName: String? = nil) throws(RPCTLSError) {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = .fullVerification
        configuration.trustRoots = trustRoots.map { .certificates($0.certificates) } ?? .default
        if let identity {
            configuration.certificateChain = identity.certificateSources
            configuration.privateKey = .privateKey(identity.privateKey)
        }
        self.context = try RPCServerTLS.context(configuration)
        self.serverName = serverName
        self.presentsCertificate = identity != nil
    }

    /// The name sent as SNI and checked against the certificate, or nil to check the connected
    /// IP address (an IP address cannot be sent as SNI).
    func expectedServerName(for target: RPCTarget) -> String? {
        if let serverName { return serverName }
        let host = target.host.hasPrefix("[") && target.host.hasSuffix("]") ? String(target.host.dropFirst().dropLast()) : target.host
        return (try? SocketAddress(ipAddress: host, port: 0)) == nil ? host : nil
    }
}
