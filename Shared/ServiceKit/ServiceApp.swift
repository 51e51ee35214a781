import Contracts
import LineProtocol
import Messaging
import Logging
import NIOCore
import Postgres
import Prometheus
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Where a running service listens.
public struct ServiceAddresses: Sendable {
    public let rpc: SocketAddress
    public let admin: SocketAddress

    public var rpcTarget: RPCTarget { RPCTarget(host: rpc.ipAddress ?? "127.0.0.1", port: rpc.port ?? 0) }
    public var adminURL: String { "http://\(admin.ipAddress ?? "127.0.0.1"):\(admin.port ?? 0)" }
}

/// Boots one service: database pool, migrations (retried until the database answers), the
/// line-protocol listener, background work and the admin port, under one ServiceGroup with
/// graceful shutdown.
public final class ServiceApp: Sendable {
    public let definition: ServiceDefinition
    public let configuration: ServiceConfiguration
    private let logger: Logger
    private let registry: PrometheusCollectorRegistry
    private let state = Mutex(State())

    private struct State {
        var adminAddress: SocketAddress?
        var rpcAddress: SocketAddress?
        var migrated = false
        var group: ServiceGroup?
        var shutdownRequested = false
    }

    public init(
        definition: ServiceDefinition,
        configuration: ServiceConfiguration,
        logger: Logger,
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()
    ) {
        self.definition = definition
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "service"] = .string(configuration.service.rawValue)
        logger[metadataKey: "instance"] = .string(configuration.instance)
        self.logger = logger
        self.registry = registry
    }

    /// Runs until a graceful shutdown (a signal in `signals`, or `triggerGracefulShutdown()`).
    /// `onReady` is called once both ports listen and migrations are applied.
    public func run(
        signals: [UnixSignal] = [],
        onReady: @escaping @Sendable (ServiceAddresses) async -> Void = { _ in }
    ) async throws {
        if configuration.usesDevelopmentSecret {
            logger.warning("ONESTOP_SERVICE_SECRET is not set: using the development credential; set it in any shared deployment")
        }
        if let tls = configuration.tls, !tls.isMutual {
            logger.notice("ONESTOP_TLS_CA_FILE is not set: the line-protocol listener asks for no client certificate, and peers are checked against the system's certificate store")
        }
        let database = PostgresPool(
            configuration: PostgresConfiguration(
                connectionString: configuration.databaseURL, maxPreparedStatements: configuration.databasePreparedStatements
            ),
            maxConnections: configuration.databasePoolSize,
            logger: logger
        )
        var peers: [OneStopService: RPCClient] = [:]
        for peer in OneStopService.allCases where peer != configuration.service {
            peers[peer] = RPCClient(configuration: configuration.clientConfiguration(for: peer), logger: logger)
        }
        let context = ServiceContext(configuration: configuration, database: database, logger: logger, peers: peers)

        let admin = AdminServer.make(
            configuration: configuration,
            readiness: { [self] in await readiness(database) },
            registry: registry,
            logger: logger,
            onRunning: { [self] address in
                await addressKnown(admin: address, onReady: onReady)
            }
        )
        let core = CoreService(app: self, context: context, onReady: onReady)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [
                .init(service: admin, serviceName: "admin"),
                .init(service: core, serviceName: "core"),
            ],
            gracefulShutdownSignals: signals,
            logger: logger
        ))
        let stopAtOnce = state.withLock { state in
            state.group = group
            return state.shutdownRequested
        }
        if stopAtOnce { await group.triggerGracefulShutdown() }
        defer { state.withLock { $0.group = nil } }
        do {
            try await group.run()
        } catch {
            await closeResources(database: database, peers: peers)
            throw error
        }
        await closeResources(database: database, peers: peers)
    }

    /// The admin port's address once it listens (before migrations are done).
    public var adminAddress: SocketAddress? { state.withLock { $0.adminAddress } }

    /// Asks a running app to stop as a SIGTERM would.
    public func triggerGracefulShutdown() async {
        let group = state.withLock { state in
            state.shutdownRequested = true
            return state.group
        }
        await group?.triggerGracefulShutdown()
    }

    private func closeResources(database: PostgresPool, peers: [OneStopService: RPCClient]) async {
        for client in peers.values { await client.shutdown() }
        await database.close()
        logger.info("stopped")
    }

    func readiness(_ database: PostgresPool) async -> [String: String] {
        var checks: [String: String] = [:]
        do {
            try await database.ping()
            checks["database"] = "ok"
        } catch {
            checks["database"] = "unreachable: \(error)"
        }
        let (migrated, listening) = state.withLock { ($0.migrated, $0.rpcAddress != nil) }
        checks["migrations"] = migrated ? "ok" : "not applied yet"
        checks["rpc"] = listening ? "ok" : "not listening yet"
        return checks
    }

    func markMigrated() { state.withLock { $0.migrated = true } }

    func addressKnown(admin: SocketAddress? = nil, rpc: SocketAddress? = nil, onReady: @Sendable (ServiceAddresses) async -> Void) async {
        let addresses = state.withLock { state -> ServiceAddresses? in
            if let admin { state.adminAddress = admin }
            if let rpc { state.rpcAddress = rpc }
            guard let admin = state.adminAddress, let rpc = state.rpcAddress else { return nil }
            return ServiceAddresses(rpc: rpc, admin: admin)
        }
        if let addresses {
            logger.info("ready", metadata: ["rpc.address": .string("\(addresses.rpcTarget)"), "admin.url": .string(addresses.adminURL)])
            await onReady(addresses)
        }
    }
}

/// Migrations, then the line-protocol listener and the background services; on graceful
/// shutdown the listener drains while background services stop.
struct CoreService: Service {
    let app: ServiceApp
    let context: ServiceContext
    let onReady: @Sendable (ServiceAddresses) async -> Void

    func run() async throws {
        let logger = context.logger
        guard try await migrateUntilDone() else { return }
        let methods = try app.definition.methods(context)
        let services = try app.definition.backgroundServices(context)
        let server = RPCServer(
            configuration: context.configuration.rpcServerConfiguration,
            methods: methods,
            health: { [context] in
                do {
                    try await context.database.ping()
                    return SysHealth.Result(status: "ok", checks: ["database": "ok"])
                } catch {
                    return SysHealth.Result(status: "failing", checks: ["database": "unreachable: \(error)"])
                }
            },
            logger: logger
        )
        let address = try await server.start()
        await app.addressKnown(rpc: address, onReady: onReady)
        let peers = context.peers
        var relayConfiguration = context.configuration.outbox
        relayConfiguration.wakesOnNotify = app.definition.outboxRelay == .wokenOnCommit
        let relay = OutboxRelay(
            database: context.database,
            listenerConfiguration: context.database.configuration,
            configuration: relayConfiguration,
            sealing: app.definition.outboxSealing,
            logger: logger,
            destinations: { name in OneStopService(rawValue: name).flatMap { peers[$0] } }
        )
        let background: [any Service] = [relay] + services
        let grace = context.configuration.shutdownGracePeriod
        await withTaskGroup(of: Void.self) { group in
            for service in background {
                group.addTask {
                    do {
                        try await service.run()
                    } catch {
                        logger.error("background service failed", metadata: ["error": .string("\(error)")])
                    }
                }
            }
            group.addTask {
                try? await gracefulShutdown()
                await server.shutdown(gracePeriod: grace)
            }
        }
    }

    /// The database may start after the service (or restart): keep trying with backoff, so an
    /// orchestrator can start everything at once. `/readyz` stays red meanwhile.
    /// Returns false when a shutdown came first.
    private func migrateUntilDone() async throws -> Bool {
        let migrations = try app.definition.migrationsDirectory.map { try Migrations.load(directory: $0) } ?? []
        let messagingMigrator = try MessagingSchema.migrator(logger: context.logger)
        let migrator = Migrator(migrations: migrations, logger: context.logger)
        var pause = Duration.milliseconds(200)
        while true {
            do {
                try await messagingMigrator.apply(on: context.database)
                let applied = try await migrator.apply(on: context.database)
                context.logger.info("migrations applied", metadata: ["migrations.new": .stringConvertible(applied.count), "migrations.total": .stringConvertible(migrations.count)])
                app.markMigrated()
                return true
            } catch let error as PostgresError where error.code == .migrationChecksumMismatch || error.code == .migrationFailed {
                throw error
            } catch {
                context.logger.warning("database not ready; retrying", metadata: ["error": .string("\(error)"), "retry.in": .string("\(pause)")])
                do {
                    try await cancelWhenGracefulShutdown { [pause] in try await Task.sleep(for: pause) }
                } catch {
                    return false
                }
                if Task.isShuttingDownGracefully || Task.isCancelled { return false }
                pause = min(pause * 2, .seconds(5))
            }
        }
    }
}
