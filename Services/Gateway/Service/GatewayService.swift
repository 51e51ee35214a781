import Contracts
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The gateway service: its migrations and methods, booted by `ServiceApp`.
public enum GatewayService {
    public static var definition: ServiceDefinition {
        ServiceDefinition(
            service: .gateway,
            migrationsDirectory: Bundle.module.url(forResource: "Migrations", withExtension: nil)
        )
    }
}
