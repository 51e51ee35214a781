import Contracts
import LineProtocol
import Messaging
import ServiceKit
import ServiceLifecycle

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The review service: its migrations, methods and check workers, booted by `ServiceApp`.
///
/// `definition` is the whole service (methods, plus check workers when
/// `ONESTOP_REVIEW_WORKER_CONCURRENCY` > 0); `workerDefinition` runs only check workers, for
/// `review worker` processes that scale the checks out.
public enum ReviewService {
    public static var definition: ServiceDefinition {
        definition(settings: nil)
    }

    public static var workerDefinition: ServiceDefinition {
        workerDefinition(settings: nil)
    }

    /// The whole service; `settings` nil reads them from the environment.
    public static func definition(settings: ReviewSettings?) -> ServiceDefinition {
        ServiceDefinition(
            service: .review,
            migrationsDirectory: migrations,
            methods: { context in try ReviewHandlers.methods(context: context, settings: resolve(settings)) },
            backgroundServices: { context in try workers(context: context, settings: settings) }
        )
    }

    /// Check workers only: no review methods (the built-in `sys.*` still answer). Each worker
    /// process's relay delivers the decisions that process commits, woken in-process; it does
    /// not LISTEN, or eight workers' relays would wake on every NOTIFY and race.
    public static func workerDefinition(settings: ReviewSettings?) -> ServiceDefinition {
        ServiceDefinition(
            service: .review,
            migrationsDirectory: migrations,
            backgroundServices: { context in try workers(context: context, settings: settings) },
            outboxRelay: .pollingOnly
        )
    }

    static var migrations: URL? { Bundle.module.url(forResource: "Migrations", withExtension: nil) }

    static func resolve(_ settings: ReviewSettings?) throws -> ReviewSettings {
        if let settings { return settings }
        return try ReviewSettings(environment: ProcessInfo.processInfo.environment)
    }

    /// Throws (stopping the process at start, with the problem named) when the settings or the
    /// rules file cannot be used.
    static func workers(context: ServiceContext, settings given: ReviewSettings?) throws -> [any Service] {
        let settings = try resolve(given)
        let rules = try settings.loadRules()
        guard settings.workerConcurrency > 0 else { return [] }
        let store = ReviewStore(
            database: context.database, jobMaxAttempts: settings.jobMaxAttempts,
            rejectionWindows: rules.repeatedRejections.map(\.withinDays)
        )
        let runner = CheckRunner(
            store: store, rules: rules, intake: context.client(for: .intake), intakeTimeout: settings.intakeTimeout,
            verifier: settings.verifierURL.map {
                ExternalVerifier(url: $0, timeout: settings.verifierTimeout, maxConnections: settings.workerConcurrency)
            },
            logger: context.logger
        )
        let worker = QueueWorker(
            queue: store.queue,
            listenerConfiguration: context.database.configuration,
            workerName: context.configuration.instance,
            configuration: QueueWorkerConfiguration(
                concurrency: settings.workerConcurrency, lease: settings.jobLease,
                pollInterval: .milliseconds(500), initialBackoff: .milliseconds(500), maxBackoff: .seconds(60)
            ),
            logger: context.logger,
            handler: { job in try await runner.run(job) }
        )
        context.logger.info("review check workers started", metadata: [
            "worker.concurrency": .stringConvertible(settings.workerConcurrency),
            "verifier": .string(settings.verifierURL?.absoluteString ?? "none"),
        ])
        return [worker]
    }
}
