import Contracts
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The notification service: its migrations and methods, booted by `ServiceApp`.
public enum NotificationService {
    public static var definition: ServiceDefinition {
        ServiceDefinition(
            service: .notification,
            migrationsDirectory: Bundle.module.url(forResource: "Migrations", withExtension: nil)
        )
    }
}
