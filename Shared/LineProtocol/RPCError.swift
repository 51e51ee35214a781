import JSONCoding

/// What kind of failure an error is, for code to act on (retry, show, alert). The message is for
/// people; the kind is for programs.
public enum RPCErrorKind: String, Sendable, Codable, CaseIterable {
    case invalidParams = "invalid_params"
    case notFound = "not_found"
    case conflict
    case invalidState = "invalid_state"
    case unauthenticated
    case forbidden
    case overloaded
    case unavailable
    case deadlineExceeded = "deadline_exceeded"
    case `internal`

    /// The JSON-RPC error code a kind travels with: standard codes where the specification has
    /// one, the server range -32000…-32099 otherwise.
    public var code: Int {
        switch self {
        case .invalidParams: -32602
        case .internal: -32603
        case .unauthenticated: -32001
        case .forbidden: -32002
        case .notFound: -32003
        case .conflict: -32004
        case .invalidState: -32005
        case .overloaded: -32006
        case .unavailable: -32007
        case .deadlineExceeded: -32008
        }
    }

    /// Whether trying again later may succeed without changing the request.
    public var isRetryableByDefault: Bool {
        switch self {
        case .overloaded, .unavailable, .deadlineExceeded: true
        default: false
        }
    }
}

/// A JSON-RPC error object. Handlers throw these (or errors that convert to them); the server
/// writes them; clients throw them back to their callers.
public struct RPCError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    public var message: String
    /// `error.data`: carries `kind`, `retryable` and any details (e.g. the list of problems).
    public var data: JSON?

    public init(code: Int, message: String, data: JSON? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    /// A server error of a given kind. `details` become extra members of `error.data`; `zh` is
    /// the message in simplified Chinese for the people who read it through the gateway
    /// (`error.data.texts`, see ``texts``), while `message` stays English for logs and programs.
    public init(_ kind: RPCErrorKind, _ message: String, zh: String? = nil, retryable: Bool? = nil, details: JSONObject = [:]) {
        var data = details
        data["kind"] = .string(kind.rawValue)
        data["retryable"] = .bool(retryable ?? kind.isRetryableByDefault)
        if let zh { data[Self.textsKey] = .object([Self.chinese: .string(zh)]) }
        self.init(code: kind.code, message: message, data: .object(data))
    }

    public var kind: RPCErrorKind? {
        guard let raw = data?["kind"]?.stringValue else {
            switch code {
            case -32602: return .invalidParams
            case -32603: return .internal
            default: return nil
            }
        }
        return RPCErrorKind(rawValue: raw)
    }

    public var isRetryable: Bool {
        if case .bool(let value)? = data?["retryable"] { return value }
        return kind?.isRetryableByDefault ?? false
    }

    public var description: String { "\(message) (code \(code)\(kind.map { ", \($0.rawValue)" } ?? ""))" }

    public var json: JSON {
        var object: JSONObject = ["code": .integer(Int64(code)), "message": .string(message)]
        if let data { object["data"] = data }
        return .object(object)
    }

    public init?(json: JSON) {
        guard case .object(let object) = json,
              let code = object["code"]?.int64Value,
              let message = object["message"]?.stringValue
        else { return nil }
        self.init(code: Int(code), message: message, data: object["data"])
    }

    // MARK: Protocol faults (JSON-RPC 2.0 §5.1)

    public static func parseError(_ reason: String) -> RPCError {
        RPCError(code: -32700, message: "Parse error: \(reason); each line must be one JSON value")
    }

    public static func invalidRequest(_ reason: String) -> RPCError {
        RPCError(code: -32600, message: "Invalid Request: \(reason)")
    }

    public static func methodNotFound(_ method: String) -> RPCError {
        RPCError(code: -32601, message: "Method not found: \(method); sys.describe lists the methods of this service")
    }

    public static func lineTooLong(byteCount: Int, limit: Int) -> RPCError {
        RPCError(
            code: -32600,
            message: "Invalid Request: line of \(byteCount) bytes exceeds the \(limit)-byte limit; send smaller messages or split the batch",
            data: .object(["kind": .string(RPCErrorKind.invalidParams.rawValue), "retryable": .bool(false), "limit": .integer(Int64(limit))])
        )
    }

    // MARK: Common server errors
    //
    // `zh` is the same message in simplified Chinese, for the errors a person sees through the
    // gateway; errors only services see (relays, inboxes, internal faults) may leave it out.

    public static func invalidParams(_ message: String, zh: String? = nil, details: JSONObject = [:]) -> RPCError {
        RPCError(.invalidParams, message, zh: zh, details: details)
    }
    public static func notFound(_ message: String, zh: String? = nil) -> RPCError { RPCError(.notFound, message, zh: zh) }
    public static func conflict(_ message: String, zh: String? = nil) -> RPCError { RPCError(.conflict, message, zh: zh) }
    public static func invalidState(_ message: String, zh: String? = nil) -> RPCError { RPCError(.invalidState, message, zh: zh) }
    public static func unauthenticated(_ message: String, zh: String? = nil) -> RPCError { RPCError(.unauthenticated, message, zh: zh) }
    public static func forbidden(_ message: String, zh: String? = nil) -> RPCError { RPCError(.forbidden, message, zh: zh) }
    public static func overloaded(_ message: String, zh: String? = nil) -> RPCError { RPCError(.overloaded, message, zh: zh) }
    public static func unavailable(_ message: String, zh: String? = nil) -> RPCError { RPCError(.unavailable, message, zh: zh) }
    public static func deadlineExceeded(_ message: String, zh: String? = nil) -> RPCError { RPCError(.deadlineExceeded, message, zh: zh) }
    public static func `internal`(_ message: String) -> RPCError { RPCError(.internal, message) }
}

/// Domain errors that know their RPC form. The server maps them at one boundary.
public protocol RPCErrorConvertible: Error {
    var rpcError: RPCError { get }
}
