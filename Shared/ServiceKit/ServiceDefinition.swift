import Contracts
import LineProtocol
import Logging
import Messaging
import Postgres
import ServiceLifecycle

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// What makes a service what it is: its name, its migrations, its methods and its background
/// work. `ServiceApp` supplies everything else (database, listeners, admin port, lifecycle).
public struct ServiceDefinition: Sendable {
    public var service: OneStopService
    /// The folder of numbered SQL files (a resource of the service's library).
    public var migrationsDirectory: URL?
    /// Builds the method table once the database and peer clients exist.
    public var methods: @Sendable (ServiceContext) throws -> RPCMethodTable
    /// Long-running work (relays, workers, timers) run beside the servers.
    public var backgroundServices: @Sendable (ServiceContext) -> [any Service]
    /// Opens the outbox params the service seals on enqueue (nil: it seals none).
    public var outboxSealing: (any OutboxSealing)?

    public init(
        service: OneStopService,
        migrationsDirectory: URL?,
        methods: @escaping @Sendable (ServiceContext) throws -> RPCMethodTable = { _ in RPCMethodTable() },
        backgroundServices: @escaping @Sendable (ServiceContext) -> [any Service] = { _ in [] },
        outboxSealing: (any OutboxSealing)? = nil
    ) {
        self.service = service
        self.migrationsDirectory = migrationsDirectory
        self.methods = methods
        self.backgroundServices = backgroundServices
        self.outboxSealing = outboxSealing
    }
}

/// What a service's handlers and workers are given.
public struct ServiceContext: Sendable {
    public let configuration: ServiceConfiguration
    public let database: PostgresPool
    public let logger: Logger
    /// One client pool per peer service; they connect on first use.
    public let peers: [OneStopService: RPCClient]

    public func client(for peer: OneStopService) -> RPCClient {
        guard let client = peers[peer] else {
            preconditionFailure("no client for \(peer.rawValue): it is this service itself")
        }
        return client
    }
}
