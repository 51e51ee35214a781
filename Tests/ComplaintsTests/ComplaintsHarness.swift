import ComplaintsService
import Contracts
import JSONCoding
import LineProtocol
import Logging
import Messaging
import Postgres
import ServiceKit
import Synchronization
import TestSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// A complaints service booted in-process on ephemeral ports with a throwaway database. The
/// notification peer points at a closed port, so notification sends stay in the outbox where the
/// tests read them.
struct ComplaintsHarness: Sendable {
    let client: RPCClient
    let database: PostgresPool
    let settings: ComplaintsConfiguration
    /// The stand-in routing service (its cases can change during a test).
    let routing: FakeRouting
    /// The stand-in intake service, checking access codes.
    let intake: FakeIntake

    static let logger = Logger(label: "complaints-test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// How a stand-in peer (routing, intake) behaves.
    enum RoutingPeer: Sendable, Equatable {
        /// Answers from its tables (routing: its cases, others not found; intake: its cases and counts).
        case up
        /// Nothing listens: every call fails.
        case down
    }

    static func run(
        configure: @escaping @Sendable (inout ComplaintsConfiguration) -> Void = { _ in },
        routing peer: RoutingPeer = .up,
        routedCases: [RoutingCaseAssignment.Result] = [],
        intake intakePeer: RoutingPeer = .up,
        _ body: @Sendable (ComplaintsHarness) async throws -> Void
    ) async throws {
        let databaseConfiguration = try await PostgresCluster.shared().createDatabase(prefix: "complaints")
        var settings = try ComplaintsConfiguration.defaults
        configure(&settings)
        let routing = FakeRouting(cases: routedCases)
        var routingTarget = RPCTarget(host: "127.0.0.1", port: 1)
        if peer == .up {
            routingTarget = RPCTarget(host: "127.0.0.1", port: try await routing.server.start().port!)
        }
        let intake = FakeIntake()
        var intakeTarget = RPCTarget(host: "127.0.0.1", port: 1)
        if intakePeer == .up {
            intakeTarget = RPCTarget(host: "127.0.0.1", port: try await intake.server.start().port!)
        }
        let configuration = ServiceConfiguration.forTesting(
            service: .complaints, databaseURL: databaseConfiguration.connectionString,
            peers: [.notification: [RPCTarget(host: "127.0.0.1", port: 1)], .routing: [routingTarget], .intake: [intakeTarget]]
        )
        let definition = ComplaintsService.definition(configuration: { [settings] in settings })
        let app = ServiceApp(definition: definition, configuration: configuration, logger: logger)
        let (addresses, ready) = AsyncStream<ServiceAddresses>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run { ready.yield($0) } }
            var iterator = addresses.makeAsyncIterator()
            guard let address = await iterator.next() else { throw RPCError.internal("service did not start") }
            var clientConfiguration = configuration.clientConfiguration(for: .complaints)
            clientConfiguration.targets = [address.rpcTarget]
            let client = RPCClient(configuration: clientConfiguration, logger: logger)
            let pool = PostgresPool(configuration: databaseConfiguration, maxConnections: 2, logger: logger)
            let harness = ComplaintsHarness(client: client, database: pool, settings: settings, routing: routing, intake: intake)
            let outcome: Result<Void, any Error>
            do { outcome = .success(try await body(harness)) } catch { outcome = .failure(error) }
            await client.shutdown()
            await pool.close()
            await app.triggerGracefulShutdown()
            if peer == .up { await routing.server.shutdown(gracePeriod: .zero) }
            if intakePeer == .up { await intake.server.shutdown(gracePeriod: .zero) }
            if case .failure = outcome { try? await group.waitForAll() } else { try await group.waitForAll() }
            try outcome.get()
        }
    }

    func call<M: RPCMethod>(_ method: M.Type, _ params: M.Params, meta: RPCMeta = RPCMeta()) async throws -> M.Result {
        try await client.call(method, params, meta: meta)
    }

    /// The error a call fails with (nil if it succeeds).
    func failure<M: RPCMethod>(_ method: M.Type, _ params: M.Params, meta: RPCMeta = RPCMeta()) async -> RPCError? {
        do {
            _ = try await client.call(method, params, meta: meta)
            return nil
        } catch let error as RPCError {
            return error
        } catch {
            return RPCError.internal("\(error)")
        }
    }

    struct SentNotification: Sendable {
        var key: String
        var template: String
        var variables: [String: String]
        var recipients: [NotificationSend.Recipient]
        var channels: [NotificationChannel]
    }

    /// The notification.send messages in the outbox, oldest first.
    func notifications() async throws -> [SentNotification] {
        let rows = try await database.query("""
            SELECT params FROM messaging_outbox WHERE destination = 'notification' AND method = 'notification.send' ORDER BY id
            """)
        let sealing = ContactSealing(configuration: settings)
        return try rows.map { row in
            // Notices to complainants are sealed in the outbox; open them as the relay would.
            let stored = try JSON.parse(row.decode(PostgresJSONB.self, column: "params").rawJSON)
            let params = try JSONValueDecoder().decode(NotificationSend.Params.self, from: SealedOutboxParams.open(stored, with: sealing))
            return SentNotification(
                key: params.key, template: params.template.rawValue, variables: params.variables,
                recipients: params.recipients, channels: params.channels
            )
        }
    }

    func count(_ sql: SQL) async throws -> Int {
        try await database.query(sql)[0].decode(Int.self, at: 0)
    }

    /// Every row of the complaint tables, as text, to prove a refused call changed nothing.
    func snapshot() async throws -> String {
        var parts: [String] = []
        // The relay keeps retrying outbox rows (attempts, next try), so only their content counts.
        let sources = [
            "complaints", "complaint_notes", "complaint_escalations", "complaint_classifications", "complaint_audit",
            "satisfaction_ratings", "complaint_number_sequences", "complaint_case_rechecks",
            "(SELECT id, message_id, destination, method, params FROM messaging_outbox)",
        ]
        for table in sources {
            let rows = try await database.query(SQL(unsafeSQL: "SELECT coalesce(string_agg(t::text, '|' ORDER BY t::text), '') AS s FROM \(table) t"))
            parts.append(table + ":" + (try rows[0].decode(String.self, column: "s")))
        }
        return parts.joined(separator: "\n")
    }
}

extension ComplaintsFile.Params {
    static func sample(
        content: String = "The officer at window 3 was rude and shouted at me.",
        phone: String? = "13812345678", email: String? = "li.na@example.com", channel: IntakeChannel = .counter,
        caseTrackingNumber: String? = nil, caseOverdue: Bool? = nil, vulnerable: Bool? = nil, department: String? = nil,
        caseHandlerId: String? = nil, idempotencyKey: String? = nil
    ) -> ComplaintsFile.Params {
        ComplaintsFile.Params(
            complainant: ComplainantInput(name: "Li Na", phone: phone, email: email, locale: .zhCN), channel: channel,
            content: content, caseTrackingNumber: caseTrackingNumber, caseOverdue: caseOverdue, vulnerable: vulnerable,
            department: department, caseHandlerId: caseHandlerId, idempotencyKey: idempotencyKey
        )
    }
}

/// A stand-in routing service on a real line-protocol listener (greeted like routing, with the
/// service credential): answers `routing.caseAssignment` from a table of cases and records each
/// `routing.reopen` it receives with who sent it.
final class FakeRouting: Sendable {
    /// A `routing.reopen` as routing would see it.
    struct Reopen: Sendable, Equatable {
        var caseId: String
        var reason: String
        var messageId: String?
        /// The service that said hello; routing treats a call without an actor from it as the system.
        var caller: String?
        var actorId: String?
        var complaintNumber: String?
    }

    final class State: Sendable {
        let cases: Mutex<[String: RoutingCaseAssignment.Result]>
        let reopens = Mutex<[Reopen]>([])
        let calls = Atomic(0)
        init(_ cases: [RoutingCaseAssignment.Result]) {
            self.cases = Mutex(Dictionary(uniqueKeysWithValues: cases.map { ($0.trackingNumber, $0) }))
        }
    }
    let state: State
    let server: RPCServer

    /// How many times routing was asked.
    var calls: Int { state.calls.load(ordering: .relaxed) }

    init(cases: [RoutingCaseAssignment.Result]) {
        let state = State(cases)
        var methods = RPCMethodTable()
        methods.register(RoutingCaseAssignment.self) { params, _ in
            state.calls.add(1, ordering: .relaxed)
            guard let number = params.trackingNumber, let found = state.cases.withLock({ $0[number] }) else {
                throw RPCError.notFound("routing has never received case \(params.trackingNumber ?? params.caseId ?? "")")
            }
            return found
        }
        methods.register(RoutingReopen.self) { params, context in
            let caseId = params.caseId ?? params.trackingNumber ?? ""
            state.reopens.withLock {
                $0.append(Reopen(
                    caseId: caseId, reason: params.reason, messageId: context.meta.messageId, caller: context.caller,
                    actorId: context.meta.actor?.id, complaintNumber: params.complaintNumber
                ))
            }
            return RoutingReopen.Result(outcome: .reopened, message: "case \(caseId) reopened", assignment: RoutingAssignment(
                assignmentId: "a-\(caseId)", caseId: caseId, trackingNumber: "", serviceType: "t", serviceName: "t",
                priority: .regular, department: "civil_affairs", handler: nil, state: .inProgress, acceptedOn: "2026-11-23",
                timeLimitWorkingDays: 5, pausedWorkingDays: 0, extendedWorkingDays: 0, dueDate: "2026-11-30"
            ))
        }
        self.state = state
        self.server = RPCServer(
            configuration: RPCServerConfiguration(serviceName: "routing", credential: ServiceConfiguration.developmentSecret),
            methods: methods, logger: ComplaintsHarness.logger
        )
    }

    /// The reopen requests received so far.
    var reopens: [Reopen] { state.reopens.withLock { $0 } }

    /// Routing now holds `assignment` (e.g. a case routed after the complaint was filed).
    func add(_ assignment: RoutingCaseAssignment.Result) {
        state.cases.withLock { $0[assignment.trackingNumber] = assignment }
    }

    /// A case with `department`, handled by `handler`, due on `dueDate`.
    static func routed(
        _ trackingNumber: String, department: String = "civil_affairs", handler: String? = "handler-9", overdue: Bool = false,
        serviceType: String? = "residence_permit"
    ) -> RoutingCaseAssignment.Result {
        RoutingCaseAssignment.Result(
            caseId: "case-\(trackingNumber)", trackingNumber: trackingNumber, department: department, departmentName: "民政科",
            handler: handler.map { StaffRef(id: $0, role: "handler") }, dueDate: "2026-11-30", overdue: overdue,
            status: .inProgress, serviceType: serviceType
        )
    }
}

/// A stand-in intake service on a real line-protocol listener: answers `intake.trackCase` for the
/// cases it holds when the access code matches, and `not_found` otherwise, as intake does; and
/// `intake.stats` with the case counts a test sets, recording who asked for which period.
final class FakeIntake: Sendable {
    struct Case: Sendable {
        var accessCode: String
        var department: String?
        var serviceType: String?
    }

    /// An `intake.stats` call as intake would see it.
    struct StatsCall: Sendable {
        var params: IntakeStats.Params
        var caller: String?
        var actorId: String?
    }

    final class State: Sendable {
        let cases = Mutex<[String: Case]>([:])
        let calls = Atomic(0)
        let counts = Mutex(IntakeStats.Result(
            registered: 0, byChannel: [], byServiceType: [], byDay: [], byStatus: [], accepted: 0, firstTimeComplete: 0,
            notAccepted: 0, secondsToAcceptanceP50: nil
        ))
        let statsCalls = Mutex<[StatsCall]>([])
    }

    let state: State
    let server: RPCServer

    /// How many times intake was asked.
    var calls: Int { state.calls.load(ordering: .relaxed) }

    init() {
        var methods = RPCMethodTable()
        let state = State()
        self.state = state
        methods.register(IntakeTrackCase.self) { params, _ in
            state.calls.add(1, ordering: .relaxed)
            guard let found = state.cases.withLock({ $0[params.trackingNumber] }), found.accessCode == params.accessCode else {
                throw RPCError.notFound("no case matches this tracking number and access code")
            }
            return CustomerCaseView(
                trackingNumber: params.trackingNumber, status: .completed, serviceName: "Residence permit",
                registeredAt: Date(), timeline: [], serviceType: found.serviceType, department: found.department
            )
        }
        methods.register(IntakeStats.self) { params, context in
            state.statsCalls.withLock { $0.append(StatsCall(params: params, caller: context.caller, actorId: context.meta.actor?.id)) }
            return state.counts.withLock { $0 }
        }
        self.server = RPCServer(
            configuration: RPCServerConfiguration(serviceName: "intake", credential: ServiceConfiguration.developmentSecret),
            methods: methods, logger: ComplaintsHarness.logger
        )
    }

    /// `intake.stats` now answers `registered` cases, by service type.
    func setCounts(_ byServiceType: [String: Int]) {
        let rows = byServiceType.sorted { $0.key < $1.key }.map { KeyedCount(key: $0.key, count: $0.value) }
        state.counts.withLock {
            $0.registered = rows.reduce(0) { $0 + $1.count }
            $0.byServiceType = rows
        }
    }

    /// The `intake.stats` calls received so far.
    var statsCalls: [StatsCall] { state.statsCalls.withLock { $0 } }

    /// Intake now holds a case with this access code.
    func add(_ trackingNumber: String, accessCode: String, department: String? = nil, serviceType: String? = nil) {
        state.cases.withLock { $0[trackingNumber] = Case(accessCode: accessCode, department: department, serviceType: serviceType) }
    }
}
