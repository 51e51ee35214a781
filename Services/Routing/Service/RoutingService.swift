import Contracts
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The routing service: its migrations and methods, booted by `ServiceApp`.
public enum RoutingService {
    public static var definition: ServiceDefinition {
        ServiceDefinition(
            service: .routing,
            migrationsDirectory: Bundle.module.url(forResource: "Migrations", withExtension: nil)
        )
    }
}
