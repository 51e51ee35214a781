import Contracts
import JSONCoding
@testable import NotificationService
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

@Suite("Templates, SMS segments and MIME")
struct ContentTests {
    @Test func everyTemplateLoadsInBothLocalesWithExactlyItsVariables() throws {
        let catalog = try TemplateCatalog.bundled()
        for template in NotificationTemplate.allCases {
            for locale in CustomerLocale.allCases {
                let variables = sampleVariables(template, locale: locale)
                let rendered = catalog.render(template, locale, variables: variables)
                for name in template.requiredVariables {
                    let value = variables[name]!
                    // Every variable appears somewhere; none is left as a placeholder.
                    #expect(rendered.text.contains(value) || rendered.sms.contains(value) || rendered.subject.contains(value), "\(template.rawValue) \(locale.rawValue) lacks \(name)")
                }
                for part in [rendered.sms, rendered.subject, rendered.text, rendered.html] {
                    #expect(!part.contains("{{"), "\(template.rawValue) \(locale.rawValue) left a placeholder")
                }
            }
        }
    }

    @Test func aTemplateFileWithAnUnknownVariableIsRefused() throws {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Services/Notification/Service/Templates").standardized
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("templates-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: source, to: directory)
        defer { try? FileManager.default.removeItem(at: directory) }
        // The copy loads as it is.
        _ = try TemplateCatalog.load(directory: directory)
        let file = directory.appendingPathComponent("case.lapsed.json")
        let text = try String(contentsOf: file, encoding: .utf8).replacingOccurrences(of: "{{serviceName}}", with: "{{serviceNme}}")
        try text.write(to: file, atomically: true, encoding: .utf8)
        #expect {
            _ = try TemplateCatalog.load(directory: directory)
        } throws: { error in
            "\(error)".contains("serviceNme") && "\(error)".contains("case.lapsed")
        }
    }

    @Test func missingVariablesAreNamedInTemplateOrder() {
        var variables = sampleVariables(.caseCompletedWithPickup)
        variables["pickupPlace"] = nil
        variables["result"] = "  "
        #expect(TemplateCatalog.missingVariables(.caseCompletedWithPickup, in: variables) == ["result", "pickupPlace"])
    }

    @Test func htmlValuesAreEscaped() throws {
        let catalog = try TemplateCatalog.bundled()
        var variables = sampleVariables(.caseRejected)
        variables["reasons"] = "<script>alert(1)</script> & more"
        let rendered = catalog.render(.caseRejected, .en, variables: variables)
        #expect(rendered.html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"))
        #expect(rendered.text.contains("<script>alert(1)</script> & more"))
    }

    @Test(arguments: [
        (String(repeating: "a", count: 160), SMSSegments.Encoding.gsm7, 1),
        (String(repeating: "a", count: 161), .gsm7, 2),
        (String(repeating: "a", count: 306), .gsm7, 2),
        (String(repeating: "a", count: 307), .gsm7, 3),
        (String(repeating: "€", count: 80), .gsm7, 1),
        (String(repeating: "€", count: 81), .gsm7, 2),
        (String(repeating: "中", count: 70), .ucs2, 1),
        (String(repeating: "中", count: 71), .ucs2, 2),
        (String(repeating: "中", count: 134), .ucs2, 2),
        (String(repeating: "中", count: 135), .ucs2, 3),
        (String(repeating: "a", count: 69) + "😀", .ucs2, 2),
    ])
    func segmentsAreCountedPerEncoding(text: String, encoding: SMSSegments.Encoding, segments: Int) {
        let counted = SMSSegments(text)
        #expect(counted.encoding == encoding)
        #expect(counted.segments == segments)
    }

    @Test func splitPartsEachFitOneSegment() {
        for text in [String(repeating: "办理进度查询", count: 40), String(repeating: "Your case {is} ready. ", count: 30)] {
            let parts = SMSSegments.split(text)
            #expect(parts.count > 1)
            for part in parts { #expect(SMSSegments(part).segments == 1, "\(part)") }
            #expect(parts.first!.hasPrefix("(1/\(parts.count)) "))
        }
    }

    @Test func subjectIsEncodedAsRFC2047WordsOfAtMost75Characters() {
        let subject = "您的申请已受理：SQ20261123-0042-K 营业执照变更登记，请妥善保管查询码"
        let encoded = MIMEMessage.encodedWords(subject)
        let words = encoded.components(separatedBy: "\r\n ")
        #expect(words.count > 1)
        var decoded: [UInt8] = []
        for word in words {
            #expect(word.count <= 75)
            #expect(word.hasPrefix("=?UTF-8?B?") && word.hasSuffix("?="))
            decoded += Data(base64Encoded: String(word.dropFirst(10).dropLast(2)))!
        }
        #expect(String(decoding: decoded, as: UTF8.self) == subject)
        #expect(MIMEMessage.encodedWords("Plain ASCII") == "Plain ASCII")
    }

    @Test func messageIDIsStablePerKeyAndRecipient() {
        let a = MIMEMessage.messageID(key: "case/1/accepted", recipient: "A@example.org", domain: "onestop.local")
        #expect(a == MIMEMessage.messageID(key: "case/1/accepted", recipient: "a@example.org", domain: "onestop.local"))
        #expect(a != MIMEMessage.messageID(key: "case/2/accepted", recipient: "a@example.org", domain: "onestop.local"))
        #expect(a.hasPrefix("<") && a.hasSuffix("@onestop.local>"))
    }

    @Test func dateHeaderIsRFC5322() {
        #expect(MIMEMessage.rfc5322Date(Date(timeIntervalSince1970: 1_795_451_064)) == "Mon, 23 Nov 2026 16:24:24 +0000")
        #expect(MIMEMessage.rfc5322Date(Date(timeIntervalSince1970: 0)) == "Thu, 01 Jan 1970 00:00:00 +0000")
    }

    @Test func quietHoursAcrossMidnightEndNextMorningLocalTime() throws {
        let quiet = try #require(QuietHours.parse("22:00-08:00", utcOffsetMinutes: 480) ?? nil)
        // 2026-11-23 16:30 UTC = 00:30 at +08:00 → quiet until 08:00 +08:00 = 00:00 UTC on the 24th.
        let night = Date(timeIntervalSince1970: 1_795_451_064 + 6 * 60)
        #expect(quiet.end(after: night) == Date(timeIntervalSince1970: 1_795_478_400))
        // 06:00 UTC = 14:00 at +08:00: not quiet.
        #expect(quiet.end(after: Date(timeIntervalSince1970: 1_795_413_600)) == nil)
    }

    @Test func retryClassificationFollowsTheProtocols() {
        func http(_ status: Int, retryAfter: String? = nil) -> CurlResult {
            CurlResult(code: 0, errorMessage: "", responseCode: status, headers: retryAfter.map { ["retry-after": $0] } ?? [:], body: Array(#"{"id":"x1"}"#.utf8), elapsed: .zero)
        }
        #expect(ProviderTransport.classifyHTTP(http(200)) == .sent(providerID: "x1"))
        #expect(ProviderTransport.classifyHTTP(http(429, retryAfter: "7")) == .retry(reason: "http_429", detail: "HTTP 429: {\"id\":\"x1\"}", retryAfter: .seconds(7)))
        if case .retry = ProviderTransport.classifyHTTP(http(503)) {} else { Issue.record("503 must be retried") }
        if case .permanent = ProviderTransport.classifyHTTP(http(400)) {} else { Issue.record("400 must be permanent") }
        let timeout = CurlResult(code: 28, errorMessage: "timed out", responseCode: 0, headers: [:], body: [], elapsed: .zero)
        if case .retry(let reason, _, _) = ProviderTransport.classifyHTTP(timeout) { #expect(reason == "timeout") } else { Issue.record("timeouts must be retried") }
        let smtp4 = CurlResult(code: 55, errorMessage: "RCPT failed", responseCode: 451, headers: [:], body: [], elapsed: .zero)
        if case .retry(let reason, _, _) = ProviderTransport.classifySMTP(smtp4, messageID: "<m>") { #expect(reason == "smtp_4xx") } else { Issue.record("SMTP 4xx must be retried") }
        let smtp5 = CurlResult(code: 55, errorMessage: "RCPT failed", responseCode: 550, headers: [:], body: [], elapsed: .zero)
        #expect(ProviderTransport.classifySMTP(smtp5, messageID: "<m>") == .permanent(reason: "smtp_5xx", detail: "SMTP 550: RCPT failed", suppress: "hard_bounce"))
    }

    @Test func tokenBucketAllowsTheBurstThenPacesAtTheRate() {
        let bucket = TokenBucket(rate: 100, burst: 5)
        for _ in 0..<5 { #expect(bucket.reserve() == .zero) }
        let wait = bucket.reserve()
        #expect(wait > .milliseconds(5) && wait <= .milliseconds(11))
    }

    @Test func settingsRejectBadValuesAllAtOnce() {
        #expect(throws: (any Error).self) {
            try NotificationSettings(environment: ["ONESTOP_SMTP_URL": "http://x", "ONESTOP_QUIET_HOURS": "late", "ONESTOP_SMTP_STARTTLS": "maybe"])
        }
        do {
            _ = try NotificationSettings(environment: ["ONESTOP_SMTP_URL": "http://x", "ONESTOP_QUIET_HOURS": "late", "ONESTOP_SMTP_STARTTLS": "maybe"])
        } catch {
            let text = "\(error)"
            #expect(text.contains("ONESTOP_SMTP_URL") && text.contains("ONESTOP_QUIET_HOURS") && text.contains("ONESTOP_SMTP_STARTTLS"))
        }
    }
}
