import Foundation
import Synchronization

/// One dedicated OS thread that runs submitted jobs in order.
///
/// libpq calls block, so they must stay off Swift's cooperative pool and NIO's event loops; each
/// connection gets one of these. Jobs resume their continuations from this thread.
final class WorkerThread: Sendable {
    typealias Job = @Sendable () -> Void

    private struct Queue {
        var jobs: [Job] = []
        var head = 0
        var stopping = false

        mutating func pop() -> Job? {
            guard head < jobs.count else { return nil }
            let job = jobs[head]
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            }
            return job
        }
    }

    /// What the thread and the submitters share.
    private final class Shared: Sendable {
        let queue = Mutex(Queue())
        let wakeUp = DispatchSemaphore(value: 0)
    }

    private let shared = Shared()

    init(name: String) {
        let thread = Thread { [shared] in
            while true {
                shared.wakeUp.wait()
                let next: Job?? = shared.queue.withLock { queue in
                    if let job = queue.pop() { return .some(job) }
                    return queue.stopping ? .none : .some(nil)
                }
                switch next {
                case .none: return  // stopped and drained
                case .some(.none): continue
                case .some(.some(let job)): job()
                }
            }
        }
        thread.name = name
        thread.start()
    }

    /// Queues `job`; false if the thread is stopping (the job will not run).
    @discardableResult
    func submit(_ job: @escaping Job) -> Bool {
        let accepted = shared.queue.withLock { queue in
            guard !queue.stopping else { return false }
            queue.jobs.append(job)
            return true
        }
        if accepted { shared.wakeUp.signal() }
        return accepted
    }

    /// Runs the jobs already queued, then ends the thread. Later submits are refused.
    func stop() {
        let first = shared.queue.withLock { queue in
            defer { queue.stopping = true }
            return !queue.stopping
        }
        if first { shared.wakeUp.signal() }
    }

    /// Runs `body` on the thread and returns its result to the calling task.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws(PostgresError) -> T) async throws(PostgresError) -> T {
        let result: Result<T, PostgresError> = await withCheckedContinuation { continuation in
            let accepted = submit {
                continuation.resume(returning: Result { () throws(PostgresError) -> T in try body() })
            }
            if !accepted {
                continuation.resume(
                    returning: .failure(PostgresError(code: .connectionClosed, message: "the connection was closed; acquire a new one"))
                )
            }
        }
        return try result.get()
    }
}
