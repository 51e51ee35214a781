import Contracts
import LineProtocol
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The complaints service: its migrations and methods, booted by `ServiceApp`.
public enum ComplaintsService {
    /// The service configured from the environment (`ONESTOP_COMPLAINTS_*`).
    public static var definition: ServiceDefinition {
        definition(configuration: { try ComplaintsConfiguration.fromEnvironment() })
    }

    /// The service with settings given in code (tests).
    public static func definition(
        configuration: @escaping @Sendable () throws -> ComplaintsConfiguration
    ) -> ServiceDefinition {
        ServiceDefinition(
            service: .complaints,
            migrationsDirectory: Bundle.module.url(forResource: "Migrations", withExtension: nil),
            methods: { context in
                let settings = try configuration()
                if settings.usesDevelopmentDataKey {
                    context.logger.warning("complaints seals contacts with the built-in development key: set ONESTOP_COMPLAINTS_DATA_KEYS in production")
                }
                let handlers = ComplaintsHandlers(
                    configuration: settings, database: context.database, routing: context.client(for: .routing),
                    intake: context.client(for: .intake),
                    logger: context.logger
                )
                return methods(handlers)
            },
            backgroundServices: { context in
                guard let settings = try? configuration() else { return [] }
                return [
                    DeadlineMonitor(configuration: settings, database: context.database, logger: context.logger),
                    ContactResealer(configuration: settings, database: context.database, logger: context.logger),
                ]
            },
            outboxSealing: (try? configuration()).map { ContactSealing(configuration: $0) }
        )
    }

    static func methods(_ handlers: ComplaintsHandlers) -> RPCMethodTable {
        var table = RPCMethodTable()
        table.register(ComplaintsFile.self) { try await handlers.file($0, context: $1) }
        table.register(ComplaintsClassify.self) { try await handlers.classify($0, context: $1) }
        table.register(ComplaintsAcknowledge.self) { try await handlers.acknowledge($0, context: $1) }
        table.register(ComplaintsInvestigate.self) { try await handlers.investigate($0, context: $1) }
        table.register(ComplaintsResolve.self) { try await handlers.resolve($0, context: $1) }
        table.register(ComplaintsAccept.self) { try await handlers.accept($0, context: $1) }
        table.register(ComplaintsReopen.self) { try await handlers.reopen($0, context: $1) }
        table.register(ComplaintsClose.self) { try await handlers.close($0, context: $1) }
        table.register(ComplaintsGet.self) { try await handlers.get($0, context: $1) }
        table.register(ComplaintsList.self) { try await handlers.list($0, context: $1) }
        table.register(ComplaintsRate.self) { try await handlers.rate($0, context: $1) }
        table.register(ComplaintsStats.self) { try await handlers.stats($0, context: $1) }
        return table
    }
}
