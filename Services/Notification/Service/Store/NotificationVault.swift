import Contracts
import JSONCoding
import Sealing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// A delivery's personal data as the database holds it.
enum StoredRecipient: Sendable {
    /// Sealed with the key `keyID`: the address, the recipient's name and the rendered content
    /// (JSON: `subject`/`text`/`html`, or the SMS `parts`).
    case sealed(keyID: String, address: Data, name: Data?, content: Data)
    /// In clear: a row written before migration 0003 that the start-up sealing has not reached.
    case clear(address: String, name: String?, content: JSON)
}

/// A delivery's personal data opened for one transfer; never written back.
struct OpenedRecipient: Sendable {
    var address: String
    var name: String?
    var content: JSON
}

/// Seals what the notification service keeps about recipients (addresses, names, rendered
/// messages, a send's variables) before it reaches the database (AES-GCM, the shared
/// `DataSealer`), opens it just before a transfer, and computes the keyed hash that finds an
/// address again: the suppression list and the one-delivery-per-address rule match on it.
struct NotificationVault: Sendable {
    static let keySetting = "ONESTOP_NOTIFY_DATA_KEYS"

    private let sealer: DataSealer
    private let lookupKey: Data

    init(settings: NotificationSettings) {
        sealer = DataSealer(keys: settings.dataKeys, keySetting: Self.keySetting)
        lookupKey = settings.lookupKey
    }

    var keyID: String { sealer.currentKeyID }

    /// HMAC-SHA256 of the normalised address (emails lower-cased, phones as given in E.164): a
    /// phone number's space is small enough to enumerate a plain hash.
    func addressHash(_ address: String, channel: NotificationChannel) -> String {
        keyedLookupHash(Self.normalised(address, channel: channel), kind: channel.rawValue, key: lookupKey)
    }

    static func normalised(_ address: String, channel: NotificationChannel) -> String {
        let trimmed = address.trimmingCharacters(in: .whitespaces)
        return channel == .email ? trimmed.lowercased() : trimmed
    }

    func seal(_ text: String) throws -> Data { try sealer.seal(text) }

    func seal(_ json: JSON) throws -> Data { try sealer.seal(json.jsonString) }

    /// Opens a delivery's address, name and content (a row in clear is passed through).
    func open(_ stored: StoredRecipient) throws -> OpenedRecipient {
        switch stored {
        case .clear(let address, let name, let content):
            return OpenedRecipient(address: address, name: name, content: content)
        case .sealed(let keyID, let address, let name, let content):
            return OpenedRecipient(
                address: try sealer.openText(address, keyID: keyID),
                name: try name.map { try sealer.openText($0, keyID: keyID) },
                content: try JSON.parse(sealer.open(content, keyID: keyID))
            )
        }
    }
}
