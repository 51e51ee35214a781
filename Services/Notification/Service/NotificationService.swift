import Contracts
import LineProtocol
import Logging
import Messaging
import Postgres
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
                if settings.usesDevelopmentKeys {
                    context.logger.warning("notification uses the built-in development keys for personal data: set ONESTOP_NOTIFY_DATA_KEYS and ONESTOP_NOTIFY_LOOKUP_KEY in production")
                }
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
        self.store = NotificationStore(database: context.database, vault: NotificationVault(settings: settings))
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
                guard let id = UUID(uuidString: text) else { throw RPCError.invalidParams("messageId must be a UUID", zh: "messageId 须为 UUID", details: ["field": "messageId"]) }
                messageID = id
            }
            guard params.key != nil || messageID != nil else {
                throw RPCError.invalidParams("give key or messageId", zh: "请提供 key 或 messageId", details: ["field": "key"])
            }
            guard let result = try await store.status(key: params.key, messageID: messageID) else {
                throw RPCError.notFound("no notification with this \(params.key != nil ? "key" : "messageId")", zh: "未找到此 \(params.key != nil ? "key" : "messageId") 对应的通知")
            }
            return result
        }
        table.register(NotificationSuppress.self) { params, context in
            let address = params.channel == .email ? params.address.lowercased() : params.address
            let valid = params.channel == .email ? SendPlan.isEmail(address) : SendPlan.isPhone(address)
            guard valid else { throw RPCError.invalidParams("address is not a valid \(params.channel == .email ? "email address" : "E.164 phone number")", zh: "address 不是有效的\(params.channel == .email ? "电子邮箱地址" : " E.164 电话号码")", details: ["field": "address"]) }
            let reason = params.reason ?? "opt_out"
            guard !reason.isEmpty, reason.count <= 200 else { throw RPCError.invalidParams("reason must be 1...200 characters", zh: "reason 须为 1...200 个字符", details: ["field": "reason"]) }
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
        // Before anything is sent: suppressions kept by clear address must be found by hash.
        guard await sealLegacyRows() else { return }
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

extension DeliveryService {
    /// Seals rows written before migration 0003 (see `NotificationStore.sealLegacyRows`), retrying
    /// with a growing pause while the database fails; false when shut down first.
    func sealLegacyRows() async -> Bool {
        let logger = runtime.context.logger
        var pause = Duration.seconds(1)
        while !Task.isCancelled {
            do {
                let sealed = try await runtime.store.sealLegacyRows()
                if sealed > 0 {
                    logger.notice("sealed the personal data of rows written before sealing", metadata: ["notification.resealed": "\(sealed)"])
                }
                return true
            } catch {
                logger.error("could not seal rows written before sealing; nothing is sent until they are", metadata: ["error": "\(error)"])
                let wait = pause
                do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) } } catch { return false }
                pause = min(pause * 2, .seconds(30))
            }
        }
        return false
    }
}

extension NotificationService {
    /// Seals what rows written before migration 0003 still hold in clear (the service does this at
    /// start); returns how many rows changed. Public for tests that write such rows.
    public static func sealLegacyRows(database: PostgresPool, settings: NotificationSettings) async throws -> Int {
        try await NotificationStore(database: database, vault: NotificationVault(settings: settings)).sealLegacyRows()
    }
}
