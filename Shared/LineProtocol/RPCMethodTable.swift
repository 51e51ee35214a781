import JSONCoding
import Logging
import Metrics

/// The dispatch table of a server: method name → handler. Typed handlers are wrapped once at
/// registration into closures over `JSON`, so dispatch is one dictionary lookup.
public struct RPCMethodTable: Sendable {
    public typealias Handler = @Sendable (_ params: JSON?, _ context: RPCContext) async throws -> JSON

    public struct Entry: Sendable {
        public let name: String
        public let isIdempotent: Bool
        public let summary: String
        let handler: Handler
        let duration: Metrics.Timer
        let failures: Counter
    }

    private(set) var entries: [String: Entry] = [:]

    public init() {}

    /// Registers a typed handler. Params are decoded before the handler runs (a decoding failure
    /// answers `invalid_params` naming the field); the result is encoded after.
    public mutating func register<M: RPCMethod>(
        _ method: M.Type,
        _ handler: @escaping @Sendable (M.Params, RPCContext) async throws -> M.Result
    ) {
        precondition(entries[M.name] == nil, "method \(M.name) registered twice")
        entries[M.name] = Entry(
            name: M.name,
            isIdempotent: M.isIdempotent,
            summary: M.summary,
            handler: { params, context in
                let decoded = try RPCParams.decode(M.Params.self, from: params)
                let result = try await handler(decoded, context)
                return try JSONValueEncoder().encode(result)
            },
            duration: Metrics.Timer(label: "rpc_server_duration_seconds", dimensions: [("method", M.name)], preferredDisplayUnit: .seconds),
            failures: Counter(label: "rpc_server_failures_total", dimensions: [("method", M.name)])
        )
    }

    /// Registers a handler over raw JSON params (an object, an array or nil), for methods that
    /// take positional parameters or pass JSON through.
    public mutating func register(name: String, idempotent: Bool = false, summary: String = "", _ handler: @escaping Handler) {
        precondition(entries[name] == nil, "method \(name) registered twice")
        entries[name] = Entry(
            name: name,
            isIdempotent: idempotent,
            summary: summary,
            handler: handler,
            duration: Metrics.Timer(label: "rpc_server_duration_seconds", dimensions: [("method", name)], preferredDisplayUnit: .seconds),
            failures: Counter(label: "rpc_server_failures_total", dimensions: [("method", name)])
        )
    }

    public func entry(for method: String) -> Entry? { entries[method] }

    public var catalog: [SysDescribe.MethodInfo] {
        entries.values
            .map { SysDescribe.MethodInfo(name: $0.name, idempotent: $0.isIdempotent, summary: $0.summary) }
            .sorted { $0.name < $1.name }
    }
}

enum RPCParams {
    static func decode<P: Decodable>(_ type: P.Type, from params: JSON?) throws(RPCError) -> P {
        let source: JSON
        switch params {
        case nil, .null?: source = .object([:])
        case .array(let positional)? where positional.isEmpty: source = .object([:])
        case .array?:
            if P.self == RPCEmpty.self { source = .object([:]) } else {
                throw .invalidParams("this method takes named parameters (a JSON object), not a list", zh: "此方法接受具名参数（JSON 对象），不接受列表")
            }
        case let value?: source = value
        }
        do {
            return try JSONValueDecoder().decode(P.self, from: source)
        } catch let error as DecodingError {
            throw .invalidParams(describe(error), zh: describe(error, in: .chinese))
        } catch {
            throw .invalidParams("params could not be read: \(error)", zh: "无法读取参数：\(error)")
        }
    }

    enum Wording { case english, chinese }

    /// "params.customer.phone: expected a string" — says where and what, never the value. In
    /// Chinese for the people who read it through the gateway ("params.customer.phone：应为字符串").
    static func describe(_ error: DecodingError, root: String = "params", in wording: Wording = .english) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.reduce(root) { path, key in
                if let index = key.intValue, key.stringValue.hasPrefix("Index") || key.stringValue == "\(index)" {
                    return path + "[\(index)]"
                }
                return path + "." + key.stringValue
            }
        }
        let text: (english: String, chinese: String)
        switch error {
        case .keyNotFound(let key, let context):
            let at = path(context.codingPath + [key])
            text = ("\(at): required but missing", "\(at)：必填，但未提供")
        case .typeMismatch(let type, let context):
            let at = path(context.codingPath)
            text = ("\(at): expected \(describe(type, in: .english))", "\(at)：应为\(describe(type, in: .chinese))")
        case .valueNotFound(let type, let context):
            let at = path(context.codingPath)
            text = ("\(at): expected \(describe(type, in: .english)), got null", "\(at)：应为\(describe(type, in: .chinese))，不能为 null")
        case .dataCorrupted(let context):
            let at = path(context.codingPath)
            text = ("\(at): \(context.debugDescription)", "\(at)：取值无效（\(context.debugDescription)）")
        @unknown default:
            text = ("params are invalid: \(error)", "参数无效：\(error)")
        }
        return wording == .english ? text.english : text.chinese
    }

    /// What a value of `type` is called, in the wording asked for.
    private static func describe(_ type: Any.Type, in wording: Wording) -> String {
        let name: (english: String, chinese: String)
        switch type {
        case is String.Type: name = ("a string", "字符串")
        case is Bool.Type: name = ("true or false", "true 或 false")
        case is Int.Type, is Int64.Type, is Int32.Type, is Int16.Type, is Int8.Type,
             is UInt.Type, is UInt64.Type, is UInt32.Type, is UInt16.Type, is UInt8.Type: name = ("an integer", "整数")
        case is Double.Type, is Float.Type: name = ("a number", "数字")
        default:
            name = String(describing: type).contains("Array") ? ("a list", "列表") : ("an object", "对象")
        }
        return wording == .english ? name.english : name.chinese
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
