import Synchronization

/// Wakes a loop that sleeps between rounds: `signal()` from a NOTIFY or a shutdown, `wait(upTo:)`
/// in the loop. A signal that arrives while the loop is busy is kept, so no wake-up is lost; a
/// wait that ends leaves nothing behind, so the loop sleeps again at its next wait.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
        /// Each wait has a number, so its timer can end that wait and never a later one.
        var wait: UInt64 = 0
        var expired: UInt64 = 0
    }

    private let state = Mutex(State())

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
        let number = state.withLock { state in
            state.wait &+= 1
            return state.wait
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                // Ends early when the wait is over (cancelAll below) or the waiting task is
                // cancelled; either way it only ends this wait. (It used to call `signal()`,
                // which, when a real signal had already ended the wait, left a pending signal
                // behind: every later wait returned at once and the loop polled the database
                // as fast as it could, a few hundred transactions a second per idle service.)
                try? await Task.sleep(for: timeout)
                expire(number)
            }
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.pending {
                        state.pending = false
                        return true
                    }
                    if state.expired == number || Task.isCancelled { return true }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
            group.cancelAll()
        }
    }

    /// Ends wait `number` if it is the current one and still waiting.
    private func expire(_ number: UInt64) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.wait == number else { return nil }
            state.expired = number
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}
