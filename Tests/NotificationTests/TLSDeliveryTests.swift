import Contracts
import JSONCoding
import NotificationService
import RPCTesting
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Email over TLS (STARTTLS and SMTPS) with SMTP AUTH, against a real aiosmtpd holding a
/// certificate from a throwaway CA made for each test.
@Suite("Email over TLS with SMTP AUTH", .serialized)
struct TLSDeliveryTests {
    static let user = "onestop-mailer"
    static let password = "correct horse battery staple"

    static func tlsSettings(_ certificates: TestCertificates?, starttls: String = "required", password: String = Self.password) -> [String: String] {
        var settings = ["ONESTOP_SMTP_STARTTLS": starttls, "ONESTOP_SMTP_USER": user, "ONESTOP_SMTP_PASSWORD": password]
        if let certificates { settings["ONESTOP_SMTP_CA_FILE"] = certificates.caFile }
        return settings
    }

    static func starttlsSink(_ certificates: TestCertificates) -> [String] {
        ["--starttls", certificates.server.certificateFile, certificates.server.keyFile, "--require-starttls", "--auth", "\(user):\(password)"]
    }

    static func emailOnly(_ key: String) -> NotificationSend.Params {
        acceptedParams(key: key, phone: nil, channels: [.email])
    }

    @Test func starttlsWithAuthAndAPrivateCADeliversOverTLSAsTheUser() async throws {
        let certificates = try TestCertificates.shared()
        try await NotificationHarness.run(settings: Self.tlsSettings(certificates), smtpSink: Self.starttlsSink(certificates)) { harness in
            _ = try await harness.send(Self.emailOnly("tls/starttls"))
            let status = try await harness.waitUntilSettled(key: "tls/starttls")
            #expect(status.deliveries.map(\.status) == ["sent"])
            #expect(status.deliveries.first?.history.map(\.outcome) == ["sent"])

            let mail = try #require(try await harness.smtp.waitForRecords(1).first)
            #expect(mail["tls"]?.boolValue == true)
            #expect(mail["tlsVersion"]?.stringValue?.hasPrefix("TLSv1.") == true)
            #expect(mail["authUser"]?.stringValue == Self.user)
            #expect(mail["rcpt"]?.arrayValue?.compactMap(\.stringValue) == ["zhang.san@example.org"])
            #expect(mail["subject"]?.stringValue == "您的申请已受理：SQ20261123-0042-K")
        }
    }

    @Test func smtpsWithImplicitTLSDelivers() async throws {
        let certificates = try TestCertificates.shared()
        // smtps:// speaks TLS from the first byte; the STARTTLS setting does not apply to it.
        let sink = ["--smtps", certificates.server.certificateFile, certificates.server.keyFile, "--auth", "\(Self.user):\(Self.password)"]
        try await NotificationHarness.run(settings: Self.tlsSettings(certificates, starttls: "optional"), smtpSink: sink) { harness in
            #expect(harness.settings.smtpURL.hasPrefix("smtps://"))
            _ = try await harness.send(Self.emailOnly("tls/smtps"))
            let status = try await harness.waitUntilSettled(key: "tls/smtps")
            #expect(status.deliveries.map(\.status) == ["sent"])
            let mail = try #require(try await harness.smtp.waitForRecords(1).first)
            #expect(mail["tls"]?.boolValue == true)
            #expect(mail["authUser"]?.stringValue == Self.user)
        }
    }

    @Test func requiredStarttlsAgainstAServerWithoutItIsARetryableTLSFailureAndNothingGoesInClear() async throws {
        var settings = Self.tlsSettings(nil)
        settings["ONESTOP_NOTIFY_MAX_ATTEMPTS"] = "2"
        // A plain server: no STARTTLS offered; it would even take AUTH in clear.
        try await NotificationHarness.run(settings: settings, smtpSink: ["--auth", "\(Self.user):\(Self.password)"]) { harness in
            _ = try await harness.send(Self.emailOnly("tls/not-offered"))
            let status = try await harness.waitUntilSettled(key: "tls/not-offered")
            let delivery = try #require(status.deliveries.first)
            #expect(delivery.status == "dead")
            #expect(delivery.history.map(\.outcome) == ["retry", "dead"])
            #expect(delivery.history.allSatisfy { $0.reason == "tls" })
            // The server's last reply was EHLO's 250: no provider status, and the detail says what failed.
            #expect(delivery.history.allSatisfy { $0.providerStatus == nil }, "\(delivery.history.map(\.providerStatus))")
            #expect(delivery.history.first?.detail == "SMTP: STARTTLS not supported.", "\(delivery.history.first?.detail ?? "")")
            #expect(harness.smtp.records().isEmpty)
        }
    }

    @Test func aWrongPasswordFailsPermanentlyWithoutRetry() async throws {
        let certificates = try TestCertificates.shared()
        try await NotificationHarness.run(settings: Self.tlsSettings(certificates, password: "wrong password"), smtpSink: Self.starttlsSink(certificates)) { harness in
            _ = try await harness.send(Self.emailOnly("tls/wrong-password"))
            let status = try await harness.waitUntilSettled(key: "tls/wrong-password")
            let delivery = try #require(status.deliveries.first)
            #expect(delivery.status == "failed")
            #expect(delivery.history.map(\.outcome) == ["failed"])
            #expect(delivery.history.first?.providerStatus == 535)
            #expect(delivery.history.first?.reason == "smtp_5xx")
            try await Task.sleep(for: .milliseconds(600))
            #expect(try await harness.status(key: "tls/wrong-password").deliveries.first?.history.count == 1)
            #expect(harness.smtp.records().isEmpty)
            // Our credentials are wrong, not the customer's address: it is not suppressed.
            #expect(try await harness.count("notification_suppressions") == 0)
        }
    }

    @Test func aCertificateFromAnUntrustedCAIsRefused() async throws {
        let certificates = try TestCertificates.shared()
        var settings = Self.tlsSettings(nil)
        settings["ONESTOP_NOTIFY_MAX_ATTEMPTS"] = "1"
        try await NotificationHarness.run(settings: settings, smtpSink: Self.starttlsSink(certificates)) { harness in
            #expect(harness.settings.tlsVerify && harness.settings.smtpCAFile == nil)
            _ = try await harness.send(Self.emailOnly("tls/untrusted"))
            let status = try await harness.waitUntilSettled(key: "tls/untrusted")
            let delivery = try #require(status.deliveries.first)
            #expect(delivery.status == "dead")
            #expect(delivery.history.first?.reason == "tls")
            #expect(delivery.lastError?.hasPrefix("SMTP: SSL certificate problem") == true, "\(delivery.lastError ?? "")")
            #expect(delivery.history.first?.providerStatus == nil)
            #expect(harness.smtp.records().isEmpty)
        }
    }

    @Test func aMissingCAFileOrAPasswordThatCouldTravelInClearStopsTheServiceAtStart() throws {
        let missing = "/nonexistent/onestop-ca.pem"
        #expect {
            try NotificationSettings(environment: ["ONESTOP_SMTP_CA_FILE": missing])
        } throws: { error in
            "\(error)".contains("ONESTOP_SMTP_CA_FILE=\(missing) does not exist")
        }
        let notPEM = FileManager.default.temporaryDirectory.appendingPathComponent("onestop-not-a-ca-\(UUID().uuidString).pem")
        try Data("not a certificate\n".utf8).write(to: notPEM)
        defer { try? FileManager.default.removeItem(at: notPEM) }
        #expect {
            try NotificationSettings(environment: ["ONESTOP_SMTP_CA_FILE": notPEM.path])
        } throws: { error in
            "\(error)".contains("ONESTOP_SMTP_CA_FILE") && "\(error)".contains("no PEM certificate")
        }
        for starttls in ["optional", "off"] {
            #expect {
                try NotificationSettings(environment: Self.tlsSettings(nil, starttls: starttls))
            } throws: { error in
                "\(error)".contains("ONESTOP_SMTP_STARTTLS=\(starttls)") && "\(error)".contains("in clear")
            }
        }
        #expect(throws: (any Error).self) { try NotificationSettings(environment: ["ONESTOP_SMTP_TLS_VERIFY": "false"]) }
        _ = try NotificationSettings(environment: Self.tlsSettings(nil))
        _ = try NotificationSettings(environment: Self.tlsSettings(nil, starttls: "off").merging(["ONESTOP_SMTP_URL": "smtps://mail.example.org:465"]) { $1 })
    }
}
