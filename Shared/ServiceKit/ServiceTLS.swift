import LineProtocol

/// TLS between services, from three variables that name PEM files:
///
/// - `ONESTOP_TLS_CERT_FILE` and `ONESTOP_TLS_KEY_FILE`: this service's certificate (chain) and
///   private key. Its internal listener speaks TLS with them, and its clients show them to peers.
/// - `ONESTOP_TLS_CA_FILE`: the CA of the deployment. With it the listener requires a client
///   certificate signed by that CA (mutual TLS), and clients accept only peers it signed. Without
///   it the listener asks for no client certificate and peers are checked against the system's
///   certificate store.
///
/// None set: plaintext, as before. Every service reads them through `ServiceConfiguration`, so
/// no service has code of its own for TLS.
public struct ServiceTLS: Sendable {
    public static let certificateVariable = "ONESTOP_TLS_CERT_FILE"
    public static let keyVariable = "ONESTOP_TLS_KEY_FILE"
    public static let caVariable = "ONESTOP_TLS_CA_FILE"

    /// The internal listener's TLS.
    public let server: RPCServerTLS
    /// TLS of the clients to peers (the peer's expected name is set per peer).
    public let client: RPCClientTLS
    /// Whether client certificates are required (a CA is configured).
    public var isMutual: Bool { server.requiresClientCertificate }

    /// Reads the variables; nil when none is set or when something is wrong, in which case every
    /// problem is in `env`, naming its variable.
    static func read(_ env: inout EnvironmentReader) -> ServiceTLS? {
        let (cert, key, ca) = (certificateVariable, keyVariable, caVariable)
        let identity = env.tlsIdentity(certificate: cert, key: key)
        if env.variables[ca] != nil, env.variables[cert] == nil, env.variables[key] == nil {
            env.require(false, "\(ca) is set without \(cert) and \(key): a service needs its own certificate and key to use TLS; set all three for mutual TLS, or none")
        }
        var roots: RPCTLSTrustRoots?
        if let caPEM = env.fileContents(ca), let caPath = env.variables[ca] {
            do {
                roots = try RPCTLSTrustRoots(pem: caPEM)
            } catch {
                env.require(false, "\(ca)=\(caPath): \(error)")
            }
        }
        guard let identity, env.variables[ca] == nil || roots != nil else { return nil }
        do {
            let server = try roots.map { try RPCServerTLS(identity: identity, clientCertificateIssuers: $0) } ?? RPCServerTLS(identity: identity)
            let client = try RPCClientTLS(trustRoots: roots, identity: identity)
            return ServiceTLS(server: server, client: client)
        } catch {
            // The identity was checked already; nothing else is expected to fail.
            env.require(false, "\(cert), \(key), \(ca): \(error)")
            return nil
        }
    }
}
