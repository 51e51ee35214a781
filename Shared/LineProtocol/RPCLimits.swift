/// Bounds of the line protocol. Each is a default that configuration may change; the comment
/// says why the default is what it is.
public enum RPCLimits {
    /// 1 MiB per line: the largest legitimate message (a batch of case registrations with
    /// material lists) is a few hundred KiB; anything larger is a bug or an attack, and an
    /// unbounded line would let one peer exhaust the server's memory.
    public static let defaultMaxLineLength = 1 << 20

    /// Requests handled at once per connection. Past it the server stops reading the socket, so
    /// a fast client is slowed by TCP backpressure instead of growing the server's memory.
    /// 256 keeps two cores busy with pipelining clients while bounding memory per connection.
    public static let defaultMaxInFlightPerConnection = 256

    /// Connections per server. Internal callers hold a small pool each (a handful per replica).
    public static let defaultMaxConnections = 1024

    /// Idle connections are closed so a vanished peer does not hold a slot forever. Pools of
    /// clients reconnect on demand, so five minutes costs nothing in normal operation.
    public static let defaultIdleTimeout: Duration = .seconds(300)

    /// How many bytes of an offending line are logged: enough to recognise it, never a payload.
    public static let logSnippetLength = 32
}
