import Foundation

/// Throwaway certificates for TLS tests, made once per test process with the `openssl` command
/// (OpenSSL 1.1.1 or 3.x) in a temporary folder: two unrelated CAs and leaves signed by them.
///
/// Every leaf is valid for both server and client use, for `127.0.0.1` and `localhost`, except
/// `misnamed`, which names only `elsewhere.invalid`. Keys are unencrypted P-256 (PKCS #8).
public struct TestCertificates: Sendable {
    /// A certificate and its key, as files and as PEM bytes.
    public struct Leaf: Sendable {
        public let certificateFile: String
        public let keyFile: String
        public var certificatePEM: [UInt8] { Self.read(certificateFile) }
        public var keyPEM: [UInt8] { Self.read(keyFile) }

        static func read(_ path: String) -> [UInt8] {
            (FileManager.default.contents(atPath: path)).map { [UInt8]($0) } ?? []
        }
    }

    public let directory: String
    /// The CA that signed `server`, `client` and `misnamed`.
    public let caFile: String
    /// An unrelated CA that signed `stranger`.
    public let otherCAFile: String
    public let server: Leaf
    public let client: Leaf
    public let misnamed: Leaf
    /// Signed by the other CA: refused by anyone trusting only `caFile`.
    public let stranger: Leaf

    public var caPEM: [UInt8] { Leaf.read(caFile) }
    public var otherCAPEM: [UInt8] { Leaf.read(otherCAFile) }

    /// The certificates of this test process (made on first use).
    public static func shared() throws -> TestCertificates {
        try made.get()
    }

    private static let made: Result<TestCertificates, TestCertificateError> = Result { () throws(TestCertificateError) in
        try TestCertificates(directory: FileManager.default.temporaryDirectory
            .appendingPathComponent("onestop-tls-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))").path)
    }

    private init(directory: String) throws(TestCertificateError) {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Self.configuration.write(toFile: "\(directory)/openssl.cnf", atomically: true, encoding: .utf8)
        } catch {
            throw TestCertificateError(description: "cannot write to \(directory): \(error)")
        }
        func run(_ arguments: [String]) throws(TestCertificateError) {
            try Self.openssl(arguments, in: directory)
        }
        func makeCA(_ name: String, subject: String) throws(TestCertificateError) {
            try run(["req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", "\(name).key", "-out", "\(name).pem", "-days", "7", "-subj", subject,
                     "-config", "openssl.cnf", "-extensions", "ca"])
        }
        func makeLeaf(_ name: String, ca: String, extensions: String) throws(TestCertificateError) -> Leaf {
            try run(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", "\(name).key", "-out", "\(name).csr", "-subj", "/CN=\(name)", "-config", "openssl.cnf"])
            try run(["x509", "-req", "-in", "\(name).csr", "-CA", "\(ca).pem", "-CAkey", "\(ca).key",
                     "-set_serial", "0x\(UInt64.random(in: 1...UInt64.max / 2).hexString)", "-days", "7", "-sha256",
                     "-out", "\(name).pem", "-extfile", "openssl.cnf", "-extensions", extensions])
            return Leaf(certificateFile: "\(directory)/\(name).pem", keyFile: "\(directory)/\(name).key")
        }
        try makeCA("ca", subject: "/CN=OneStop test CA")
        try makeCA("other-ca", subject: "/CN=Some other CA")
        self.caFile = "\(directory)/ca.pem"
        self.otherCAFile = "\(directory)/other-ca.pem"
        self.server = try makeLeaf("server", ca: "ca", extensions: "leaf")
        self.client = try makeLeaf("client", ca: "ca", extensions: "leaf")
        self.misnamed = try makeLeaf("misnamed", ca: "ca", extensions: "misnamed")
        self.stranger = try makeLeaf("stranger", ca: "other-ca", extensions: "leaf")
    }

    private static let configuration = """
        [req]
        distinguished_name = dn
        prompt = no
        [dn]
        CN = unused
        [ca]
        basicConstraints = critical,CA:TRUE
        keyUsage = critical,keyCertSign,cRLSign
        subjectKeyIdentifier = hash
        [leaf]
        basicConstraints = CA:FALSE
        keyUsage = critical,digitalSignature
        extendedKeyUsage = serverAuth,clientAuth
        subjectAltName = IP:127.0.0.1,DNS:localhost
        [misnamed]
        basicConstraints = CA:FALSE
        keyUsage = critical,digitalSignature
        extendedKeyUsage = serverAuth,clientAuth
        subjectAltName = DNS:elsewhere.invalid

        """

    private static func openssl(_ arguments: [String], in directory: String) throws(TestCertificateError) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw TestCertificateError(description: "cannot run openssl (is it installed?): \(error)")
        }
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestCertificateError(description: "openssl \(arguments.prefix(2).joined(separator: " ")) failed: \(String(decoding: message, as: UTF8.self))")
        }
    }
}

public struct TestCertificateError: Error, CustomStringConvertible {
    public let description: String
}

extension UInt64 {
    fileprivate var hexString: String { String(self, radix: 16) }
}
