/// An address of a server replica.
public struct RPCTarget: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (1...65535).contains(port), colon != text.startIndex
        else { return nil }
        self.init(host: String(text[..<colon]), port: port)
    }

    public var description: String { "\(host):\(port)" }
}

/// How a client pool reaches one service.
public struct RPCClientConfiguration: Sendable {
    /// The replicas of the service; calls spread over them by least requests in flight.
    public var targets: [RPCTarget]
    /// The service called, for error messages ("intake at 10.0.0.5:7101 ...").
    public var serviceName: String
    /// Who calls, sent in `sys.hello`.
    public var callerName: String
    /// The shared service credential; nil for listeners without hello.
    public var credential: String?
    public var connectionsPerTarget: Int
    /// Used when a call gives no timeout of its own.
    public var defaultTimeout: Duration
    /// A connection whose calls have waited this long with not one byte from the peer is
    /// dropped at the next call deadline and replaced (a frozen peer, a link gone dark).
    /// A live server always answers by a call's deadline, if only with `deadline_exceeded`.
    public var silenceLimit: Duration = .seconds(5)
    public var connectTimeout: Duration
    /// Reconnect backoff: doubles from `initialBackoff` up to `maxBackoff`, with full jitter.
    public var initialBackoff: Duration
    public var maxBackoff: Duration
    /// Extra attempts for a call that failed before it was sent, or (idempotent methods only)
    /// with a retryable error.
    public var maxRetries: Int
    public var maxLineLength: Int
    /// TLS to the service (its certificate verified, ours shown when it asks); nil connects in
    /// plaintext. The handshake must finish within `connectTimeout`.
    public var tls: RPCClientTLS?

    public init(
        serviceName: String,
        targets: [RPCTarget],
        callerName: String,
        credential: String? = nil,
        connectionsPerTarget: Int = 2,
        defaultTimeout: Duration = .seconds(10),
        connectTimeout: Duration = .seconds(2),
        initialBackoff: Duration = .milliseconds(50),
        maxBackoff: Duration = .seconds(5),
        maxRetries: Int = 3,
        maxLineLength: Int = RPCLimits.defaultMaxLineLength,
        tls: RPCClientTLS? = nil
    ) {
        precondition(!targets.isEmpty, "a client needs at least one target")
        self.serviceName = serviceName
        self.targets = targets
        self.callerName = callerName
        self.credential = credential
        self.connectionsPerTarget = max(1, connectionsPerTarget)
        self.defaultTimeout = defaultTimeout
        self.connectTimeout = connectTimeout
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.maxRetries = maxRetries
        self.maxLineLength = maxLineLength
        self.tls = tls
    }
}
