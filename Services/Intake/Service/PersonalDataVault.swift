import Identity
import Messaging
import Sealing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Seals personal data (ID numbers, phones, emails) before it reaches the database and computes
/// the keyed hashes used to find it again. The plaintext never leaves this type towards storage.
struct PersonalDataVault: Sendable {
    struct Sealed: Sendable {
        var cipher: Data
        var hash: String
    }

    private let sealer: DataSealer
    private let lookupKeyBytes: Data

    init(settings: IntakeSettings) {
        sealer = DataSealer(keys: settings.dataKeys, keySetting: "ONESTOP_INTAKE_DATA_KEYS")
        lookupKeyBytes = settings.lookupKey
    }

    var keyID: String { sealer.currentKeyID }

    func seal(_ plaintext: String, kind: String) throws -> Sealed {
        Sealed(cipher: try sealBytes(Data(plaintext.utf8)), hash: lookupHash(plaintext, kind: kind))
    }

    func open(_ cipher: Data, keyID: String) throws -> String {
        String(decoding: try openBytes(cipher, keyID: keyID), as: UTF8.self)
    }

    /// AES-GCM with the current key (the shared `DataSealer`).
    private func sealBytes(_ plaintext: Data) throws -> Data { try sealer.seal(plaintext) }

    private func openBytes(_ box: Data, keyID: String) throws -> Data { try sealer.open(box, keyID: keyID) }

    /// HMAC-SHA256 of `kind:value`, hex (an ID number's space is small enough to enumerate a
    /// plain hash).
    func lookupHash(_ value: String, kind: String) -> String {
        keyedLookupHash(value, kind: kind, key: lookupKeyBytes)
    }

    /// The customer key other services use for "the same customer": the hash of the document.
    func customerKey(for document: IdentityDocument) -> String {
        lookupHash(document.number, kind: document.type.rawValue)
    }
}

/// Intake's notices carry the customer's phone, email and access code to the notification
/// service; in the outbox they are sealed with the same keys as the case itself.
extension PersonalDataVault: OutboxSealing {
    func sealOutboxParams(_ plaintext: Data) throws -> (keyID: String, box: Data) {
        (sealer.currentKeyID, try sealBytes(plaintext))
    }

    func openOutboxParams(_ box: Data, keyID: String) throws -> Data {
        try openBytes(box, keyID: keyID)
    }
}

struct VaultError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
