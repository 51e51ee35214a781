import Messaging
import Sealing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Seals the complainant's contacts where they wait in the outbox: a notice to a complainant
/// carries their phone and email to the notification service, and in the outbox it is no
/// weaker than the `complaints` table (same keys). The relay opens it just before delivery.
public struct ContactSealing: OutboxSealing {
    let sealer: DataSealer

    public init(configuration: ComplaintsConfiguration) {
        sealer = DataSealer(keys: configuration.dataKeys, keySetting: "ONESTOP_COMPLAINTS_DATA_KEYS")
    }

    public func sealOutboxParams(_ plaintext: Data) throws -> (keyID: String, box: Data) {
        (sealer.currentKeyID, try sealer.seal(plaintext))
    }

    public func openOutboxParams(_ box: Data, keyID: String) throws -> Data {
        try sealer.open(box, keyID: keyID)
    }
}
