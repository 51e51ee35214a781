/// How a line-protocol listener behaves. Defaults suit an internal port on one machine.
public struct RPCServerConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port (tests); `RPCServer.localAddress` tells which.
    public var port: Int
    /// Answered in `sys.hello` and `sys.describe`; also names the server in logs.
    public var serviceName: String
    /// The shared service credential. When set, the first request on every connection must be
    /// `sys.hello` carrying it; nil leaves the listener open (only for trusted local tools).
    public var credential: String?
    public var maxLineLength: Int
    public var maxInFlightPerConnection: Int
    public var maxConnections: Int
    public var idleTimeout: Duration
    /// TLS on this listener (with a CA: mutual TLS); nil listens in plaintext.
    public var tls: RPCServerTLS?

    public init(
        serviceName: String,
        host: String = "127.0.0.1",
        port: Int = 0,
        credential: String? = nil,
        maxLineLength: Int = RPCLimits.defaultMaxLineLength,
        maxInFlightPerConnection: Int = RPCLimits.defaultMaxInFlightPerConnection,
        maxConnections: Int = RPCLimits.defaultMaxConnections,
        idleTimeout: Duration = RPCLimits.defaultIdleTimeout,
        tls: RPCServerTLS? = nil
    ) {
        self.serviceName = serviceName
        self.host = host
        self.port = port
        self.credential = credential
        self.maxLineLength = maxLineLength
        self.maxInFlightPerConnection = maxInFlightPerConnection
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
        self.tls = tls
    }
}
