import Contracts
import LineProtocol
import Messaging
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The intake service: the acceptance centre. It registers applications, owns the customer's
/// view of every case and tells the customer what happens.
public enum IntakeService {
    public static var definition: ServiceDefinition {
        definition(environment: ProcessInfo.processInfo.environment)
    }

    public static func definition(environment: [String: String]) -> ServiceDefinition {
        ServiceDefinition(
            service: .intake,
            migrationsDirectory: Bundle.module.url(forResource: "Migrations", withExtension: nil),
            methods: { context in try Parts(context: context, environment: environment).methods() },
            backgroundServices: { context in
                guard let parts = try? Parts(context: context, environment: environment) else { return [] }
                return [parts.scheduler]
            },
            outboxSealing: outboxSealing(environment: environment)
        )
    }

    /// What seals intake's notices in its outbox (nil when the keys are misconfigured, in
    /// which case the methods refuse to start and say why). Public for tests that read the outbox.
    public static func outboxSealing(environment: [String: String]) -> (any OutboxSealing)? {
        (try? IntakeSettings(environment: environment)).map { PersonalDataVault(settings: $0) }
    }

    /// Everything the handlers share, built once the database exists.
    struct Parts: Sendable {
        let context: ServiceContext
        let settings: IntakeSettings
        let catalog: ServiceCatalog
        let vault: PersonalDataVault
        let notices: CustomerNotices

        init(context: ServiceContext, environment: [String: String]) throws {
            self.context = context
            settings = try IntakeSettings(environment: environment)
            catalog = ServiceCatalog(database: context.database)
            vault = PersonalDataVault(settings: settings)
            notices = CustomerNotices(vault: vault)
            if settings.usesDevelopmentKeys {
                context.logger.warning("intake uses the built-in development keys for personal data: set ONESTOP_INTAKE_DATA_KEYS and ONESTOP_INTAKE_LOOKUP_KEY in production")
            }
        }

        var scheduler: IntakeScheduler {
            IntakeScheduler(database: context.database, catalog: catalog, notices: notices, settings: settings, logger: context.logger)
        }

        func methods() throws -> RPCMethodTable {
            let registration = RegistrationHandlers(database: context.database, catalog: catalog, vault: vault, notices: notices, settings: settings)
            let views = CaseViewHandlers(database: context.database, catalog: catalog, registration: registration)
            let progress = ProgressHandlers(database: context.database, notices: notices, settings: settings,
                                            inbox: Inbox(database: context.database))
            let administration = AdministrationHandlers(database: context.database, catalog: catalog, settings: settings)
            let catalogFile = try ServiceCatalog.bundledFile()
            let catalog = catalog
            let logger = context.logger

            var table = RPCMethodTable()
            table.register(IntakeRegisterCase.self) { params, rpc in
                try await catalog.seedOnce(from: catalogFile, logger: logger)
                return try await registration.register(params, rpc)
            }
            table.register(IntakeSupplementMaterials.self, registration.supplement)
            table.register(IntakeRequestAdditionalItems.self, registration.requestAdditionalItems)
            table.register(IntakeWithdraw.self, registration.withdraw)
            table.register(IntakeObject.self, registration.object)
            table.register(IntakeGetCase.self, views.getCase)
            table.register(IntakeTrackCase.self, views.trackCase)
            table.register(IntakeFindCases.self, views.findCases)
            table.register(IntakeOpenCasesOfCustomer.self, views.openCasesOfCustomer)
            table.register(IntakeApplicantIdentity.self, registration.applicantIdentity)
            table.register(IntakeRecordProgress.self, progress.record)
            table.register(IntakeListCatalog.self) { params, rpc in
                try await catalog.seedOnce(from: catalogFile, logger: logger)
                return try await administration.listCatalog(params, rpc)
            }
            table.register(IntakeUpsertServiceType.self) { params, rpc in
                try await catalog.seedOnce(from: catalogFile, logger: logger)
                return try await administration.upsertServiceType(params, rpc)
            }
            table.register(IntakeSetDutyOfficer.self, administration.setDutyOfficer)
            table.register(IntakeStats.self, StatisticsHandlers(database: context.database).stats)
            table.register(IntakeRequestArchiveAccess.self, administration.requestArchiveAccess)
            table.register(IntakeApproveArchiveAccess.self, administration.approveArchiveAccess)
            return table
        }
    }
}
