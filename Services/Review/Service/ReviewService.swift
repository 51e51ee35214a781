import Contracts
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The review service: its migrations and methods, booted by `ServiceApp`.
public enum ReviewService {
    public static var definition: ServiceDefinition {
        ServiceDefinition(
            service: .review,
            migrationsDirectory: Bundle.module.url(forResource: "Migrations", withExtension: nil)
        )
    }
}
