import Contracts
import LineProtocol
import ServiceKit
import ServiceLifecycle

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The routing service: departments and handlers, dispatch with routing slips, processing under
/// the working-day clock, and the SLA monitor; booted by `ServiceApp`.
public enum RoutingService {
    /// The service as deployed: settings from the environment.
    public static var definition: ServiceDefinition { definition(settings: nil) }

    /// The service with explicit settings (tests pass their own clock and calendar); nil reads
    /// the environment.
    public static func definition(settings: RoutingSettings?) -> ServiceDefinition {
        let loaded: Result<RoutingSettings, any Error> = settings.map { .success($0) } ?? Result { try RoutingSettings.fromEnvironment() }
        return ServiceDefinition(
            service: .routing,
            migrationsDirectory: Bundle.module.url(forResource: "Migrations", withExtension: nil),
            methods: { context in
                let processor = RoutingProcessor(database: context.database, settings: try loaded.get(), logger: context.logger)
                return methods(processor)
            },
            backgroundServices: { context in
                guard let settings = try? loaded.get() else { return [] }
                return [
                    OrganisationSeeder(database: context.database, settings: settings, logger: context.logger),
                    SLAMonitor(database: context.database, settings: settings, logger: context.logger),
                ]
            }
        )
    }

    static func methods(_ p: RoutingProcessor) -> RPCMethodTable {
        var table = RPCMethodTable()
        table.register(RoutingUpsertDepartment.self) { try await p.upsertDepartment($0, context: $1) }
        table.register(RoutingUpsertHandler.self) { try await p.upsertHandler($0, context: $1) }
        table.register(RoutingSetRule.self) { try await p.setRule($0, context: $1) }
        table.register(RoutingSeedOrganisation.self) { try await p.seedOrganisation($0, context: $1) }
        table.register(RoutingListOrganisation.self) { _, _ in try await p.listOrganisation() }
        table.register(RoutingDispatch.self) { try await p.dispatch($0, context: $1) }
        table.register(RoutingAccept.self) { try await p.accept($0, context: $1) }
        table.register(RoutingRequestInfo.self) { try await p.requestInfo($0, context: $1) }
        table.register(RoutingProvideInfo.self) { try await p.provideInfo($0, context: $1) }
        table.register(RoutingExtend.self) { try await p.extend($0, context: $1) }
        table.register(RoutingApproveExtension.self) { try await p.approveExtension($0, context: $1) }
        table.register(RoutingComplete.self) { try await p.complete($0, context: $1) }
        table.register(RoutingReopen.self) { try await p.reopen($0, context: $1) }
        table.register(RoutingTransfer.self) { try await p.transfer($0, context: $1) }
        table.register(RoutingReassign.self) { try await p.reassign($0, context: $1) }
        table.register(RoutingGetAssignment.self) { try await p.getAssignment($0, context: $1) }
        table.register(RoutingListDepartmentQueue.self) { params, _ in try await p.listDepartmentQueue(params) }
        table.register(RoutingCaseAssignment.self) { try await p.caseAssignment($0, context: $1) }
        table.register(RoutingExplainDeadline.self) { try await p.explainDeadline($0, context: $1) }
        table.register(RoutingStats.self) { try await p.stats($0, context: $1) }
        table.register(RoutingMyCases.self) { try await p.myCases($0, context: $1) }
        table.register(RoutingOverdue.self) { try await p.overdue($0, context: $1) }
        return table
    }
}
