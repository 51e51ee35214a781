import JSONCoding
import Logging

/// A method of the line protocol: its name and wire types. Both sides compile against the same
/// definition (in `Contracts`), so a renamed field is a compile error, not a runtime surprise.
public protocol RPCMethod: Sendable {
    associatedtype Params: Codable & Sendable
    associatedtype Result: Codable & Sendable
    static var name: String { get }
    /// Calling it twice has the effect of calling it once, so clients may retry it after a
    /// retryable failure whose outcome is unknown.
    static var isIdempotent: Bool { get }
    /// One line for `sys.describe`.
    static var summary: String { get }
}

extension RPCMethod {
    public static var isIdempotent: Bool { false }
    public static var summary: String { "" }
}

/// Parameters or result of a method that has none: encodes as `{}`, accepts any object.
public struct RPCEmpty: Codable, Sendable, Equatable {
    public init() {}
}

/// What a handler knows about the call besides its parameters.
public struct RPCContext: Sendable {
    public let method: String
    public let meta: RPCMeta
    /// The service that said hello on this connection, if the listener requires hello.
    public let caller: String?
    public var logger: Logger

    public init(method: String, meta: RPCMeta, caller: String?, logger: Logger) {
        self.method = method
        self.meta = meta
        self.caller = caller
        self.logger = logger
    }
}
