/// The built-in methods every server answers.

/// The first request on an internal port: who is calling, proven by the shared credential.
public enum SysHello: RPCMethod {
    public struct Params: Codable, Sendable, Equatable {
        public var service: String
        public var credential: String
        public var instance: String?
        public init(service: String, credential: String, instance: String? = nil) {
            self.service = service
            self.credential = credential
            self.instance = instance
        }
    }
    public struct Result: Codable, Sendable, Equatable {
        public var service: String
        public var protocolVersion: Int
    }
    public static let name = "sys.hello"
    public static let isIdempotent = true
    public static let summary = "Identify the calling service with the shared credential (first request on internal ports)."
}

public enum SysPing: RPCMethod {
    public typealias Params = RPCEmpty
    public struct Result: Codable, Sendable, Equatable {
        /// Server time, epoch milliseconds.
        public var time: Int64
    }
    public static let name = "sys.ping"
    public static let isIdempotent = true
    public static let summary = "Answer at once; measures the round trip."
}

public enum SysHealth: RPCMethod {
    public typealias Params = RPCEmpty
    public struct Result: Codable, Sendable, Equatable {
        /// "ok" when every check passes, "failing" otherwise.
        public var status: String
        /// Check name → "ok" or what is wrong.
        public var checks: [String: String]
        public init(status: String, checks: [String: String]) {
            self.status = status
            self.checks = checks
        }
    }
    public static let name = "sys.health"
    public static let isIdempotent = true
    public static let summary = "Health of the service and what it depends on."
}

public enum SysDescribe: RPCMethod {
    public typealias Params = RPCEmpty
    public struct MethodInfo: Codable, Sendable, Equatable {
        public var name: String
        public var idempotent: Bool
        public var summary: String
    }
    public struct Result: Codable, Sendable, Equatable {
        public var service: String
        public var methods: [MethodInfo]
    }
    public static let name = "sys.describe"
    public static let isIdempotent = true
    public static let summary = "The method catalog of this service."
}

/// The line protocol's version, answered in `sys.hello`; bumped only for incompatible framing
/// changes (contracts themselves only grow).
public let rpcProtocolVersion = 1
