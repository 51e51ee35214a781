import TestSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// A throwaway certificate authority and a server certificate it signed for 127.0.0.1 and
/// localhost, made with the `openssl` command in a temporary directory (EC P-256, valid two days).
/// Nothing trusts the CA unless given its file, so a client without it must refuse the server.
struct TestCertificates {
    let directory: URL
    /// The CA's certificate (PEM): what `ONESTOP_SMTP_CA_FILE` points at.
    var caFile: String { directory.appendingPathComponent("ca.pem").path }
    var serverCertificate: String { directory.appendingPathComponent("server.pem").path }
    var serverKey: String { directory.appendingPathComponent("server.key").path }

    static let opensslPath = "/usr/bin/openssl"

    static func make() async throws -> TestCertificates {
        guard FileManager.default.isExecutableFile(atPath: opensslPath) else {
            throw SinkError(description: "\(opensslPath) is missing: install the openssl package")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("onestop-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificates = TestCertificates(directory: directory)
        do {
            try certificates.write("ca.cnf", """
                [req]
                distinguished_name = dn
                prompt = no
                x509_extensions = ext
                [dn]
                CN = OneStop throwaway test CA
                [ext]
                basicConstraints = critical, CA:TRUE
                keyUsage = critical, keyCertSign, cRLSign
                subjectKeyIdentifier = hash
                """)
            try certificates.write("server.cnf", """
                basicConstraints = CA:FALSE
                keyUsage = critical, digitalSignature, keyEncipherment
                extendedKeyUsage = serverAuth
                subjectAltName = IP:127.0.0.1, DNS:localhost
                """)
            let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
            let file = { (name: String) in directory.appendingPathComponent(name).path }
            try await openssl(["req", "-x509"] + ec + ["-keyout", file("ca.key"), "-out", file("ca.pem"), "-days", "2", "-config", file("ca.cnf")])
            try await openssl(["req", "-new"] + ec + ["-keyout", file("server.key"), "-out", file("server.csr"), "-subj", "/CN=127.0.0.1"])
            try await openssl([
                "x509", "-req", "-in", file("server.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial",
                "-out", file("server.pem"), "-days", "2", "-extfile", file("server.cnf"),
            ])
        } catch {
            certificates.remove()
            throw error
        }
        return certificates
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    private func write(_ name: String, _ text: String) throws {
        try Data((text + "\n").utf8).write(to: directory.appendingPathComponent(name))
    }

    private static func openssl(_ arguments: [String]) async throws {
        let process = try ChildProcess(path: opensslPath, name: "openssl", arguments: arguments)
        await process.waitForExit(timeout: .seconds(30))
        guard process.terminationStatus == 0 else {
            throw SinkError(description: "openssl \(arguments.prefix(2).joined(separator: " ")) failed: \(process.outputSoFar.suffix(1000))")
        }
    }
}
