import Logging
import Postgres
import ServiceLifecycle

/// Seals, once at start, the contacts of complaints filed before migration 0005 (which kept them
/// in clear columns), in batches, then stays idle until shutdown. Replicas may run it together:
/// rows are claimed with SKIP LOCKED.
struct ContactResealer: Service {
    let configuration: ComplaintsConfiguration
    let database: PostgresPool
    let logger: Logger

    func run() async throws {
        do {
            let sealed = try await ComplaintsService.sealLegacyContacts(database: database, configuration: configuration)
            if sealed > 0 {
                logger.notice("sealed the contacts of complaints filed before sealing", metadata: ["complaints.resealed": "\(sealed)"])
            }
        } catch {
            logger.error("could not seal the contacts of older complaints; they stay readable in the database", metadata: ["error": "\(error)"])
        }
        try? await gracefulShutdown()
    }
}

extension ComplaintsService {
    /// Seals every complaint's contacts still held in the clear columns; returns how many rows.
    public static func sealLegacyContacts(database: PostgresPool, configuration: ComplaintsConfiguration, batchSize: Int = 200) async throws -> Int {
        let store = ComplaintStore(configuration: configuration)
        var total = 0
        while true {
            let sealed = try await database.withTransaction { connection in
                try await store.sealLegacyContacts(limit: batchSize, connection: connection)
            }
            total += sealed
            if sealed < batchSize { return total }
        }
    }
}
