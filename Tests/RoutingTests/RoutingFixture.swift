import Contracts
import JSONCoding
import LineProtocol
import Logging
import Postgres
import RoutingService
import ServiceKit
import Synchronization
import Testing
import TestSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// A clock tests move by hand.
final class TestClock: Sendable {
    private let instant: Mutex<Date>
    init(_ iso: String) { instant = Mutex(isoDate(iso)) }
    var now: Date { instant.withLock { $0 } }
    func set(_ iso: String) { instant.withLock { $0 = isoDate(iso) } }
}

func isoDate(_ text: String) -> Date {
    try! Date(text, strategy: .iso8601)
}

let quietLogger = Logger(label: "routing-test", factory: { _ in SwiftLogNoOpLogHandler() })

/// Staff as the gateway would name them in `_meta.actor`.
enum Staff {
    static let officer = RPCMeta(actor: RPCActor(id: "officer-1", roles: [RoutingRole.officer]))
    static func person(_ id: String) -> RPCMeta { RPCMeta(actor: RPCActor(id: id, roles: ["staff"])) }
}

/// A routing service running in-process on ephemeral ports with a throwaway database, its
/// peers pointed at a closed port (outbox rows stay pending, where tests read them).
struct RoutingFixture: Sendable {
    let client: RPCClient
    let database: PostgresPool
    let settings: RoutingSettings
    let clock: TestClock

    static func run<T: Sendable>(
        now: String = "2026-11-23T02:00:00Z",
        maxExtensionDays: Int = 10,
        supervisorMargin: Int? = 3,
        seedAtStart: Bool = false,
        environment: [String: String]? = nil,
        _ body: @Sendable (RoutingFixture) async throws -> T
    ) async throws -> T {
        let clock = TestClock(now)
        // With `environment` the service reads its settings (and its clock) as deployed.
        let settings = try environment.map { try RoutingSettings.fromEnvironment($0) } ?? RoutingSettings(
            calendar: try WorkCalendar.bundled, urgentLimitPercent: 50, maxExtensionWorkingDays: maxExtensionDays,
            warnWorkingDaysBefore: 1, supervisorMarginWorkingDays: supervisorMargin,
            supervisor: .init(id: "sup-1", name: "Supervisor Wang", email: "sup@hall.example"),
            slaInterval: .seconds(3_600), staffLocale: .zhCN, seedOrganisationAtStart: seedAtStart, now: { clock.now }
        )
        let databaseConfiguration = try await PostgresCluster.shared().createDatabase(prefix: "routing")
        let closed = [RPCTarget(host: "127.0.0.1", port: 1)]
        let configuration = ServiceConfiguration.forTesting(
            service: .routing, databaseURL: databaseConfiguration.connectionString,
            peers: [.intake: closed, .notification: closed]
        )
        let app = ServiceApp(definition: RoutingService.definition(settings: settings), configuration: configuration, logger: quietLogger)
        let (addresses, ready) = AsyncStream<ServiceAddresses>.makeStream()
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await app.run { ready.yield($0) }
                return nil
            }
            var iterator = addresses.makeAsyncIterator()
            let address = try #require(await iterator.next())
            var clientConfiguration = configuration.clientConfiguration(for: .routing)
            clientConfiguration.targets = [address.rpcTarget]
            let client = RPCClient(configuration: clientConfiguration, logger: quietLogger)
            let pool = PostgresPool(configuration: databaseConfiguration, maxConnections: 4, logger: quietLogger)
            let fixture = RoutingFixture(client: client, database: pool, settings: settings, clock: clock)
            let outcome: Result<T, any Error>
            do { outcome = .success(try await body(fixture)) } catch { outcome = .failure(error) }
            await client.shutdown()
            await pool.close()
            await app.triggerGracefulShutdown()
            for try await _ in group {}
            return try outcome.get()
        }
    }

    // MARK: Calls

    func call<M: RPCMethod>(_ method: M.Type, _ params: M.Params, as meta: RPCMeta = Staff.officer) async throws -> M.Result {
        try await client.call(method, params, meta: meta)
    }

    /// The error kind a call fails with (nil if it succeeds).
    func failure<M: RPCMethod>(_ method: M.Type, _ params: M.Params, as meta: RPCMeta = Staff.officer) async -> RPCErrorKind? {
        do {
            _ = try await client.call(method, params, meta: meta)
            return nil
        } catch let error as RPCError {
            return error.kind
        } catch {
            return .internal
        }
    }

    /// Two departments: `civil` (head `head-civil`) and `permits` (head `head-permits`).
    func createDepartments() async throws {
        _ = try await call(RoutingUpsertDepartment.self, .init(
            code: "civil", nameZh: "民政科", nameEn: "Civil Affairs",
            head: .init(id: "head-civil", name: "Head Civil", email: "head.civil@hall.example")
        ))
        _ = try await call(RoutingUpsertDepartment.self, .init(
            code: "permits", nameZh: "审批科", nameEn: "Permits",
            head: .init(id: "head-permits", name: "Head Permits", email: "head.permits@hall.example", phone: "+8613800000000")
        ))
    }

    func addHandler(_ id: String, department: String, skills: [String] = ["marriage"], capacity: Int = 4, active: Bool = true) async throws {
        _ = try await call(RoutingUpsertHandler.self, .init(
            id: id, name: "Name \(id)", department: department, skills: skills, capacity: capacity,
            email: "\(id)@hall.example", active: active
        ))
    }

    @discardableResult
    func dispatch(
        _ caseId: String, serviceType: String = "marriage", department: String = "civil", priority: CasePriority = .regular,
        limit: Int = 5, acceptedAt: String? = nil, messageId: String? = nil
    ) async throws -> RoutingDispatch.Result {
        try await call(RoutingDispatch.self, .init(
            caseId: caseId, trackingNumber: "SQ-\(caseId)", serviceType: serviceType, serviceName: "Service \(serviceType)",
            priority: priority, confidentiality: .normal, department: department, timeLimitWorkingDays: limit,
            customerName: "Customer", acceptedAt: acceptedAt.map(isoDate) ?? clock.now,
            approvedBy: StaffRef(id: "reviewer-1", role: "reviewer"), opinion: "complete"
        ), as: RPCMeta(messageId: messageId))
    }

    // MARK: Reading the database

    struct OutboxMessage: Sendable {
        var destination: String
        var method: String
        var aggregateKey: String
        var params: JSON
    }

    func outbox(method: String? = nil) async throws -> [OutboxMessage] {
        try await database.query("""
            SELECT destination, method, aggregate_key, params FROM messaging_outbox
            WHERE \(method)::text IS NULL OR method = \(method) ORDER BY id
            """).map { row in
            OutboxMessage(
                destination: try row.decode(String.self, column: "destination"),
                method: try row.decode(String.self, column: "method"),
                aggregateKey: try row.decode(String.self, column: "aggregate_key"),
                params: try JSON.parse(try row.decode(PostgresJSONB.self, column: "params").rawJSON)
            )
        }
    }

    func progress(of caseId: String) async throws -> [IntakeRecordProgress.Params] {
        try await outbox(method: IntakeRecordProgress.name)
            .filter { $0.aggregateKey == caseId }
            .map { try JSONValueDecoder().decode(IntakeRecordProgress.Params.self, from: $0.params) }
    }

    func notifications() async throws -> [NotificationSend.Params] {
        try await outbox(method: NotificationSend.name).map { try JSONValueDecoder().decode(NotificationSend.Params.self, from: $0.params) }
    }

    func count(_ table: String) async throws -> Int {
        try await database.query("SELECT count(*)::int8 AS n FROM \(unsafeRaw: table)").first!.decode(Int.self, column: "n")
    }
}
