import Synchronization

/// Wakes a loop that sleeps between rounds: `signal()` from a NOTIFY or a shutdown, `wait(upTo:)`
/// in the loop. A signal that arrives while the loop is busy is kept, so no wake-up is lost.
final class WakeSignal: Sendable {
    private let state = Mutex<(pending: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns at the next signal, after `timeout`, or when the task is cancelled.
    func wait(upTo timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                // Ends early when the wait is over (cancelAll below) or the waiting task is
                // cancelled; signalling then is harmless (at most one spurious wake-up) and is
                // what lets a cancelled loop stop instead of waiting forever.
                try? await Task.sleep(for: timeout)
                signal()
            }
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.pending {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
            group.cancelAll()
        }
    }
}
