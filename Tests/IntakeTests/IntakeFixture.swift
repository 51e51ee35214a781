import Contracts
import IntakeService
import JSONCoding
import LineProtocol
import Logging
import Messaging
import Postgres
import ServiceKit
import Testing
import TestSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// A real intake service on ephemeral ports with its own throwaway database.
struct IntakeFixture: Sendable {
    let client: RPCClient
    /// A client that says hello as the review service (for `intake.applicantIdentity`).
    let reviewClient: RPCClient
    /// Greets intake as the complaints service.
    let complaintsClient: RPCClient
    let database: PostgresPool
    let app: ServiceApp
    let definition: ServiceDefinition
    /// Opens the notices intake seals in its outbox.
    let sealing: (any OutboxSealing)?

    static let logger = Logger(label: "intake-test", factory: { _ in SwiftLogNoOpLogHandler() })

    static let officer = RPCMeta(actor: RPCActor(id: "officer-li", roles: ["intake_officer"]))
    static let supervisor = RPCMeta(actor: RPCActor(id: "supervisor-wang", roles: ["supervisor"]))
    static let administrator = RPCMeta(actor: RPCActor(id: "admin-zhao", roles: ["administrator"]))

    /// Runs `body` against a fresh intake; shuts it down afterwards.
    static func with(
        environment: [String: String] = [:],
        _ body: @Sendable (IntakeFixture) async throws -> Void
    ) async throws {
        let databaseConfiguration = try await PostgresCluster.shared().createDatabase(prefix: "intake")
        var configuration = ServiceConfiguration.forTesting(service: .intake, databaseURL: databaseConfiguration.connectionString)
        // Peers that do not listen: outbox rows stay for the test to inspect.
        for peer in OneStopService.allCases where peer != .intake {
            configuration.peers[peer] = [RPCTarget(host: "127.0.0.1", port: 1)]
        }
        var env = environment
        env["ONESTOP_INTAKE_SWEEP_INTERVAL_MS"] = env["ONESTOP_INTAKE_SWEEP_INTERVAL_MS"] ?? "3600000"
        let definition = IntakeService.definition(environment: env)
        let app = ServiceApp(definition: definition, configuration: configuration, logger: logger)
        let (addresses, ready) = AsyncStream<ServiceAddresses>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run { ready.yield($0) } }
            var iterator = addresses.makeAsyncIterator()
            let started = try #require(await iterator.next())
            var clientConfiguration = configuration.clientConfiguration(for: .intake)
            clientConfiguration.targets = [started.rpcTarget]
            let client = RPCClient(configuration: clientConfiguration, logger: logger)
            var reviewConfiguration = clientConfiguration
            reviewConfiguration.callerName = "review"
            let reviewClient = RPCClient(configuration: reviewConfiguration, logger: logger)
            var complaintsConfiguration = clientConfiguration
            complaintsConfiguration.callerName = "complaints"
            let complaintsClient = RPCClient(configuration: complaintsConfiguration, logger: logger)
            let pool = PostgresPool(configuration: databaseConfiguration, maxConnections: 2, logger: logger)
            let fixture = IntakeFixture(
                client: client, reviewClient: reviewClient, complaintsClient: complaintsClient, database: pool, app: app,
                definition: definition, sealing: IntakeService.outboxSealing(environment: env)
            )
            do {
                try await body(fixture)
            } catch {
                await fixture.close()
                await app.triggerGracefulShutdown()
                try? await group.waitForAll()
                throw error
            }
            await fixture.close()
            await app.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }

    func close() async {
        await client.shutdown()
        await reviewClient.shutdown()
        await complaintsClient.shutdown()
        await database.close()
    }

    // MARK: Typical applications

    /// A resident ID number with a correct check character.
    static let residentID = "11010519491231002X"
    static let otherResidentID = "440308199901011234"
    static let creditCode = "91350100M000100Y43"

    static func residencePermit(
        materials: [MaterialItem] = [
            MaterialItem(code: "id_card", copies: 1, original: true),
            MaterialItem(code: "photo", copies: 2, original: true),
            MaterialItem(code: "residence_proof", copies: 1, original: false),
        ],
        idNumber: String = residentID,
        channel: IntakeChannel = .counter,
        priority: CasePriority? = nil,
        key: String? = nil
    ) -> IntakeRegisterCase.Params {
        IntakeRegisterCase.Params(
            channel: channel, serviceType: "residence_permit", applicantType: .individual,
            applicant: IdentityInput(name: "张三", idType: "resident_id", idNumber: idNumber),
            contact: ContactInput(phone: "13812345678", email: "zhang.san@example.com", locale: .zhCN),
            description: "申请办理本市居住证，已在本区居住满半年。", materials: materials, priority: priority,
            idempotencyKey: key
        )
    }

    func register(_ params: IntakeRegisterCase.Params, meta: RPCMeta = IntakeFixture.officer) async throws -> IntakeRegisterCase.Result {
        try await client.call(IntakeRegisterCase.self, params, meta: meta)
    }

    /// The outbox rows written for a case, as (destination, method, params), sealed params opened
    /// as the relay opens them.
    func outbox(for caseID: String) async throws -> [(destination: String, method: String, params: JSON)] {
        let rows = try await database.query("""
            SELECT destination, method, params::text AS params FROM messaging_outbox WHERE aggregate_key = \(caseID) ORDER BY id
            """)
        return try rows.map {
            let stored = try JSON.parse(Array(try $0.decode(String.self, column: "params").utf8))
            return (try $0.decode(String.self, column: "destination"), try $0.decode(String.self, column: "method"),
                    try SealedOutboxParams.open(stored, with: sealing))
        }
    }

    func count(_ sql: SQL) async throws -> Int64 {
        try await database.query(sql)[0].decode(Int64.self, column: "n")
    }

    /// Counts of every table a rejected request must leave alone.
    func snapshot() async throws -> [Int64] {
        [
            try await count("SELECT count(*)::int8 AS n FROM cases"),
            try await count("SELECT count(*)::int8 AS n FROM case_timeline"),
            try await count("SELECT count(*)::int8 AS n FROM audit_log"),
            try await count("SELECT count(*)::int8 AS n FROM messaging_outbox"),
        ]
    }
}

/// The `kind` of an RPC error thrown by `body`, or nil when it succeeded.
func errorKind(_ body: () async throws -> Void) async -> String? {
    do {
        try await body()
        return nil
    } catch let error as RPCError {
        return error.kind?.rawValue ?? "code \(error.code)"
    } catch {
        return "\(error)"
    }
}
