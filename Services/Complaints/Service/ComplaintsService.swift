import Contracts
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The complaints service: its migrations and methods, booted by `ServiceApp`.
public enum ComplaintsService {
    public static var definition: ServiceDefinition {
        ServiceDefinition(
            service: .complaints,
            migrationsDirectory: Bundle.module.url(forResource: "Migrations", withExtension: nil)
        )
    }
}
