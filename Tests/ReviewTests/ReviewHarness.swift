import Contracts
import JSONCoding
import LineProtocol
import Logging
import Messaging
import Postgres
@testable import ReviewService
import ServiceKit
import Synchronization
import Testing
import TestSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

let quietLogger: Logger = {
    if ProcessInfo.processInfo.environment["REVIEW_TEST_LOG"] != nil {
        var logger = Logger(label: "review-test") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .debug
        return logger
    }
    var logger = Logger(label: "review-test") { _ in SwiftLogNoOpLogHandler() }
    logger.logLevel = .critical
    return logger
}()

/// Intake and routing as review meets them: real line-protocol servers answering
/// `intake.openCasesOfCustomer`, `intake.recordProgress` and `routing.dispatch`, recording
/// what they were told (once per message id).
final class PeerStubs: Sendable {
    struct Progress: Sendable {
        var caseId: String
        var event: ProgressEvent
        var actor: String?
        var reasons: [String]?
    }

    /// What the stubs were told, shared with their handlers.
    final class Log: Sendable {
        let openCases = Mutex<[String: [IntakeOpenCasesOfCustomer.OpenCase]]>([:])
        let progress = Mutex<[String: Progress]>([:])
        let dispatches = Mutex<[String: RoutingDispatch.Params]>([:])
        /// Full identity numbers by case id, for `intake.applicantIdentity`.
        let identities = Mutex<[String: ReviewSubmit.Applicant]>([:])
    }

    let log = Log()
    let intake: RPCServer
    let routing: RPCServer

    init() {
        var intakeMethods = RPCMethodTable()
        var routingMethods = RPCMethodTable()
        let log = self.log
        intakeMethods.register(IntakeOpenCasesOfCustomer.self) { params, _ in
            let cases = log.openCases.withLock { $0[params.customerKey] ?? [] }.filter { $0.caseId != params.excludingCaseId }
            return IntakeOpenCasesOfCustomer.Result(cases: cases)
        }
        intakeMethods.register(IntakeApplicantIdentity.self) { params, _ in
            guard let applicant = log.identities.withLock({ $0[params.caseId] }) else {
                throw RPCError.notFound("case \(params.caseId) is unknown")
            }
            return IntakeApplicantIdentity.Result(applicant: applicant, principal: nil)
        }
        intakeMethods.register(IntakeRecordProgress.self) { params, context in
            let key = context.meta.messageId ?? UUID().uuidString
            log.progress.withLock { $0[key] = Progress(caseId: params.caseId, event: params.event, actor: params.actor?.id, reasons: params.reasons) }
            return IntakeRecordProgress.Result(caseId: params.caseId, status: .inReview)
        }
        routingMethods.register(RoutingDispatch.self) { params, context in
            let key = context.meta.messageId ?? UUID().uuidString
            log.dispatches.withLock { $0[key] = params }
            return RoutingDispatch.Result(assignmentId: UUID().uuidString, department: params.department, handler: nil, dueDate: "2026-12-01")
        }
        intake = RPCServer(configuration: RPCServerConfiguration(serviceName: "intake"), methods: intakeMethods, logger: quietLogger)
        routing = RPCServer(configuration: RPCServerConfiguration(serviceName: "routing"), methods: routingMethods, logger: quietLogger)
    }

    func start() async throws -> (intake: RPCTarget, routing: RPCTarget) {
        let intakeAddress = try await intake.start()
        let routingAddress = try await routing.start()
        return (RPCTarget(host: "127.0.0.1", port: intakeAddress.port!), RPCTarget(host: "127.0.0.1", port: routingAddress.port!))
    }

    func stop() async {
        await intake.shutdown(gracePeriod: .zero)
        await routing.shutdown(gracePeriod: .zero)
    }

    func progress(of caseId: String) -> [Progress] { log.progress.withLock { Array($0.values) }.filter { $0.caseId == caseId } }
    func dispatches(of caseId: String) -> [RoutingDispatch.Params] { log.dispatches.withLock { Array($0.values) }.filter { $0.caseId == caseId } }
}

/// A review service booted in-process on a throwaway database, with stub peers.
struct ReviewHarness: Sendable {
    let database: PostgresConfiguration
    let pool: PostgresPool
    let peers: PeerStubs
    let peerTargets: [OneStopService: [RPCTarget]]
    let client: RPCClient
    let configuration: ServiceConfiguration

    static func testRules() -> RiskRules {
        RiskRules(
            amountThresholds: [.init(id: "risk.amount.high", serviceTypes: ["*"], above: 1_000)],
            watchList: [.init(id: "risk.watchlist", customerKeys: ["ck-watched"])],
            repeatedRejections: [.init(id: "risk.rejections.repeated", atLeast: 2, withinDays: 30)]
        )
    }

    static func settings(concurrency: Int = 2, verifier: URL? = nil, verifierTimeout: Duration = .seconds(2)) -> ReviewSettings {
        ReviewSettings(
            workerConcurrency: concurrency, jobLease: .seconds(2), jobMaxAttempts: 5, verifierURL: verifier,
            verifierTimeout: verifierTimeout, intakeTimeout: .seconds(3), rules: testRules()
        )
    }

    /// Boots the service, runs `body`, shuts everything down.
    static func run<T: Sendable>(
        settings: ReviewSettings = settings(),
        intakeReachable: Bool = true,
        _ body: @Sendable (ReviewHarness) async throws -> T
    ) async throws -> T {
        let database = try await PostgresCluster.shared().createDatabase(prefix: "review")
        let peers = PeerStubs()
        var targets = try await peers.start()
        // Held for the whole run, so no other test's server can take it and answer.
        let refusing = intakeReachable ? nil : try RefusingPort()
        if let refusing { targets.intake = RPCTarget(host: "127.0.0.1", port: refusing.port) }
        defer { withExtendedLifetime(refusing) {} }
        let peerTargets: [OneStopService: [RPCTarget]] = [.intake: [targets.intake], .routing: [targets.routing]]
        var configuration = ServiceConfiguration.forTesting(service: .review, databaseURL: database.connectionString, peers: peerTargets)
        configuration.outbox.pollInterval = .milliseconds(100)
        let app = ServiceApp(definition: ReviewService.definition(settings: settings), configuration: configuration, logger: quietLogger)
        let pool = PostgresPool(configuration: database, maxConnections: 4, logger: quietLogger)
        let (ready, continuation) = AsyncStream<ServiceAddresses>.makeStream()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run { continuation.yield($0) } }
            var iterator = ready.makeAsyncIterator()
            let addresses = try #require(await iterator.next())
            var clientConfiguration = configuration.clientConfiguration(for: .review)
            clientConfiguration.targets = [addresses.rpcTarget]
            clientConfiguration.maxRetries = 0
            let client = RPCClient(configuration: clientConfiguration, logger: quietLogger)
            let harness = ReviewHarness(
                database: database, pool: pool, peers: peers, peerTargets: peerTargets, client: client, configuration: configuration
            )
            let result: T
            do {
                result = try await body(harness)
            } catch {
                await client.shutdown()
                await app.triggerGracefulShutdown()
                try? await group.waitForAll()
                await pool.close()
                await peers.stop()
                throw error
            }
            await client.shutdown()
            await app.triggerGracefulShutdown()
            try await group.waitForAll()
            await pool.close()
            await peers.stop()
            return result
        }
    }

    /// Runs extra check workers in-process (a `review worker` without the process) during `body`.
    func withWorkers<T: Sendable>(_ settings: ReviewSettings, _ body: @Sendable () async throws -> T) async throws -> T {
        var configuration = configuration
        configuration.instance = "worker-\(UUID().uuidString.prefix(6))"
        let app = ServiceApp(definition: ReviewService.workerDefinition(settings: settings), configuration: configuration, logger: quietLogger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            let result: T
            do {
                result = try await body()
            } catch {
                await app.triggerGracefulShutdown()
                try? await group.waitForAll()
                throw error
            }
            await app.triggerGracefulShutdown()
            try await group.waitForAll()
            return result
        }
    }

    // MARK: Calls

    func submit(_ params: ReviewSubmit.Params, messageId: String? = UUID().uuidString) async throws -> ReviewSubmit.Result {
        try await client.call(ReviewSubmit.self, params, meta: RPCMeta(messageId: messageId))
    }

    func addReviewer(_ id: String, types: [String] = ["license"], team: String? = "t1", supervisor: String? = nil, isSupervisor: Bool = false, onDuty: Bool = true) async throws {
        _ = try await client.call(
            ReviewUpsertReviewer.self,
            ReviewReviewer(id: id, name: "Reviewer \(id)", serviceTypes: types, onDuty: onDuty, team: team, supervisorId: supervisor, isSupervisor: isSupervisor),
            meta: RPCMeta(actor: RPCActor(id: "admin", roles: ["administrator"]))
        )
    }

    func decide(_ params: ReviewDecide.Params, as actor: String, roles: [String] = ["reviewer"]) async throws -> ReviewDecide.Result {
        try await client.call(ReviewDecide.self, params, meta: RPCMeta(actor: RPCActor(id: actor, roles: roles)))
    }

    func queue(of reviewer: String, scope: ReviewListQueue.Scope = .mine, limit: Int = 200, after: String? = nil) async throws -> ReviewListQueue.Result {
        try await client.call(
            ReviewListQueue.self, ReviewListQueue.Params(scope: scope, limit: limit, after: after),
            meta: RPCMeta(actor: RPCActor(id: reviewer, roles: ["reviewer"]))
        )
    }

    func task(_ taskId: String) async throws -> ReviewGetTask.Result {
        try await client.call(ReviewGetTask.self, ReviewGetTask.Params(taskId: taskId))
    }

    // MARK: Database reads

    func count(_ sql: SQL) async throws -> Int {
        Int(try await pool.query(sql)[0].decode(Int64.self, column: "n"))
    }

    func state(of taskId: String) async throws -> ReviewTaskState? {
        let rows = try await pool.query("SELECT state FROM review_tasks WHERE id = \(UUID(uuidString: taskId)!)")
        return try rows.first.flatMap { ReviewTaskState(rawValue: try $0.decode(String.self, column: "state")) }
    }

    /// Waits until the task has left `checking`; returns its state.
    func checked(_ taskId: String, timeout: Duration = .seconds(30)) async throws -> ReviewTaskState {
        var state: ReviewTaskState?
        let done = try await waitUntil(timeout: timeout) {
            state = try await self.state(of: taskId)
            return state != nil && state != .checking
        }
        try #require(done, "task \(taskId) still \(state?.rawValue ?? "missing") after \(timeout)")
        return state!
    }
}

// MARK: Fixtures

/// A resident ID number with a valid check character (GB 11643-1999).
func residentID(_ seventeen: String) -> String {
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    let digits = seventeen.compactMap { $0.wholeNumberValue }
    let sum = zip(digits, weights).reduce(0) { $0 + $1.0 * $1.1 }
    return seventeen + String(Array("10X98765432")[sum % 11])
}

let validID = residentID("11010519491231002")

func submission(
    caseId: String = UUID().uuidString, serviceType: String = "license", priority: CasePriority = .regular,
    autoApproval: Bool = false, idNumber: String = validID, customerKey: String = "ck-\(UUID().uuidString.prefix(8))",
    materials: [MaterialItem] = [MaterialItem(code: "id_card"), MaterialItem(code: "form", copies: 2)],
    required: [MaterialItem] = [MaterialItem(code: "id_card"), MaterialItem(code: "form", copies: 2)],
    description: String = "a new business license", amount: Double? = nil
) -> ReviewSubmit.Params {
    ReviewSubmit.Params(
        caseId: caseId, trackingNumber: "SQ\(caseId.prefix(8))", serviceType: serviceType, serviceName: "Business license",
        applicantType: .individual,
        applicant: .init(name: "Zhang San", idType: "resident_id", idNumber: idNumber, customerKey: customerKey),
        priority: priority, confidentiality: .normal, channel: .counter, description: description,
        materials: materials, requiredMaterials: required, autoApprovalAllowed: autoApproval,
        department: "market", timeLimitWorkingDays: 5, declaredAmount: amount, acceptedAt: Date()
    )
}

/// Polls `condition` until it holds or `timeout` passes.
func waitUntil(timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(25))
    }
    return try await condition()
}

/// The RPC error kind a call failed with (nil when it succeeded).
func errorKind(_ body: () async throws -> Void) async -> RPCErrorKind? {
    do {
        try await body()
        return nil
    } catch let error as RPCError {
        return error.kind
    } catch {
        return .internal
    }
}
