import Contracts
import JSONCoding
@testable import NotificationService
import Postgres
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// ASVS V6.1.1 / V8.3.4: recipients' addresses and names, the rendered messages and a send's
/// variables are sealed at rest (AES-GCM, key id per row); the suppression list and the
/// one-delivery-per-address rule work on keyed hashes of the address.
@Suite("Notification keeps no personal data in clear", .serialized)
struct SealedDataTests {
    /// Every row of every table of the notification database, as text.
    static func everything(_ harness: NotificationHarness) async throws -> String {
        let tables = try await harness.database.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            .map { try $0.decode(String.self, column: "tablename") }
        #expect(tables.contains("notification_deliveries") && tables.contains("notification_suppressions") && tables.contains("messaging_jobs"))
        var text = ""
        for table in tables {
            let rows = try await harness.database.query(SQL(unsafeSQL: "SELECT coalesce(string_agg(t::text, '|'), '') AS s FROM \"\(table)\" t"))
            text += try rows[0].decode(String.self, column: "s")
        }
        return text
    }

    @Test func noAddressNameOrRenderedTextIsReadableInTheDatabaseAndDeliveryStillWorks() async throws {
        try await NotificationHarness.run { harness in
            _ = try await harness.send(acceptedParams(key: "sealed/1"))
            let status = try await harness.waitUntilSettled(key: "sealed/1")
            #expect(status.deliveries.map(\.status) == ["sent", "sent"])
            #expect(status.deliveries.map(\.address) == ["+86138****5678", "z***@example.org"])

            // The providers got the real addresses and texts.
            let mail = try #require(try await harness.smtp.waitForRecords(1).first)
            #expect(mail["rcpt"]?.arrayValue?.compactMap(\.stringValue) == ["zhang.san@example.org"])
            #expect(mail["to"]?.stringValue == "张三 <zhang.san@example.org>")
            let subject = try #require(mail["subject"]?.stringValue)
            #expect(subject == "您的申请已受理：SQ20261123-0042-K")
            let sms = try #require(try await harness.sms.waitForRecords(1).first)
            let smsText = try #require(try JSON.parse(sms["body"]?.stringValue ?? "")["text"]?.stringValue)
            #expect(try JSON.parse(sms["body"]?.stringValue ?? "")["to"]?.stringValue == "+8613812345678")

            // An opt-out given in another case is matched by the hash of the normalised address.
            #expect(try await harness.client.call(NotificationSuppress.self, .init(channel: .email, address: "Li.Si@Example.org")).changed)
            _ = try await harness.send(acceptedParams(key: "sealed/2", phone: nil, email: "li.si@example.org", channels: [.email]))
            #expect(try await harness.waitUntilSettled(key: "sealed/2").deliveries.map(\.status) == ["suppressed"])
            // A hard bounce suppresses by hash too: the next message to it is not tried.
            _ = try await harness.send(acceptedParams(key: "sealed/3", phone: nil, email: "reject550.wang@example.org", channels: [.email]))
            #expect(try await harness.waitUntilSettled(key: "sealed/3").deliveries.map(\.status) == ["failed"])
            _ = try await harness.send(acceptedParams(key: "sealed/4", phone: nil, email: "reject550.wang@example.org", channels: [.email]))
            #expect(try await harness.waitUntilSettled(key: "sealed/4").deliveries.map(\.status) == ["suppressed"])
            // A gateway's refusal that quotes the number is stored with the number masked.
            try await harness.sms.setMode("400", count: 1)
            _ = try await harness.send(acceptedParams(key: "sealed/5", phone: "+8613900001111", email: nil, channels: [.sms]))
            let refused = try #require(try await harness.waitUntilSettled(key: "sealed/5").deliveries.first)
            #expect(refused.status == "failed")
            #expect(refused.lastError?.contains("+86139****1111") == true, "\(refused.lastError ?? "")")
            #expect(harness.sms.records().last?["body"]?.stringValue?.contains("+8613900001111") == true)

            let database = try await Self.everything(harness)
            for secret in [
                "+8613812345678", "8613812345678", "zhang.san@example.org", "zhang.san", "li.si@example.org", "Li.Si", "reject550.wang",
                "+8613900001111", "8613900001111", "张三", "7F3K2Q", "营业执照变更登记", "SQ20261123-0042-K", subject, smsText,
            ] {
                #expect(!database.contains(secret), "\(secret) is readable in the notification database")
            }
            #expect(try await harness.count("notification_deliveries WHERE sealed_key_id = 'dev' AND address_cipher IS NOT NULL") == 6)
        }
    }

    @Test func rowsWrittenBeforeSealingAreSealedAtStartAndStillReadAndSuppressed() async throws {
        // Quiet hours all day hold the SMS (its job waits for their end), so its row can be put
        // back in its pre-sealing form.
        try await NotificationHarness.run(settings: ["ONESTOP_QUIET_HOURS": "00:00-23:59", "ONESTOP_QUIET_HOURS_UTC_OFFSET": "+00:00"]) { harness in
            _ = try await harness.send(acceptedParams(key: "legacy/1", phone: "+8613800002222", email: nil, channels: [.sms]))
            // Once the worker has sent something, the service's own start-up sealing is behind it.
            _ = try await harness.send(acceptedParams(key: "legacy/0", phone: nil, channels: [.email]))
            #expect(try await harness.waitUntilSettled(key: "legacy/0").deliveries.map(\.status) == ["sent"])
            let deferred = try await harness.status(key: "legacy/1")
            #expect(deferred.deliveries.first?.status == "pending")
            let id = try #require(UUID(uuidString: deferred.deliveries.first?.id ?? ""))
            let store = NotificationStore(database: harness.database, vault: NotificationVault(settings: harness.settings))
            let sealed = try #require(try await store.delivery(id))
            let opened = try store.vault.open(sealed.recipient)
            #expect(opened.address == "+8613800002222" && opened.name == "张三")

            // As migration 0003 found rows written before it (the message of legacy/1 only).
            try await harness.database.execute("""
                UPDATE notification_deliveries SET address = \(opened.address), recipient_name = \(opened.name), content = \(PostgresJSONB(rawJSON: opened.content.jsonString)),
                    address_cipher = NULL, name_cipher = NULL, content_cipher = NULL, address_hash = NULL, address_masked = NULL, sealed_key_id = NULL
                WHERE id = \(id)
                """)
            try await harness.database.execute("""
                UPDATE notification_messages SET variables = '{"customerName": "张三", "accessCode": "7F3K2Q"}'::jsonb, variables_cipher = NULL, sealed_key_id = NULL
                WHERE key = 'legacy/1'
                """)
            try await harness.database.execute("INSERT INTO notification_suppressions (channel, address, reason) VALUES ('email', 'wang.wu@example.org', 'opt_out')")
            let legacy = try #require(try await store.delivery(id))
            guard case .clear = legacy.recipient else { Issue.record("the row should read as written in clear"); return }
            #expect(legacy.addressHash == sealed.addressHash)
            #expect(try await harness.status(key: "legacy/1").deliveries.first?.address == "+86138****2222")

            let changed = try await NotificationService.sealLegacyRows(database: harness.database, settings: harness.settings)
            #expect(changed == 3, "one suppression, one delivery and one message were in clear")
            #expect(try await harness.count("notification_deliveries WHERE address IS NOT NULL OR recipient_name IS NOT NULL OR content IS NOT NULL") == 0)
            #expect(try await harness.count("notification_messages WHERE variables IS NOT NULL") == 0)
            #expect(try await harness.count("notification_suppressions WHERE address IS NOT NULL") == 0)
            let resealed = try #require(try await store.delivery(id))
            let reopened = try store.vault.open(resealed.recipient)
            #expect(reopened.address == opened.address && reopened.name == opened.name && reopened.content == opened.content)
            #expect(try await harness.status(key: "legacy/1").deliveries.first?.address == "+86138****2222")

            _ = try await harness.send(acceptedParams(key: "legacy/2", phone: nil, email: "Wang.Wu@example.org", channels: [.email]))
            #expect(try await harness.waitUntilSettled(key: "legacy/2").deliveries.map(\.status) == ["suppressed"])
            let database = try await Self.everything(harness)
            for secret in ["+8613800002222", "8613800002222", "wang.wu@example.org", "张三", "7F3K2Q"] {
                #expect(!database.contains(secret), "\(secret) is readable in the notification database")
            }
        }
    }

    @Test func anOlderKeyStillOpensWhatItSealedAndAForgottenOneIsNamed() throws {
        let old = NotificationSettings.forTesting(smtpURL: "smtp://127.0.0.1:1", smsURL: "http://127.0.0.1:1/sms")
        #expect(old.usesDevelopmentKeys)
        let box = try NotificationVault(settings: old).seal("zhao.liu@example.org")
        let k2 = Data(repeating: 0x22, count: 32).base64EncodedString()
        let lookup = Data(repeating: 0x33, count: 32).base64EncodedString()
        let rotated = NotificationSettings.forTesting(smtpURL: "smtp://127.0.0.1:1", smsURL: "http://127.0.0.1:1/sms", extra: [
            "ONESTOP_NOTIFY_DATA_KEYS": "k2:\(k2),dev:\(NotificationSettings.developmentDataKey.base64EncodedString())",
            "ONESTOP_NOTIFY_LOOKUP_KEY": lookup,
        ])
        #expect(!rotated.usesDevelopmentKeys)
        let vault = NotificationVault(settings: rotated)
        #expect(vault.keyID == "k2")
        let opened = try vault.open(.sealed(keyID: "dev", address: box, name: nil, content: try NotificationVault(settings: old).seal(JSON.null)))
        #expect(opened.address == "zhao.liu@example.org")
        // Another lookup key gives other hashes; the same key the same hash for any case.
        #expect(vault.addressHash("Zhao.Liu@Example.org", channel: .email) == vault.addressHash("zhao.liu@example.org", channel: .email))
        #expect(vault.addressHash("zhao.liu@example.org", channel: .email) != NotificationVault(settings: old).addressHash("zhao.liu@example.org", channel: .email))

        let forgotten = NotificationVault(settings: NotificationSettings.forTesting(smtpURL: "smtp://127.0.0.1:1", smsURL: "http://127.0.0.1:1/sms", extra: [
            "ONESTOP_NOTIFY_DATA_KEYS": "k3:\(Data(repeating: 0x44, count: 32).base64EncodedString())",
        ]))
        #expect {
            try forgotten.open(.sealed(keyID: "dev", address: box, name: nil, content: box))
        } throws: { error in
            "\(error)".contains("\"dev\"") && "\(error)".contains("ONESTOP_NOTIFY_DATA_KEYS")
        }
        #expect {
            try NotificationSettings(environment: ["ONESTOP_NOTIFY_DATA_KEYS": "k1:short", "ONESTOP_NOTIFY_LOOKUP_KEY": "%%%"])
        } throws: { error in
            "\(error)".contains("ONESTOP_NOTIFY_DATA_KEYS") && "\(error)".contains("ONESTOP_NOTIFY_LOOKUP_KEY")
        }
    }
}
