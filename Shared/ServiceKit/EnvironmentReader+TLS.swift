import LineProtocol

extension EnvironmentReader {
    /// A certificate and private key from two variables naming PEM files; nil when neither is
    /// set. Only one of them, a missing or unreadable file, unusable PEM and a key that is not the
    /// certificate's are problems naming the variables.
    public mutating func tlsIdentity(certificate cert: String, key: String) -> RPCTLSIdentity? {
        let certPath = variables[cert], keyPath = variables[key]
        switch (certPath, keyPath) {
        case (nil, nil):
            return nil
        case (_?, nil):
            require(false, "\(cert) is set but \(key) is not: TLS needs the certificate and its private key; set both, or neither for plaintext")
        case (nil, _?):
            require(false, "\(key) is set but \(cert) is not: TLS needs the certificate and its private key; set both, or neither for plaintext")
        case (_?, _?):
            break
        }
        // Both files are read, so the problems of both are told at once.
        let certPEM = fileContents(cert)
        let keyPEM = fileContents(key)
        guard let certPEM, let keyPEM, let certPath, let keyPath else { return nil }
        do {
            let identity = try RPCTLSIdentity(certificateChainPEM: certPEM, privateKeyPEM: keyPEM)
            // Building a listener's TLS is what checks that the key is the certificate's.
            _ = try RPCServerTLS(identity: identity)
            return identity
        } catch {
            switch error.code {
            case .invalidPrivateKey: require(false, "\(key)=\(keyPath): \(error)")
            case .invalidCertificate: require(false, "\(cert)=\(certPath): \(error)")
            default: require(false, "\(key)=\(keyPath) and \(cert)=\(certPath): \(error)")
            }
            return nil
        }
    }
}
