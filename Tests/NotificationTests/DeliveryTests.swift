import Contracts
import JSONCoding
import LineProtocol
import NotificationService
import Postgres
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

@Suite("Sends through real SMTP and HTTP servers", .serialized)
struct DeliveryTests {
    @Test func anAcceptedCaseArrivesAsProperMIMEEmailAndAsAnSMS() async throws {
        try await NotificationHarness.run { harness in
            let result = try await harness.send(acceptedParams(key: "case/1/accepted"))
            #expect(result.created && result.deliveries == 2)
            let status = try await harness.waitUntilSettled(key: "case/1/accepted")
            #expect(status.deliveries.map(\.status) == ["sent", "sent"])
            #expect(status.deliveries.allSatisfy { $0.attempts == 1 && $0.history.map(\.outcome) == ["sent"] })
            #expect(status.deliveries[0].address == "+86138****5678")

            let mail = try #require(try await harness.smtp.waitForRecords(1).first)
            #expect(mail["subject"]?.stringValue == "您的申请已受理：SQ20261123-0042-K")
            let rawHeaders = mail["rawHeaders"]?.stringValue ?? ""
            #expect(rawHeaders.contains("Subject: =?UTF-8?B?"))
            #expect(rawHeaders.contains("MIME-Version: 1.0"))
            #expect(mail["contentType"]?.stringValue == "multipart/alternative")
            #expect(mail["from"]?.stringValue == "OneStop Service Hall <noreply@onestop.local>")
            #expect(mail["replyTo"]?.stringValue == "help@onestop.local")
            #expect(mail["to"]?.stringValue == "张三 <zhang.san@example.org>")
            #expect(mail["messageId"]?.stringValue == "<\(MIMEMessageIDProbe.id(key: "case/1/accepted", recipient: "zhang.san@example.org"))@onestop.local>")
            #expect(mail["date"]?.stringValue?.hasSuffix("+0000") == true)
            #expect(mail["defects"]?.arrayValue?.isEmpty == true)
            let plain = mail["parts"]?["text/plain"]?.stringValue ?? ""
            let html = mail["parts"]?["text/html"]?.stringValue ?? ""
            for value in ["张三", "SQ20261123-0042-K", "7F3K2Q", "营业执照变更登记", "2026-12-07"] {
                #expect(plain.contains(value), "plain part lacks \(value)")
                #expect(html.contains(value), "HTML part lacks \(value)")
            }
            #expect(html.contains("<p>"))

            let sms = try #require(try await harness.sms.waitForRecords(1).first)
            #expect(sms["idempotencyKey"]?.stringValue == status.deliveries[0].id)
            let body = try JSON.parse(sms["body"]?.stringValue ?? "")
            #expect(body["to"]?.stringValue == "+8613812345678")
            #expect(body["text"]?.stringValue == "【一站式服务大厅】张三您好，您申请的营业执照变更登记已受理，受理编号SQ20261123-0042-K，查询码7F3K2Q，承诺办结日期2026-12-07。")
            #expect(body["reference"]?.stringValue == status.deliveries[0].id)
            #expect(status.deliveries[0].providerId == "sms-1")
            let n_notification_audit = try await harness.count("notification_audit")
            #expect(n_notification_audit >= 3)
        }
    }

    @Test func aRepeatedKeyDeliversOnce() async throws {
        try await NotificationHarness.run { harness in
            let first = try await harness.send(acceptedParams(key: "case/2/accepted"))
            try await harness.waitUntilSettled(key: "case/2/accepted")
            let again = try await harness.send(acceptedParams(key: "case/2/accepted"))
            #expect(first.created && !again.created)
            #expect(again.messageId == first.messageId && again.deliveries == 2)
            try await Task.sleep(for: .milliseconds(500))
            #expect(harness.smtp.records().count == 1)
            #expect(harness.sms.records().count == 1)
            let n_notification_deliveries = try await harness.count("notification_deliveries")
            #expect(n_notification_deliveries == 2)
        }
    }

    @Test func aMissingVariableIsRefusedAndNothingIsWritten() async throws {
        try await NotificationHarness.run { harness in
            var params = acceptedParams(key: "case/3/accepted")
            params.variables["accessCode"] = nil
            await #expect {
                _ = try await harness.send(params)
            } throws: { error in
                guard let error = error as? RPCError else { return false }
                return error.kind == .invalidParams && error.message.contains("accessCode")
            }
            var badPhone = acceptedParams(key: "case/3/accepted", phone: "13812345678")
            badPhone.channels = [.sms]
            await #expect(throws: RPCError.self) { _ = try await harness.send(badPhone) }
            let noAddress = acceptedParams(key: "case/3/accepted", phone: nil, channels: [.sms])
            await #expect(throws: RPCError.self) { _ = try await harness.send(noAddress) }
            let n_notification_messages = try await harness.count("notification_messages")
            #expect(n_notification_messages == 0)
            let n_notification_deliveries = try await harness.count("notification_deliveries")
            #expect(n_notification_deliveries == 0)
            let n_messaging_jobs = try await harness.count("messaging_jobs")
            #expect(n_messaging_jobs == 0)
            let n_notification_audit = try await harness.count("notification_audit")
            #expect(n_notification_audit == 0)
            let unknown = await #expect(throws: RPCError.self) { _ = try await harness.status(key: "case/3/accepted") }
            #expect(unknown?.kind == .notFound)
        }
    }

    @Test func serverErrorsAreRetriedUntilAccepted() async throws {
        try await NotificationHarness.run { harness in
            try await harness.sms.setMode("500", count: 2)
            _ = try await harness.send(acceptedParams(key: "case/4/accepted", email: nil, channels: [.sms]))
            let status = try await harness.waitUntilSettled(key: "case/4/accepted")
            let delivery = try #require(status.deliveries.first)
            #expect(delivery.status == "sent")
            #expect(delivery.history.map(\.outcome) == ["retry", "retry", "sent"])
            #expect(delivery.history.first?.reason == "http_5xx" && delivery.history.first?.providerStatus == 500)
            let records = harness.sms.records()
            #expect(records.map { $0["status"]?.intValue } == [500, 500, 200])
            // Every attempt carries the same idempotency key.
            #expect(Set(records.compactMap { $0["idempotencyKey"]?.stringValue }) == [delivery.id])
        }
    }

    @Test func tooManyRequestsWaitsForRetryAfter() async throws {
        try await NotificationHarness.run { harness in
            try await harness.sms.setMode("429", count: 1, retryAfter: 2)
            _ = try await harness.send(acceptedParams(key: "case/5/accepted", email: nil, channels: [.sms]))
            let status = try await harness.waitUntilSettled(key: "case/5/accepted")
            let delivery = try #require(status.deliveries.first)
            #expect(delivery.history.map(\.outcome) == ["retry", "sent"])
            #expect(delivery.history.first?.reason == "http_429")
            let gap = delivery.history[1].at.timeIntervalSince(delivery.history[0].at)
            #expect(gap >= 1.9, "retried after \(gap) s although Retry-After said 2")
        }
    }

    @Test func aClientErrorFailsAtOnceWithoutRetry() async throws {
        try await NotificationHarness.run { harness in
            try await harness.sms.setMode("400")
            _ = try await harness.send(acceptedParams(key: "case/6/accepted", email: nil, channels: [.sms]))
            let status = try await harness.waitUntilSettled(key: "case/6/accepted")
            #expect(status.deliveries.first?.status == "failed")
            #expect(status.deliveries.first?.history.map(\.reason) == ["http_4xx"])
            try await Task.sleep(for: .milliseconds(600))
            #expect(harness.sms.records().count == 1)
        }
    }

    @Test func aHangingGatewayTimesOutAndIsRetried() async throws {
        try await NotificationHarness.run(settings: ["ONESTOP_NOTIFY_TIMEOUT_SECONDS": "1"]) { harness in
            try await harness.sms.setMode("hang", count: 1)
            _ = try await harness.send(acceptedParams(key: "case/7/accepted", email: nil, channels: [.sms]))
            let status = try await harness.waitUntilSettled(key: "case/7/accepted")
            let delivery = try #require(status.deliveries.first)
            #expect(delivery.status == "sent")
            #expect(delivery.history.map(\.reason) == ["timeout", nil])
        }
    }

    @Test func smtpRejectionsArePermanentOrRetriedByTheirCode() async throws {
        try await NotificationHarness.run(settings: ["ONESTOP_NOTIFY_MAX_ATTEMPTS": "3"]) { harness in
            _ = try await harness.send(acceptedParams(key: "case/8/a", phone: nil, email: "reject550@example.org", channels: [.email]))
            _ = try await harness.send(acceptedParams(key: "case/8/b", phone: nil, email: "tempfail@example.org", channels: [.email]))
            let rejected = try await harness.waitUntilSettled(key: "case/8/a")
            #expect(rejected.deliveries.first?.status == "failed")
            #expect(rejected.deliveries.first?.history.map(\.outcome) == ["failed"])
            #expect(rejected.deliveries.first?.history.first?.providerStatus == 550)
            let deferred = try await harness.waitUntilSettled(key: "case/8/b")
            #expect(deferred.deliveries.first?.status == "dead")
            #expect(deferred.deliveries.first?.history.map(\.outcome) == ["retry", "retry", "dead"])
            #expect(deferred.deliveries.first?.history.allSatisfy { $0.reason == "smtp_4xx" } == true)
            #expect(harness.smtp.records().isEmpty)
            // The hard bounce is now suppressed: the next message to it is not even tried.
            _ = try await harness.send(acceptedParams(key: "case/8/c", phone: nil, email: "reject550@example.org", channels: [.email]))
            let suppressed = try await harness.waitUntilSettled(key: "case/8/c")
            #expect(suppressed.deliveries.first?.status == "suppressed")
        }
    }

    @Test func anOptedOutNumberIsNotSentTo() async throws {
        try await NotificationHarness.run { harness in
            let added = try await harness.client.call(NotificationSuppress.self, .init(channel: .sms, address: "+8613812345678", reason: "opt_out"))
            #expect(added.changed)
            _ = try await harness.send(acceptedParams(key: "case/9/accepted"))
            let status = try await harness.waitUntilSettled(key: "case/9/accepted")
            #expect(status.deliveries.map(\.status) == ["suppressed", "sent"])
            try await harness.smtp.waitForRecords(1)
            #expect(harness.sms.records().isEmpty)
            await #expect(throws: RPCError.self) {
                _ = try await harness.client.call(NotificationSuppress.self, .init(channel: .email, address: "not an address"))
            }
        }
    }

    @Test func nonUrgentSMSWaitsForTheEndOfQuietHoursButUrgentOnesGo() async throws {
        // Quiet around the clock (00:00-23:59 local) so the test does not depend on the time of day.
        try await NotificationHarness.run(settings: ["ONESTOP_QUIET_HOURS": "00:00-23:59", "ONESTOP_QUIET_HOURS_UTC_OFFSET": "+00:00"]) { harness in
            _ = try await harness.send(acceptedParams(key: "case/10/normal", email: nil, channels: [.sms]))
            _ = try await harness.send(acceptedParams(key: "case/10/urgent", phone: "+8613900000000", email: nil, channels: [.sms], urgency: .urgent))
            try await harness.waitUntilSettled(key: "case/10/urgent")
            try await Task.sleep(for: .milliseconds(500))
            let normal = try await harness.status(key: "case/10/normal")
            #expect(normal.deliveries.first?.status == "pending")
            #expect(harness.sms.records().count == 1)
            #expect(harness.sms.records().first?["body"]?.stringValue?.contains("+8613900000000") == true)
        }
    }

    @Test func aLongSMSIsSplitIntoOneSegmentPartsWhenConfigured() async throws {
        try await NotificationHarness.run(settings: ["ONESTOP_SMS_LONG_TEXT": "split"]) { harness in
            var params = acceptedParams(key: "case/11/accepted", email: nil, channels: [.sms])
            params.template = .caseMaterialsMissing
            params.variables = sampleVariables(.caseMaterialsMissing, locale: .zhCN)
            params.variables["missingItems"] = "身份证复印件两份、营业执照正本、法定代表人授权委托书"
            _ = try await harness.send(params)
            let status = try await harness.waitUntilSettled(key: "case/11/accepted")
            let records = harness.sms.records()
            #expect(records.count > 1)
            #expect(status.deliveries.first?.providerId?.split(separator: ",").count == records.count)
            let keys = records.compactMap { $0["idempotencyKey"]?.stringValue }
            #expect(Set(keys).count == records.count)
        }
        try await NotificationHarness.run(settings: ["ONESTOP_SMS_LONG_TEXT": "refuse"]) { harness in
            var params = acceptedParams(key: "case/12/accepted", email: nil, channels: [.sms])
            params.variables["serviceName"] = String(repeating: "很长的服务名称", count: 10)
            await #expect(throws: RPCError.self) { _ = try await harness.send(params) }
            let n_notification_messages = try await harness.count("notification_messages")
            #expect(n_notification_messages == 0)
        }
    }
    @Test func theTwilioProfilePostsAFormWithBasicAuth() async throws {
        try await NotificationHarness.run(settings: [
            "ONESTOP_SMS_PROVIDER": "twilio", "ONESTOP_SMS_ACCOUNT_SID": "AC123", "ONESTOP_SMS_AUTH_TOKEN": "secret", "ONESTOP_SMS_FROM": "+15005550006",
        ]) { harness in
            _ = try await harness.send(acceptedParams(key: "case/13/accepted", email: nil, locale: .en, channels: [.sms]))
            let status = try await harness.waitUntilSettled(key: "case/13/accepted")
            #expect(status.deliveries.first?.status == "sent")
            let record = try #require(try await harness.sms.waitForRecords(1).first)
            #expect(record["contentType"]?.stringValue == "application/x-www-form-urlencoded")
            #expect(record["auth"]?.stringValue == "Basic " + Data("AC123:secret".utf8).base64EncodedString())
            let body = record["body"]?.stringValue ?? ""
            #expect(body.hasPrefix("To=%2B8613812345678&From=%2B15005550006&Body=%5BOneStop%5D%20Dear%20"))
            // Twilio takes no idempotency header.
            #expect(record["idempotencyKey"] == .null)
        }
    }
}

/// The Message-ID the service derives, recomputed through its public helper.
enum MIMEMessageIDProbe {
    static func id(key: String, recipient: String) -> String {
        let full = MIMEMessage.messageID(key: key, recipient: recipient, domain: "onestop.local")
        return String(full.dropFirst().prefix { $0 != "@" })
    }
}
