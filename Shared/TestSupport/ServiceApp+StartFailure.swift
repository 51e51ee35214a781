import ServiceKit

/// How a service that is expected to refuse to start came to an end.
public enum StartOutcome: Sendable {
    /// It stopped with this error: what a refusal looks like.
    case failed(any Error)
    /// It ran and returned without an error.
    case returned
    /// It was still running when the limit passed, and was stopped.
    case stillRunning
}

extension ServiceApp {
    /// Runs the service and reports how it ended; one that is still running after `limit` is
    /// shut down, so a test of a refusal fails instead of waiting for ever.
    public func outcomeOfStart(within limit: Duration = .seconds(60)) async -> StartOutcome {
        let outcome = await Task {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask { try await self.run(); return true }
                group.addTask {
                    try await Task.sleep(for: limit)
                    await self.triggerGracefulShutdown()
                    return false
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
        }.result
        switch outcome {
        case .success(let returned): return returned ? .returned : .stillRunning
        case .failure(let error): return .failed(error)
        }
    }
}
