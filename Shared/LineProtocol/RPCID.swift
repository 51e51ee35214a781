import JSONCoding

/// A JSON-RPC 2.0 request id: a string, a number or null, echoed back unchanged.
public enum RPCID: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    case integer(Int64)
    /// The specification discourages fractional ids but allows them; they are echoed as given.
    case double(Double)
    case null

    /// The id as it appears in a message, or nil when the JSON value cannot be an id.
    public init?(json: JSON) {
        switch json {
        case .string(let value): self = .string(value)
        case .integer(let value): self = .integer(value)
        case .double(let value): self = .double(value)
        case .null: self = .null
        default: return nil
        }
    }

    public var json: JSON {
        switch self {
        case .string(let value): .string(value)
        case .integer(let value): .integer(value)
        case .double(let value): .double(value)
        case .null: .null
        }
    }

    public var description: String {
        switch self {
        case .string(let value): "\"\(value)\""
        case .integer(let value): String(value)
        case .double(let value): String(value)
        case .null: "null"
        }
    }
}
