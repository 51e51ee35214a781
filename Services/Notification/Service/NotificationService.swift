import Contracts
import LineProtocol
import Logging
import Messaging
import ServiceKit
import ServiceLifecycle
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The notification service: templated SMS and email, exactly once per key, through libcurl.
public enum NotificationService {
    /// The service as its executable runs it: settings from the environment.
    public static var definition: ServiceDefinition {
        definition(settings: nil)
    }

    /// - Parameter settings: nil reads `ONESTOP_SMTP_*`, `ONESTOP_SMS_*`, ... from the environment;
    ///   a bad value stops the service at start with every problem listed.
    public static func definition(settings: NotificationSettings?) -> ServiceDefinition {
        let runtime = RuntimeBox()
        return ServiceDefinition(
            service: .notification,
            migrationsDirectory: Bundle.module.url(forResource: "Migrations", withExtension: nil),
            methods: { context in
                let settings = try settings ?? NotificationSettings(environment: ProcessInfo.processInfo.environment)
                let catalog = try TemplateCatalog.bundled()
                let built = NotificationRuntime(settings: settings, catalog: catalog, context: context)
                runtime.set(built)
                return built.methods()
            },
            backgroundServices: { _ in
                guard let built = runtime.get() else { return [] }
                return [DeliveryService(runtime: built)]
            }
        )
    }
}

/// The runtime built once the methods are: shared by the handlers and the delivery worker.
final class RuntimeBox: Sendable {
    private let value = Mutex<NotificationRuntime?>(nil)
    func set(_ runtime: NotificationRuntime) { value.withLock { $0 = runtime } }
    func get() -> NotificationRuntime? { value.withLock { $0 } }
}

struct NotificationRuntime: Sendable {
    let settings: NotificationSettings
    let catalog: TemplateCatalog
    let context: ServiceContext
    let store: NotificationStore

    init(settings: NotificationSettings, catalog: TemplateCatalog, context: ServiceContext) {
        self.settings = settings
        self.catalog = catalog
        self.context = context
        self.store = NotificationStore(database: context.database)
    }

    func methods() -> RPCMethodTable {
        var table = RPCMethodTable()
        table.register(NotificationSend.self) { params, context in
            let planned = try SendPlan.plan(params, catalog: catalog, settings: settings)
            let actor = context.meta.actor?.id ?? context.caller
            return try await store.accept(params, planned: planned, actor: actor, quietHours: settings.quietHours)
        }
        table.register(NotificationStatus.self) { params, _ in
            var messageID: UUID?
            if let text = params.messageId {
                guard let id = UUID(uuidString: text) else { throw RPCError.invalidParams("messageId must be a UUID", details: ["field": "messageId"]) }
                messageID = id
            }
            guard params.key != nil || messageID != nil else {
                throw RPCError.invalidParams("give key or messageId", details: ["field": "key"])
            }
            guard let result = try await store.status(key: params.key, messageID: messageID) else {
                throw RPCError.notFound("no notification with this \(params.key != nil ? "key" : "messageId")")
            }
            return result
        }
        table.register(NotificationSuppress.self) { params, context in
            let address = params.channel == .email ? params.address.lowercased() : params.address
            let valid = params.channel == .email ? SendPlan.isEmail(address) : SendPlan.isPhone(address)
            guard valid else { throw RPCError.invalidParams("address is not a valid \(params.channel == .email ? "email address" : "E.164 phone number")", details: ["field": "address"]) }
            let reason = params.reason ?? "opt_out"
            guard !reason.isEmpty, reason.count <= 200 else { throw RPCError.invalidParams("reason must be 1...200 characters", details: ["field": "reason"]) }
            let changed = try await store.suppress(channel: params.channel, address: address, reason: reason, remove: params.remove ?? false,
                                                   actor: context.meta.actor?.id ?? context.caller)
            return NotificationSuppress.Result(changed: changed)
        }
        return table
    }
}

/// The delivery worker: a `QueueWorker` on `notification.delivery` with a libcurl pool of the
/// same size, so at most `ONESTOP_NOTIFY_CONCURRENCY` transfers run at once.
struct DeliveryService: Service {
    let runtime: NotificationRuntime

    func run() async throws {
        let settings = runtime.settings
        let pool = CurlPool(threads: settings.concurrency)
        defer { pool.shutdown() }
        let processor = DeliveryProcessor(
            store: runtime.store, transport: ProviderTransport(settings: settings, pool: pool),
            settings: settings, logger: runtime.context.logger
        )
        let worker = QueueWorker(
            queue: runtime.store.queue,
            listenerConfiguration: runtime.context.database.configuration,
            workerName: runtime.context.configuration.instance,
            configuration: QueueWorkerConfiguration(
                concurrency: settings.concurrency, lease: settings.lease, pollInterval: settings.pollInterval,
                initialBackoff: settings.initialBackoff, maxBackoff: settings.maxBackoff
            ),
            logger: runtime.context.logger,
            handler: { job in try await processor.handle(job) }
        )
        try await worker.run()
    }
}
