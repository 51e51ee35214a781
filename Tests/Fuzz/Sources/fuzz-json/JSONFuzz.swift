import JSONCoding

/// Any bytes into the JSON parser every service and the gateway read requests with. Checked:
/// what parses serialises to text that parses to the same value, and decoding into a typed
/// request either works or throws — never crashes, whatever the nesting or the text.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    guard let value = try? JSON.parse(bytes) else { return 0 }
    let text = value.jsonString
    guard let again = try? JSON.parse(text) else {
        preconditionFailure("parsed, serialised, and the text no longer parses: \(text.prefix(200))")
    }
    precondition(again == value, "a value changed on its way through text: \(text.prefix(200))")
    _ = try? JSONValueDecoder().decode(Registration.self, from: value)
    return 0
}

/// Shaped like a registration: nested objects, arrays, optionals, numbers and enums.
struct Registration: Decodable {
    enum Channel: String, Decodable { case online, counter, phone, email }
    struct Identity: Decodable {
        var name: String
        var idType: String
        var idNumber: String
    }
    struct Material: Decodable {
        var code: String
        var copies: Int?
        var original: Bool?
    }
    var channel: Channel
    var serviceType: String
    var applicant: Identity
    var materials: [Material]?
    var declaredAmount: Double?
    var tags: [String: String]?
}
