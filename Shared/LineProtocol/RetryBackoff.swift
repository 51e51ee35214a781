/// Exponential backoff with jitter, shared by client reconnects, outbox retries and job retries.
public enum RetryBackoff {
    /// The pause before retry number `attempt` (1-based): doubles from `initial` up to `maximum`,
    /// then a random point in its upper half, so peers failing together do not retry in
    /// lockstep yet every pause still grows.
    public static func delay(attempt: Int, initial: Duration, maximum: Duration) -> Duration {
        let exponent = min(max(attempt - 1, 0), 20)
        let ceiling = min(initial * (1 << exponent), maximum)
        let nanoseconds = max(1, ceiling.components.seconds * 1_000_000_000 + ceiling.components.attoseconds / 1_000_000_000)
        return .nanoseconds(Int64.random(in: (nanoseconds / 2)...nanoseconds))
    }
}
