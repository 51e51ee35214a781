import ComplaintsService
import Contracts
import Messaging
import Postgres
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// ASVS V8 (data protection): complainants' phones and emails are sealed at rest (AES-GCM, key
/// id kept for rotation); only keyed hashes are stored for finding repeat complainants.
@Suite("Complaints: complainants' contacts are sealed at rest")
struct SealedContactsTests {
    static let phone = "13987654321"
    static let email = "wang.secret@example.org"

    @Test func thePlaintextContactsNeverAppearInTheDatabase() async throws {
        try await ComplaintsHarness.run { h in
            let first = try await h.call(ComplaintsFile.self, .sample(phone: Self.phone, email: Self.email))
            // A repeat complainant is still found through the keyed hashes.
            _ = try await h.call(ComplaintsFile.self, .sample(phone: Self.phone, email: nil))
            #expect(try await h.count("SELECT count(DISTINCT phone_hash)::int AS n FROM complaints WHERE phone_hash IS NOT NULL") == 1)
            #expect(try await h.count("SELECT count(*)::int AS n FROM complaints WHERE phone_cipher IS NOT NULL AND contact_key_id = 'dev'") == 2)
            #expect(try await h.count("SELECT count(*)::int AS n FROM complaints WHERE complainant_phone IS NOT NULL OR complainant_email IS NOT NULL") == 0)

            // Every row of every table (outbox included), as text: no phone in any form, no email.
            let tables = try await h.database.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").map { try $0.decode(String.self, column: "tablename") }
            #expect(tables.contains("complaints") && tables.contains("messaging_outbox"))
            var everything = ""
            for table in tables {
                let rows = try await h.database.query(SQL(unsafeSQL: "SELECT coalesce(string_agg(t::text, '|'), '') AS s FROM \"\(table)\" t"))
                everything += try rows[0].decode(String.self, column: "s")
            }
            for secret in [Self.phone, "+86" + Self.phone, Self.email, "wang.secret"] {
                #expect(!everything.contains(secret), "\(secret) is readable in the complaints database")
            }

            // The service itself still reads them: the acknowledgement goes to the real address.
            let sent = try await h.notifications()
            #expect(sent.first?.recipients.first?.phone == "+86" + Self.phone)
            #expect(sent.first?.recipients.first?.email == Self.email)
            let view = try await h.call(ComplaintsGet.self, .init(complaintId: first.id))
            #expect(view.complaint.phoneMasked != nil && view.complaint.phoneMasked != "+86" + Self.phone)
        }
    }

    @Test func complaintsFiledBeforeSealingAreSealedAndStillRead() async throws {
        try await ComplaintsHarness.run { h in
            let filed = try await h.call(ComplaintsFile.self, .sample(phone: Self.phone, email: Self.email))
            // As a row written before migration 0005 looks.
            try await h.database.execute("""
                UPDATE complaints SET complainant_phone = \("+86" + Self.phone), complainant_email = \(Self.email),
                    phone_cipher = NULL, email_cipher = NULL, contact_key_id = NULL
                """)
            let legacy = try await h.call(ComplaintsGet.self, .init(complaintId: filed.id))
            #expect(legacy.complaint.emailMasked == filed.emailMasked)
            #expect(try await ComplaintsService.sealLegacyContacts(database: h.database, configuration: h.settings, batchSize: 1) == 1)
            #expect(try await h.count("SELECT count(*)::int AS n FROM complaints WHERE complainant_phone IS NOT NULL OR complainant_email IS NOT NULL") == 0)
            #expect(try await h.count("SELECT count(*)::int AS n FROM complaints WHERE phone_cipher IS NOT NULL AND email_cipher IS NOT NULL") == 1)
            let sealed = try await h.call(ComplaintsGet.self, .init(complaintId: filed.id))
            #expect(sealed.complaint.phoneMasked == filed.phoneMasked && sealed.complaint.emailMasked == filed.emailMasked)
        }
    }

    @Test func anOlderKeyStillOpensWhatItSealed() throws {
        let old = try ComplaintsConfiguration.defaults
        var rotated = old
        rotated.dataKeys = [("k2", Data(repeating: 0x22, count: 32))] + old.dataKeys
        let (keyID, box) = try ContactSealing(configuration: old).sealOutboxParams(Data(Self.email.utf8))
        #expect(keyID == "dev")
        let opened = try ContactSealing(configuration: rotated).openOutboxParams(box, keyID: keyID)
        #expect(String(decoding: opened, as: UTF8.self) == Self.email)
        #expect(try ContactSealing(configuration: rotated).sealOutboxParams(Data()).keyID == "k2")
        var forgotten = old
        forgotten.dataKeys = [("k3", Data(repeating: 0x33, count: 32))]
        #expect(throws: (any Error).self) { try ContactSealing(configuration: forgotten).openOutboxParams(box, keyID: keyID) }
    }

    @Test func malformedKeysAreRefusedAtStart() {
        #expect(throws: (any Error).self) { try ComplaintsConfiguration.fromEnvironment(["ONESTOP_COMPLAINTS_DATA_KEYS": "k1:change-me"]) }
        let key = Data(repeating: 7, count: 32).base64EncodedString()
        let configured = try? ComplaintsConfiguration.fromEnvironment(["ONESTOP_COMPLAINTS_DATA_KEYS": "k9:\(key)"])
        #expect(configured?.dataKeys.first?.id == "k9")
        #expect(configured?.usesDevelopmentDataKey == false)
        #expect((try? ComplaintsConfiguration.fromEnvironment([:]))?.usesDevelopmentDataKey == true, "started without keys: warned at start")
    }
}
