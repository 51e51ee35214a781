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
    /// Long-running work (relays, workers, timers) run beside the servers. Built before the
    /// listener opens: a throw (a setting that cannot work) stops the service at start.
    public var backgroundServices: @Sendable (ServiceContext) throws -> [any Service]
    /// Opens the outbox params the service seals on enqueue (nil: it seals none).
    public var outboxSealing: (any OutboxSealing)?
    /// How this process's outbox relay wakes.
    public var outboxRelay: OutboxRelayRole

    public init(
        service: OneStopService,
        migrationsDirectory: URL?,
        methods: @escaping @Sendable (ServiceContext) throws -> RPCMethodTable = { _ in RPCMethodTable() },
        backgroundServices: @escaping @Sendable (ServiceContext) throws -> [any Service] = { _ in [] },
        outboxSealing: (any OutboxSealing)? = nil,
        outboxRelay: OutboxRelayRole = .wokenOnCommit
    ) {
        self.service = service
        self.migrationsDirectory = migrationsDirectory
        self.methods = methods
        self.backgroundServices = backgroundServices
        self.outboxSealing = outboxSealing
        self.outboxRelay = outboxRelay
    }
}

/// How a process's outbox relay learns there is something to deliver. Either way it wakes at
/// once when its own process commits messages (`CommitSignals`, no NOTIFY).
public enum OutboxRelayRole: Sendable {
    /// It also LISTENs, for messages written by processes without a relay (operations).
    case wokenOnCommit
    /// Besides its own process's commits it only polls (once a second), a safety net for when
    /// the service's other processes are down: for the many extra processes of one service
    /// (review workers), whose relays would otherwise all wake on every NOTIFY and race.
    case pollingOnly
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
