import Contracts
import LineProtocol
import Messaging
import Logging

/// Everything a service process reads from its environment. Defaults fit the local layout of
/// `make run`; each variable is documented in the README's configuration table.
public struct ServiceConfiguration: Sendable {
    public enum LogFormat: String, Sendable, CaseIterable { case json, text }
    public enum LogLevel: String, Sendable, CaseIterable { case trace, debug, info, notice, warning, error, critical }

    /// The development credential used when `ONESTOP_SERVICE_SECRET` is unset. Fine on one
    /// machine; a warning is logged so no deployment keeps it by accident.
    public static let developmentSecret = "onestop-local-development-secret"

    public var service: OneStopService
    public var instance: String
    public var rpcHost: String
    public var rpcPort: Int
    public var adminHost: String
    public var adminPort: Int
    public var databaseURL: String
    public var databasePoolSize: Int
    /// Statements each database session keeps prepared; 0 behind a transaction-mode pooler.
    public var databasePreparedStatements: Int
    public var serviceSecret: String
    public var usesDevelopmentSecret: Bool { serviceSecret == Self.developmentSecret }
    public var logFormat: LogFormat
    public var logLevel: Logger.Level
    public var maxConnections: Int
    public var maxInFlightPerConnection: Int
    public var idleTimeout: Duration
    public var shutdownGracePeriod: Duration
    /// How this service's outbox relay delivers its messages.
    public var outbox: OutboxRelayConfiguration
    /// Where the other services listen (`ONESTOP_<SERVICE>_ADDRESSES`).
    public var peers: [OneStopService: [RPCTarget]]
    /// TLS between services (`ONESTOP_TLS_CERT_FILE`, `_KEY_FILE`, `_CA_FILE`); nil: plaintext.
    public var tls: ServiceTLS?
    /// `ONESTOP_<SERVICE>_TLS_SERVER_NAME`: the name a peer's certificate must carry when it is
    /// not the host in its addresses (by default that host, or its IP address, is checked).
    public var peerServerNames: [OneStopService: String]

    /// Reads the configuration of `service`; throws a `ConfigurationError` naming every bad value.
    public init(service: OneStopService, environment: [String: String]) throws {
        var env = EnvironmentReader(environment)
        self.service = service
        self.instance = env.string("ONESTOP_INSTANCE", default: "\(service.rawValue)-\(ProcessInfo.processInfo.processIdentifier)")
        self.rpcHost = env.string("ONESTOP_RPC_HOST", default: "127.0.0.1")
        self.rpcPort = env.port("ONESTOP_RPC_PORT", default: service.defaultRPCPort)
        self.adminHost = env.string("ONESTOP_ADMIN_HOST", default: "127.0.0.1")
        self.adminPort = env.port("ONESTOP_ADMIN_PORT", default: service.defaultAdminPort)
        self.databaseURL = env.string(
            "ONESTOP_DATABASE_URL",
            default: "postgresql://\(service.defaultDatabaseName)@127.0.0.1:25432/\(service.defaultDatabaseName)"
        )
        env.require(
            databaseURL.hasPrefix("postgresql://") || databaseURL.hasPrefix("postgres://") || databaseURL.contains("dbname="),
            "ONESTOP_DATABASE_URL must be a postgresql:// URL or a libpq conninfo with dbname="
        )
        self.databasePoolSize = env.integer("ONESTOP_DB_POOL_SIZE", default: 10, range: 1...500)
        self.databasePreparedStatements = env.integer("ONESTOP_DB_PREPARED_STATEMENTS", default: 200, range: 0...10_000)
        self.serviceSecret = env.string("ONESTOP_SERVICE_SECRET", default: Self.developmentSecret)
        env.require(serviceSecret.utf8.count >= 16, "ONESTOP_SERVICE_SECRET must be at least 16 bytes")
        self.logFormat = env.choice("ONESTOP_LOG_FORMAT", default: LogFormat.json)
        self.logLevel = Logger.Level(rawValue: env.choice("ONESTOP_LOG_LEVEL", default: LogLevel.info).rawValue) ?? .info
        self.maxConnections = env.integer("ONESTOP_RPC_MAX_CONNECTIONS", default: RPCLimits.defaultMaxConnections, range: 1...100_000)
        self.maxInFlightPerConnection = env.integer("ONESTOP_RPC_MAX_IN_FLIGHT", default: RPCLimits.defaultMaxInFlightPerConnection, range: 1...100_000)
        self.idleTimeout = .seconds(env.integer("ONESTOP_RPC_IDLE_TIMEOUT_SECONDS", default: 300, range: 1...86_400))
        self.shutdownGracePeriod = .seconds(env.integer("ONESTOP_SHUTDOWN_GRACE_SECONDS", default: 10, range: 0...3_600))
        var outbox = OutboxRelayConfiguration()
        outbox.batchSize = env.integer("ONESTOP_OUTBOX_BATCH_SIZE", default: outbox.batchSize, range: 1...10_000)
        outbox.lease = .seconds(env.integer("ONESTOP_OUTBOX_LEASE_SECONDS", default: 30, range: 1...3_600))
        outbox.maxAttempts = env.integer("ONESTOP_OUTBOX_MAX_ATTEMPTS", default: outbox.maxAttempts, range: 1...1_000)
        outbox.retention = .seconds(env.integer("ONESTOP_OUTBOX_RETENTION_HOURS", default: 168, range: 1...100_000) * 3600)
        self.outbox = outbox
        var peers: [OneStopService: [RPCTarget]] = [:]
        for peer in OneStopService.allCases where peer != service {
            peers[peer] = env.addresses(
                "ONESTOP_\(peer.rawValue.uppercased())_ADDRESSES",
                default: [RPCTarget(host: "127.0.0.1", port: peer.defaultRPCPort)]
            )
        }
        self.peers = peers
        self.tls = ServiceTLS.read(&env)
        var peerServerNames: [OneStopService: String] = [:]
        for peer in OneStopService.allCases where peer != service {
            let name = "ONESTOP_\(peer.rawValue.uppercased())_TLS_SERVER_NAME"
            guard let serverName = env.optionalString(name) else { continue }
            env.require(
                env.variables[ServiceTLS.certificateVariable] != nil,
                "\(name) is set but TLS is off: set \(ServiceTLS.certificateVariable) and \(ServiceTLS.keyVariable) (and \(ServiceTLS.caVariable)), or unset it"
            )
            peerServerNames[peer] = serverName
        }
        self.peerServerNames = peerServerNames
        if !env.problems.isEmpty {
            throw ConfigurationError(problems: env.problems)
        }
    }

    /// A configuration for tests: ephemeral ports, the given database, text logs.
    public static func forTesting(service: OneStopService, databaseURL: String, peers: [OneStopService: [RPCTarget]] = [:]) -> ServiceConfiguration {
        var configuration = try! ServiceConfiguration(service: service, environment: [
            "ONESTOP_RPC_PORT": "0",
            "ONESTOP_ADMIN_PORT": "0",
            "ONESTOP_DATABASE_URL": databaseURL,
            "ONESTOP_LOG_FORMAT": "text",
            "ONESTOP_DB_POOL_SIZE": "4",
            "ONESTOP_SHUTDOWN_GRACE_SECONDS": "5",
        ])
        configuration.peers.merge(peers) { $1 }
        return configuration
    }

    public var rpcServerConfiguration: RPCServerConfiguration {
        RPCServerConfiguration(
            serviceName: service.rawValue,
            host: rpcHost,
            port: rpcPort,
            credential: serviceSecret,
            maxInFlightPerConnection: maxInFlightPerConnection,
            maxConnections: maxConnections,
            idleTimeout: idleTimeout,
            tls: tls?.server
        )
    }

    /// A client pool for a peer service, greeting it with this service's name and the credential.
    /// With TLS on, it checks the peer's certificate and shows this service's.
    public func clientConfiguration(for peer: OneStopService) -> RPCClientConfiguration {
        var tls = self.tls?.client
        tls?.serverName = peerServerNames[peer]
        return RPCClientConfiguration(
            serviceName: peer.rawValue,
            targets: peers[peer] ?? [RPCTarget(host: "127.0.0.1", port: peer.defaultRPCPort)],
            callerName: service.rawValue,
            credential: serviceSecret,
            tls: tls
        )
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation
