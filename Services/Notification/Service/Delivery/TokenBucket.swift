import Synchronization

/// A token bucket per provider: `rate` sends per second with bursts of up to `burst`.
/// `acquire` waits (off any lock) until a token is free.
final class TokenBucket: Sendable {
    private struct State {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let rate: Double
    private let burst: Double
    private let state: Mutex<State>

    init(rate: Double, burst: Int) {
        self.rate = max(rate, 0.001)
        self.burst = Double(max(burst, 1))
        self.state = Mutex(State(tokens: Double(max(burst, 1)), updated: .now))
    }

    /// Takes a token now, or returns how long to wait before one is free (already reserved).
    func reserve() -> Duration {
        state.withLock { state in
            let now = ContinuousClock.now
            let elapsed = now - state.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            state.tokens = min(burst, state.tokens + seconds * rate)
            state.updated = now
            state.tokens -= 1
            if state.tokens >= 0 { return .zero }
            return .nanoseconds(Int64(-state.tokens / rate * 1e9))
        }
    }

    func acquire() async throws {
        let wait = reserve()
        if wait > .zero { try await Task.sleep(for: wait) }
    }
}
