import JSONCoding
import LineProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Encrypts a message's params while it waits in the outbox. A message may carry what its
/// service keeps sealed in its own tables (a customer's phone and email on their way to the
/// notification service); sealed, the outbox row is no weaker than those tables. The relay
/// opens it just before delivery, so the receiver sees ordinary params.
public protocol OutboxSealing: Sendable {
    /// Returns the key's id (kept beside the box, for key rotation) and the sealed bytes.
    func sealOutboxParams(_ plaintext: Data) throws -> (keyID: String, box: Data)
    func openOutboxParams(_ box: Data, keyID: String) throws -> Data
}

/// The stored form of sealed params: `{"$sealed": {"keyId": …, "box": base64}}`. The `$` keeps
/// it apart from any method's own params, which never start a name with it.
public enum SealedOutboxParams {
    static let marker = "$sealed"

    public static func seal(_ params: JSON, with sealing: any OutboxSealing) throws -> JSON {
        let (keyID, box) = try sealing.sealOutboxParams(Data(params.jsonString.utf8))
        return .object([marker: .object(["keyId": .string(keyID), "box": .string(box.base64EncodedString())])])
    }

    /// Whether `params` is in the sealed form.
    public static func isSealed(_ params: JSON) -> Bool {
        guard case .object(let object) = params else { return false }
        return object[marker] != nil
    }

    /// The params as written by the sender: opened when sealed, unchanged otherwise.
    public static func open(_ params: JSON, with sealing: (any OutboxSealing)?) throws -> JSON {
        guard case .object(let object) = params, let sealed = object[marker] else { return params }
        guard case .object(let fields) = sealed, case .string(let keyID)? = fields["keyId"],
              case .string(let text)? = fields["box"], let box = Data(base64Encoded: text)
        else { throw SealedParamsError("the sealed params are malformed (expected keyId and a base64 box)") }
        guard let sealing else {
            throw SealedParamsError("the message's params are sealed with key \"\(keyID)\", but this relay was given no key to open them")
        }
        let plaintext = try sealing.openOutboxParams(box, keyID: keyID)
        return try JSON.parse(Array(plaintext))
    }
}

public struct SealedParamsError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
