import LineProtocol
import Logging
import Metrics
import Postgres
import ServiceLifecycle
import Synchronization

/// How a worker process runs jobs of one queue.
public struct QueueWorkerConfiguration: Sendable {
    /// Jobs run at once by this process.
    public var concurrency: Int
    /// How long a claimed job is this worker's without a heartbeat.
    public var lease: Duration
    public var heartbeatInterval: Duration
    /// The safety-net poll when no NOTIFY arrives (and for jobs whose run time comes).
    public var pollInterval: Duration
    /// Retry pause after a failure: exponential from `initialBackoff` to `maxBackoff`.
    public var initialBackoff: Duration
    public var maxBackoff: Duration
    /// Free slots worth a claim while other jobs still run: a claim is a round trip and a commit,
    /// so claiming for every single freed slot of a busy worker costs a transaction per job.
    /// An idle worker claims at once. A quarter of `concurrency` by default.
    public var claimWhenFree: Int

    public init(
        concurrency: Int = 4,
        lease: Duration = .seconds(30),
        heartbeatInterval: Duration? = nil,
        pollInterval: Duration = .seconds(1),
        initialBackoff: Duration = .seconds(1),
        maxBackoff: Duration = .seconds(300),
        claimWhenFree: Int? = nil
    ) {
        self.concurrency = max(1, concurrency)
        self.claimWhenFree = min(self.concurrency, max(1, claimWhenFree ?? self.concurrency / 4))
        self.lease = lease
        self.heartbeatInterval = heartbeatInterval ?? lease / 3
        self.pollInterval = pollInterval
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }
}

/// Runs the jobs of one queue: claims as many as it has free slots, runs each with a heartbeat
/// renewing its lease, records done or failed. On graceful shutdown it claims nothing new and
/// lets running jobs finish. Start more processes to scale: they share the queue safely.
public struct QueueWorker: Service {
    private let queue: WorkQueue
    private let listenerConfiguration: PostgresConfiguration
    private let workerName: String
    private let configuration: QueueWorkerConfiguration
    private let logger: Logger
    private let handler: @Sendable (Job) async throws -> Void
    private let duration: Metrics.Timer
    private let failures: Counter
    private let depthGauge: Gauge

    /// - Parameter handler: does the job's work. To make its effect exactly-once, do it in a
    ///   transaction that also calls `queue.complete(job, on:)`.
    public init(
        queue: WorkQueue,
        listenerConfiguration: PostgresConfiguration,
        workerName: String,
        configuration: QueueWorkerConfiguration = QueueWorkerConfiguration(),
        logger: Logger,
        handler: @escaping @Sendable (Job) async throws -> Void
    ) {
        self.queue = queue
        self.listenerConfiguration = listenerConfiguration
        self.workerName = workerName
        self.configuration = configuration
        self.logger = logger
        self.handler = handler
        self.duration = Metrics.Timer(label: "messaging_job_duration_seconds", dimensions: [("queue", queue.name)], preferredDisplayUnit: .seconds)
        self.failures = Counter(label: "messaging_job_failures_total", dimensions: [("queue", queue.name)])
        self.depthGauge = Gauge(label: "messaging_queue_depth", dimensions: [("queue", queue.name)])
    }

    public func run() async throws {
        let wake = WakeSignal()
        let running = RunningJobs()
        let finished = FinishedJobs()
        let listener = PostgresListener(configuration: listenerConfiguration, channels: [WorkQueue.notifyChannel], logger: logger)
        let queueName = queue.name
        // Jobs enqueued through this process's pool wake it directly, without a NOTIFY.
        let local = queue.database.commitSignals.listen(queue.localChannel) { wake.signal() }
        defer { local.cancel() }
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        for try await note in listener.notifications() where note.kind != .notification || note.payload == queueName {
                            wake.signal()
                        }
                    } catch {
                        logger.debug("job listener ended", metadata: ["error": .string("\(error)")])
                    }
                }
                var lastGauge = ContinuousClock.now - .seconds(10)
                while !Task.isCancelled, !Task.isShuttingDownGracefully {
                    let free = configuration.concurrency - running.count
                    var claimed = 0
                    // Finished jobs are marked done with the next claim; until then their lease
                    // covers them, so they are not left waiting longer than a quarter of it.
                    if free >= configuration.claimWhenFree || free == configuration.concurrency
                        || finished.waiting(longerThan: configuration.lease / 4) {
                        let done = finished.take()
                        do {
                            let jobs = try await queue.claim(worker: workerName, limit: max(0, free), lease: configuration.lease, completing: done)
                            claimed = jobs.count
                            running.add(jobs.count)
                            for job in jobs {
                                group.addTask {
                                    if await execute(job) { finished.add(job.id) }
                                    running.add(-1)
                                    wake.signal()
                                }
                            }
                        } catch {
                            finished.add(contentsOf: done)
                            logger.warning("claiming jobs failed; retrying", metadata: ["queue": .string(queueName), "error": .string("\(error)")])
                        }
                    }
                    if ContinuousClock.now - lastGauge > .seconds(1) {
                        lastGauge = .now
                        if let depth = try? await queue.depth() { depthGauge.record(depth) }
                    }
                    if free > 0, claimed == free { continue }
                    await wake.wait(upTo: min(configuration.pollInterval, configuration.lease / 4))
                }
                // Running jobs finish; only the listener is stopped.
                await listener.close()
            }
            let done = finished.take()
            if !done.isEmpty {
                do {
                    try await queue.completeIfRunning(done, worker: workerName)
                } catch {
                    logger.warning("marking finished jobs done failed; they run again after their lease", metadata: ["queue": .string(queueName), "error": .string("\(error)")])
                }
            }
        } onGracefulShutdown: {
            wake.signal()
        }
    }

    /// Runs the job; true when its handler returned, so the job is to be marked done (with the
    /// next claim, which saves a round trip and a commit per job). Until then its lease covers
    /// it; a worker that dies first leaves it to run again, as it would dying a moment earlier.
    private func execute(_ job: Job) async -> Bool {
        let started = ContinuousClock.now
        var jobLogger = logger
        jobLogger[metadataKey: "job.id"] = .stringConvertible(job.id)
        jobLogger[metadataKey: "job.queue"] = .string(job.queue)
        let succeeded = await withTaskGroup(of: Void.self) { group -> Bool in
            group.addTask { [queue, configuration] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: configuration.heartbeatInterval)
                    if Task.isCancelled { return }
                    if (try? await queue.heartbeat(job, lease: configuration.lease)) == false { return }
                }
            }
            defer { group.cancelAll() }
            do {
                try await handler(job)
                return true
            } catch let lost as JobLeaseLost {
                jobLogger.warning("job result dropped", metadata: ["error": .string(lost.description)])
            } catch {
                failures.increment()
                let pause = RetryBackoff.delay(attempt: job.attempt, initial: configuration.initialBackoff, maximum: configuration.maxBackoff)
                jobLogger.warning("job failed", metadata: ["job.attempt": .stringConvertible(job.attempt), "error": .string("\(error)")])
                do {
                    try await queue.fail(job, error: String(describing: error), retryIn: pause)
                } catch {
                    jobLogger.error("recording a job failure failed; the lease will expire and it runs again", metadata: ["error": .string("\(error)")])
                }
            }
            return false
        }
        let elapsed = ContinuousClock.now - started
        duration.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        return succeeded
    }

}

/// Jobs this worker runs now; shared by the claim loop and the job tasks.
private final class RunningJobs: Sendable {
    private let value = Atomic<Int>(0)
    var count: Int { value.load(ordering: .relaxed) }
    func add(_ delta: Int) { value.wrappingAdd(delta, ordering: .relaxed) }
}

/// Jobs whose handlers returned, waiting to be marked done with the next claim.
private final class FinishedJobs: Sendable {
    private struct Waiting {
        var ids: [Int64] = []
        /// When the oldest of `ids` was added.
        var since: ContinuousClock.Instant?
    }
    private let state = Mutex(Waiting())

    func add(_ id: Int64) { add(contentsOf: [id]) }
    func add(contentsOf more: [Int64]) {
        state.withLock { state in
            if state.ids.isEmpty, !more.isEmpty { state.since = .now }
            state.ids.append(contentsOf: more)
        }
    }
    func take() -> [Int64] { state.withLock { state in defer { state = Waiting() }; return state.ids } }
    func waiting(longerThan limit: Duration) -> Bool {
        state.withLock { state in state.since.map { ContinuousClock.now - $0 > limit } ?? false }
    }
}
