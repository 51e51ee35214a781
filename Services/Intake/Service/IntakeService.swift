import Contracts
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The intake service: its migrations and methods, booted by `ServiceApp`.
public enum IntakeService {
    public static var definition: ServiceDefinition {
        ServiceDefinition(
            service: .intake,
            migrationsDirectory: Bundle.module.url(forResource: "Migrations", withExtension: nil)
        )
    }
}
