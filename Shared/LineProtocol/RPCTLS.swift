import Logging
import NIOCore
import NIOSSL
import Synchronization

/// Puts TLS in front of a line-protocol pipeline. Called only when TLS is configured: without
/// it the pipeline is exactly the line handler, as before TLS existed.
///
/// Server: `NIOSSLServerHandler` → `RPCTLSHandshakeHandler` (logs refused handshakes) → the
/// connection handler. No line reaches the connection handler before the handshake is done, so
/// with mutual TLS a client without an accepted certificate never gets a call run.
///
/// Client: `NIOSSLClientHandler` → `RPCTLSHandshakeHandler` (bounds the handshake and reports why
/// it failed) → the connection handler.
enum RPCTLS {
    static func addServerHandlers(_ tls: RPCServerTLS, to channel: any Channel, logger: Logger) throws {
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(NIOSSLServerHandler(context: tls.context))
        try pipeline.addHandler(RPCTLSHandshakeHandler(side: .server(logger)))
    }

    static func addClientHandlers(
        _ tls: RPCClientTLS,
        target: RPCTarget,
        peer: String,
        handshakeTimeout: Duration,
        report: RPCTLSReport,
        to channel: any Channel
    ) throws {
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(NIOSSLClientHandler(context: tls.context, serverHostname: tls.expectedServerName(for: target)))
        try pipeline.addHandler(RPCTLSHandshakeHandler(side: .client(peer: peer, timeout: TimeAmount(handshakeTimeout), report: report)))
    }

    /// A short, safe explanation of a TLS failure: what BoringSSL's reason codes mean for an
    /// operator, with the codes themselves for searching.
    static func explain(_ error: any Error) -> String {
        if error as? NIOSSLExtraError == .failedToValidateHostname {
            return "the peer's certificate does not carry the expected name (the host or IP address connected to, or the configured server name) as a subject alternative name (failedToValidateHostname)"
        }
        let codes = reasonCodes(in: String(describing: error))
        guard !codes.isEmpty else {
            if case NIOSSLError.uncleanShutdown? = error as? NIOSSLError {
                return "the peer closed the connection during the TLS handshake (a plaintext peer, or one that refused this side's certificate)"
            }
            return String(describing: error)
        }
        let known: [(code: String, meaning: String)] = [
            ("CERTIFICATE_VERIFY_FAILED", "the peer's certificate is not signed by a trusted CA, or has expired"),
            ("PEER_DID_NOT_RETURN_A_CERTIFICATE", "the peer sent no client certificate and this listener requires one"),
            ("CERTIFICATE_REQUIRED", "the listener requires a client certificate and this client has none"),
            ("ALERT_UNKNOWN_CA", "the peer does not trust the CA that signed this side's certificate"),
            ("ALERT_BAD_CERTIFICATE", "the peer refused this side's certificate"),
            ("ALERT_CERTIFICATE_EXPIRED", "the peer refused this side's certificate as expired"),
            ("WRONG_VERSION_NUMBER", "the peer does not speak TLS"),
            ("HTTP_REQUEST", "the peer does not speak TLS"),
            ("PACKET_LENGTH_TOO_LONG", "the peer does not speak TLS"),
            ("UNSUPPORTED_PROTOCOL", "the peer offers no TLS version this side accepts (1.2 or later)"),
        ]
        let meanings = codes.compactMap { code in known.first { code.contains($0.code) }?.meaning }
        let meaning = meanings.first ?? "the TLS handshake failed"
        return "\(meaning) (\(codes.joined(separator: ", ")))"
    }

    /// BoringSSL's reason codes in an error's text ("...:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED").
    private static func reasonCodes(in text: String) -> [String] {
        var codes: [String] = []
        var rest = Substring(text)
        while let marker = rest.firstRange(of: "OPENSSL_internal:") {
            let code = rest[marker.upperBound...].prefix { $0.isUppercase || $0.isNumber || $0 == "_" }
            if !code.isEmpty, !codes.contains(String(code)) { codes.append(String(code)) }
            rest = rest[marker.upperBound...]
        }
        return codes
    }
}

/// What the TLS layer of one client connection found wrong, kept for the error the caller sees:
/// with TLS 1.3 a listener refuses a client certificate after the client's side of the handshake
/// is done, so the refusal shows up as a connection closed during `sys.hello`.
final class RPCTLSReport: Sendable {
    private let failure = Mutex<String?>(nil)
    private let handshakeFuture = Mutex<EventLoopFuture<Void>?>(nil)

    /// Succeeds when the handshake is done; set once the TLS handlers are in the pipeline.
    var handshake: EventLoopFuture<Void>? {
        get { handshakeFuture.withLock { $0 } }
        set { handshakeFuture.withLock { $0 = newValue } }
    }

    /// Keeps the first reason: later ones are consequences of it.
    func record(_ reason: String) {
        failure.withLock { $0 = $0 ?? reason }
    }

    var reason: String? { failure.withLock { $0 } }
}
