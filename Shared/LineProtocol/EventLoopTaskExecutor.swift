import NIOCore

/// Runs a task's jobs on one NIO event loop.
///
/// A call's handler task prefers the event loop its connection lives on, so a request that
/// arrives, runs and is answered never leaves that thread: the answer is written from where it
/// was computed. On the cooperative pool instead, each call cost two thread hand-offs (loop →
/// pool → loop), which on two cores was a third of a round trip's latency. Handlers still
/// `await` freely; whatever they wait on (a Postgres connection's thread, another service)
/// resumes them here. They must not block: the loop serves the connection's other calls too.
final class EventLoopTaskExecutor: TaskExecutor {
    private let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { [self] in
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
