/// How a relay claims, delivers, retries and purges.
public struct OutboxRelayConfiguration: Sendable {
    /// Messages claimed at once when there is a backlog.
    public var batchSize: Int
    /// Batches one relay delivers at once: the next is claimed while earlier ones are delivered.
    public var batchesInFlight: Int
    /// How long a claimed message is left alone by other relays; longer than any delivery.
    public var lease: Duration
    /// Per delivery call.
    public var deliveryTimeout: Duration
    /// The safety-net poll when no NOTIFY arrives (a lost notification, a retry coming due).
    public var pollInterval: Duration
    /// Whether the relay also LISTENs, waking on commits of other processes that said NOTIFY
    /// (writers with no relay of their own on their pool). Commits through its own pool wake it
    /// either way (`CommitSignals`). A process that is one of many replicas writing to the same
    /// outbox (review workers) turns it off: each replica's relay delivers its own messages.
    public var wakesOnNotify: Bool = true
    /// Retries: exponential from `initialBackoff` to `maxBackoff` with jitter; after
    /// `maxAttempts` deliveries the message is dead.
    public var maxAttempts: Int
    public var initialBackoff: Duration
    public var maxBackoff: Duration
    /// Delivered rows are kept this long (for replays and audits), then purged.
    public var retention: Duration
    public var purgeInterval: Duration

    public init(
        batchSize: Int = 256,
        batchesInFlight: Int = 3,
        lease: Duration = .seconds(30),
        deliveryTimeout: Duration = .seconds(10),
        pollInterval: Duration = .seconds(1),
        maxAttempts: Int = 12,
        initialBackoff: Duration = .milliseconds(200),
        maxBackoff: Duration = .seconds(60),
        retention: Duration = .seconds(7 * 24 * 3600),
        purgeInterval: Duration = .seconds(600)
    ) {
        self.batchSize = batchSize
        self.batchesInFlight = max(1, batchesInFlight)
        self.lease = lease
        self.deliveryTimeout = deliveryTimeout
        self.pollInterval = pollInterval
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.retention = retention
        self.purgeInterval = purgeInterval
    }
}

extension Duration {
    /// Whole milliseconds, for SQL intervals.
    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
