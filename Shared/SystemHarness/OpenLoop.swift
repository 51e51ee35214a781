import TestSupport

/// An open-loop load: operation `i` starts at its due time (`start + i / rate`) whether or not
/// the earlier ones have answered, as independent clients would, so a slow or broken server
/// does not slow the load down (no coordinated omission).
public enum OpenLoop {
    /// Runs `count` operations at `rate` a second. `operation` returns nil for a good answer,
    /// else what went wrong; the latencies (ms, from each due time) of the good ones and the
    /// failures counted by what went wrong.
    public static func run(
        rate: Int, count: Int, _ operation: @escaping @Sendable (Int) async throws -> String?
    ) async -> (latencies: LatencySummary, failures: [String: Int]) {
        let interval = Duration.nanoseconds(1_000_000_000 / Int64(max(rate, 1)))
        let start = ContinuousClock.now + .milliseconds(50)
        return await withTaskGroup(of: (Double, String?).self) { group in
            for index in 0..<count {
                let due = start + interval * index
                try? await Task.sleep(until: due, tolerance: .microseconds(100), clock: .continuous)
                group.addTask {
                    let failure: String?
                    do { failure = try await operation(index) } catch { failure = "\(type(of: error))" }
                    return (Double((ContinuousClock.now - due) / .microseconds(1)) / 1000, failure)
                }
            }
            var latencies: [Double] = []
            var failures: [String: Int] = [:]
            for await (latency, failure) in group {
                if let failure { failures[failure, default: 0] += 1 } else { latencies.append(latency) }
            }
            return (LatencySummary(latencies), failures)
        }
    }
}
