import Contracts
import JSONCoding
import LineProtocol
import Logging
import Postgres
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The hall's service catalog. The version-controlled file seeds the database at start (a newer
/// file version replaces entries it defines); administrators edit entries through methods, and
/// every registration reads the current entry from the database, so all replicas agree.
struct ServiceCatalog: Sendable {
    struct File: Codable {
        var version: Int
        var serviceTypes: [CatalogServiceType]
    }

    let database: PostgresPool
    private let seeded = SeedState()

    init(database: PostgresPool) {
        self.database = database
    }

    /// Seeds from the file the first time this process needs the catalog (method tables are
    /// built synchronously, so seeding waits for the first call).
    func seedOnce(from file: File, logger: Logger) async throws {
        guard !seeded.done.withLock({ $0 }) else { return }
        try await seed(from: file, logger: logger)
        seeded.done.withLock { $0 = true }
    }

    static func bundledFile() throws -> File {
        guard let url = Bundle.module.url(forResource: "catalog", withExtension: "json", subdirectory: "Catalog") else {
            throw RPCError.internal("the bundled service catalog is missing from the intake resources")
        }
        return try JSONValueDecoder().decode(File.self, from: JSON.parse(Array(try Data(contentsOf: url))))
    }

    /// Seeds entries the database lacks or holds at an older file version; admin edits of the
    /// same or a newer version are kept.
    func seed(from file: File, logger: Logger) async throws {
        for serviceType in file.serviceTypes {
            try Self.validate(serviceType)
            let definition = PostgresJSONB(rawJSON: try JSONValueEncoder().encode(serviceType).jsonString)
            try await database.execute("""
                INSERT INTO catalog_service_types (code, definition, version, updated_by)
                VALUES (\(serviceType.code), \(definition), \(file.version), 'catalog-file')
                ON CONFLICT (code) DO UPDATE SET definition = EXCLUDED.definition, version = EXCLUDED.version,
                    updated_at = now(), updated_by = 'catalog-file'
                WHERE catalog_service_types.version < EXCLUDED.version
                """)
        }
        logger.info("service catalog seeded", metadata: ["serviceTypes": "\(file.serviceTypes.count)", "version": "\(file.version)"])
    }

    /// The definition a query read as `definition::text` (nil when it found none).
    static func serviceType(definition text: String?) throws -> CatalogServiceType? {
        try text.map(decode)
    }

    func serviceType(_ code: String, on connection: PostgresConnection) async throws -> CatalogServiceType? {
        let rows = try await connection.query("SELECT definition::text AS definition FROM catalog_service_types WHERE code = \(code)")
        guard let row = rows.first else { return nil }
        return try Self.decode(row.decode(String.self, column: "definition"))
    }

    func all(includeInactive: Bool) async throws -> [CatalogServiceType] {
        let rows = try await database.query("SELECT definition::text AS definition FROM catalog_service_types ORDER BY code")
        return try rows.map { try Self.decode($0.decode(String.self, column: "definition")) }
            .filter { includeInactive || $0.active != false }
    }

    func upsert(_ serviceType: CatalogServiceType, by actor: String, on connection: PostgresConnection) async throws -> (version: Int, before: String?) {
        try Self.validate(serviceType)
        let before = try await connection.query("SELECT definition::text AS definition FROM catalog_service_types WHERE code = \(serviceType.code) FOR UPDATE")
            .first?.decode(String.self, column: "definition")
        let definition = PostgresJSONB(rawJSON: try JSONValueEncoder().encode(serviceType).jsonString)
        let rows = try await connection.query("""
            INSERT INTO catalog_service_types (code, definition, version, updated_by)
            VALUES (\(serviceType.code), \(definition), 1, \(actor))
            ON CONFLICT (code) DO UPDATE SET definition = EXCLUDED.definition,
                version = catalog_service_types.version + 1, updated_at = now(), updated_by = EXCLUDED.updated_by
            RETURNING version
            """)
        return (try rows[0].decode(Int.self, column: "version"), before)
    }

    private static func decode(_ text: String) throws -> CatalogServiceType {
        try JSONValueDecoder().decode(CatalogServiceType.self, from: JSON.parse(Array(text.utf8)))
    }

    /// A catalog entry that would make registrations impossible or meaningless is refused.
    static func validate(_ serviceType: CatalogServiceType) throws {
        func fail(_ message: String, zh: String) -> RPCError {
            RPCError.invalidParams("service type \(serviceType.code): \(message)", zh: "事项 \(serviceType.code)：\(zh)")
        }
        guard !serviceType.code.isEmpty, serviceType.code.count <= 64,
              serviceType.code.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }) else {
            throw fail("the code is 1 to 64 lower-case letters, digits and underscores", zh: "编码须为 1 至 64 个小写字母、数字或下划线")
        }
        guard !serviceType.name.zhCN.isEmpty, !serviceType.name.en.isEmpty else { throw fail("needs a name in zh-CN and en", zh: "须有 zh-CN 和 en 两种名称") }
        guard !serviceType.department.isEmpty else { throw fail("needs a responsible department", zh: "须指定责任部门") }
        guard (1...365).contains(serviceType.timeLimitWorkingDays) else { throw fail("the time limit is 1 to 365 working days", zh: "办理时限须为 1 至 365 个工作日") }
        if let urgent = serviceType.urgentTimeLimitWorkingDays, !(1...serviceType.timeLimitWorkingDays).contains(urgent) {
            throw fail("the urgent time limit is 1 working day up to the regular limit", zh: "加急时限须为 1 个工作日至常规时限之间")
        }
        guard (1...60).contains(serviceType.materialsDeadlineWorkingDays) else { throw fail("the materials deadline is 1 to 60 working days", zh: "补齐材料期限须为 1 至 60 个工作日") }
        guard !serviceType.applicantTypes.isEmpty else { throw fail("must serve at least one applicant type", zh: "须至少面向一类申请人") }
        var codes = Set<String>()
        for material in serviceType.materials {
            guard !material.code.isEmpty, codes.insert(material.code + "/" + (material.applicantTypes?.map(\.rawValue).joined(separator: ",") ?? "*")).inserted else {
                throw fail("material codes must be present and unique (\(material.code))", zh: "材料编码须填写且不能重复（\(material.code)）")
            }
            guard (1...20).contains(material.copies) else { throw fail("material \(material.code) asks for 1 to 20 copies", zh: "材料 \(material.code) 的份数须为 1 至 20") }
        }
    }
}

private final class SeedState: Sendable {
    let done = Mutex(false)
}
