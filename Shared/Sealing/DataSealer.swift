import Crypto

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Seals personal data before it reaches a database (AES-GCM) and computes the keyed hashes
/// used to find it again (HMAC-SHA256). Shared by the services that keep customers' contacts.
///
/// Keys have ids: the first key seals new data, every listed key still opens old data, and the
/// key's id is stored beside each box, so keys can be rotated without rewriting rows at once.
public struct DataSealer: Sendable {
    public let currentKeyID: String
    // Raw bytes: SymmetricKey is not Sendable; making one per use costs a copy of 32 bytes.
    private let keys: [String: Data]
    /// Names the setting in errors ("ONESTOP_COMPLAINTS_DATA_KEYS").
    private let keySetting: String

    /// `keys` in order of preference; the first seals. Each key is 32 bytes (AES-256).
    public init(keys: [(id: String, key: Data)], keySetting: String) {
        precondition(!keys.isEmpty, "a sealer needs at least one key")
        currentKeyID = keys[0].id
        self.keys = Dictionary(keys.map { ($0.id, $0.key) }, uniquingKeysWith: { first, _ in first })
        self.keySetting = keySetting
    }

    /// Parses `keyId:base64-32-bytes[,older…]`; nil with a reason when malformed.
    public static func parseKeys(_ text: String) -> Result<[(id: String, key: Data)], SealingError> {
        var keys: [(id: String, key: Data)] = []
        for entry in text.split(separator: ",") {
            let parts = entry.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, let key = Data(base64Encoded: parts[1]), key.count == 32 else {
                return .failure(SealingError("each entry is keyId:base64 of 32 random bytes (e.g. k2:$(openssl rand -base64 32))"))
            }
            keys.append((parts[0], key))
        }
        return keys.isEmpty ? .failure(SealingError("no key given")) : .success(keys)
    }

    /// AES-GCM with the current key; nonce, ciphertext and tag in one box.
    public func seal(_ plaintext: Data) throws -> Data {
        let box = try AES.GCM.seal(plaintext, using: SymmetricKey(data: keys[currentKeyID]!))
        guard let combined = box.combined else { throw SealingError("AES-GCM produced no combined box") }
        return combined
    }

    public func seal(_ text: String) throws -> Data { try seal(Data(text.utf8)) }

    public func open(_ box: Data, keyID: String) throws -> Data {
        guard let key = keys[keyID] else {
            throw SealingError("personal data was sealed with key \"\(keyID)\", which is not in \(keySetting)")
        }
        return try AES.GCM.open(AES.GCM.SealedBox(combined: box), using: SymmetricKey(data: key))
    }

    public func openText(_ box: Data, keyID: String) throws -> String {
        String(decoding: try open(box, keyID: keyID), as: UTF8.self)
    }
}

/// HMAC-SHA256 of `kind:value` as hex: equal values give equal hashes, and without the key the
/// hash reveals nothing (a phone number's space is small enough to enumerate a plain hash).
public func keyedLookupHash(_ value: String, kind: String, key: Data) -> String {
    let code = HMAC<SHA256>.authenticationCode(for: Data("\(kind):\(value)".utf8), using: SymmetricKey(data: key))
    return Hex.lowercase(code)
}

public struct SealingError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
