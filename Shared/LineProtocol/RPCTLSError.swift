/// Certificate material that cannot be used for TLS.
///
/// `description` says what is wrong and what is expected, never the material; callers that read
/// the PEM from a file or a variable add its name. `debugDescription` adds what the TLS library
/// said.
public struct RPCTLSError: Error, Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What kind of problem this is. Compare with the static constants.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidCertificate, invalidPrivateKey, invalidTrustRoots, keyDoesNotMatchCertificate
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// No certificate could be read from the certificate chain's PEM.
        public static let invalidCertificate = Code(.invalidCertificate)
        /// No private key could be read from the key's PEM (or it is encrypted).
        public static let invalidPrivateKey = Code(.invalidPrivateKey)
        /// No CA certificate could be read from the trust roots' PEM.
        public static let invalidTrustRoots = Code(.invalidTrustRoots)
        /// Certificate and key each parsed, but do not form a pair.
        public static let keyDoesNotMatchCertificate = Code(.keyDoesNotMatchCertificate)

        public var description: String { base.rawValue }
    }

    public let code: Code
    /// What the TLS library said, for `debugDescription` only.
    let underlying: String?

    init(_ code: Code, underlying: (any Error)? = nil) {
        self.code = code
        self.underlying = underlying.map { String(describing: $0) }
    }

    public static let invalidCertificate = RPCTLSError(.invalidCertificate)
    public static let invalidPrivateKey = RPCTLSError(.invalidPrivateKey)
    public static let invalidTrustRoots = RPCTLSError(.invalidTrustRoots)
    public static let keyDoesNotMatchCertificate = RPCTLSError(.keyDoesNotMatchCertificate)

    public static func == (lhs: RPCTLSError, rhs: RPCTLSError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public var description: String {
        switch code {
        case .invalidCertificate:
            "no certificate could be read: expected PEM (-----BEGIN CERTIFICATE-----), the leaf first, then any intermediates"
        case .invalidPrivateKey:
            "no private key could be read: expected an unencrypted PEM key (-----BEGIN PRIVATE KEY-----, or RSA / EC PRIVATE KEY)"
        case .invalidTrustRoots:
            "no CA certificate could be read: expected one or more PEM certificates (-----BEGIN CERTIFICATE-----)"
        default:
            "the private key does not belong to the certificate (the first certificate of the chain must be the key's)"
        }
    }

    public var debugDescription: String {
        underlying.map { "\(description) [\($0)]" } ?? description
    }
}
