import Crypto
import Identity
import Messaging

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

    private let currentKeyID: String
    // Raw bytes: SymmetricKey is not Sendable; making one per use costs a copy of 32 bytes.
    private let keys: [String: Data]
    private let lookupKeyBytes: Data

    init(settings: IntakeSettings) {
        currentKeyID = settings.dataKeys[0].id
        keys = Dictionary(settings.dataKeys.map { ($0.id, $0.key) }, uniquingKeysWith: { first, _ in first })
        lookupKeyBytes = settings.lookupKey
    }

    var keyID: String { currentKeyID }

    func seal(_ plaintext: String, kind: String) throws -> Sealed {
        Sealed(cipher: try sealBytes(Data(plaintext.utf8)), hash: lookupHash(plaintext, kind: kind))
    }

    func open(_ cipher: Data, keyID: String) throws -> String {
        String(decoding: try openBytes(cipher, keyID: keyID), as: UTF8.self)
    }

    /// AES-GCM with the current key; nonce, ciphertext and tag in one box.
    private func sealBytes(_ plaintext: Data) throws -> Data {
        let box = try AES.GCM.seal(plaintext, using: SymmetricKey(data: keys[currentKeyID]!))
        guard let combined = box.combined else { throw VaultError("AES-GCM produced no combined box") }
        return combined
    }

    private func openBytes(_ box: Data, keyID: String) throws -> Data {
        guard let key = keys[keyID] else {
            throw VaultError("personal data was sealed with key \"\(keyID)\", which is not in ONESTOP_INTAKE_DATA_KEYS")
        }
        return try AES.GCM.open(AES.GCM.SealedBox(combined: box), using: SymmetricKey(data: key))
    }

    /// HMAC-SHA256 of `kind:value`, hex: equal values give equal hashes, and without the key the
    /// hash reveals nothing (an ID number's space is small enough to enumerate a plain hash).
    func lookupHash(_ value: String, kind: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data("\(kind):\(value)".utf8), using: SymmetricKey(data: lookupKeyBytes))
        return code.map { String(format: "%02x", $0) }.joined()
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
        (currentKeyID, try sealBytes(plaintext))
    }

    func openOutboxParams(_ box: Data, keyID: String) throws -> Data {
        try openBytes(box, keyID: keyID)
    }
}

struct VaultError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
