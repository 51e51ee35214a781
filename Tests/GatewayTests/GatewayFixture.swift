import Contracts
@testable import GatewayService
import JSONCoding
import LineProtocol
import Logging
import NIOCore
import NIOPosix
import Postgres
import RPCTesting
import ServiceKit
import Synchronization
import Testing
import TestSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// A real gateway on ephemeral ports with its own throwaway database, in front of one stub
/// line-protocol server standing in for the five services (or of nothing, to test degraded mode).
struct GatewayFixture: Sendable {
    let port: Int
    let database: PostgresPool
    let backend: StubBackend?

    static let logger = Logger(label: "gateway-test", factory: { _ in SwiftLogNoOpLogHandler() })
    static let adminUser = "admin"
    static let adminPassword = "correct horse battery staple"

    enum Backends: Sendable, Equatable {
        /// Every service answered by the stub.
        case stub
        /// Intake answered by the stub; the other four services are not running.
        case onlyIntake
        /// Every service answered by the stub but this one, which is not running.
        case allBut(OneStopService)

        func isUp(_ peer: OneStopService) -> Bool {
            switch self {
            case .stub: true
            case .onlyIntake: peer == .intake
            case .allBut(let down): peer != down
            }
        }
    }

    static func with(
        environment: [String: String] = [:],
        backends: Backends = .stub,
        logger: Logger = GatewayFixture.logger,
        _ body: @Sendable (GatewayFixture) async throws -> Void
    ) async throws {
        let databaseConfiguration = try await PostgresCluster.shared().createDatabase(prefix: "gateway")
        let backend = try await StubBackend.start()
        var configuration = ServiceConfiguration.forTesting(service: .gateway, databaseURL: databaseConfiguration.connectionString)
        let closedPort = try RefusingPort()
        defer { withExtendedLifetime(closedPort) {} }
        for peer in OneStopService.allCases where peer != .gateway {
            configuration.peers[peer] = [RPCTarget(host: "127.0.0.1", port: backends.isUp(peer) ? backend.port : closedPort.port)]
        }
        var env = [
            "ONESTOP_GATEWAY_HTTP_PORT": "0",
            "ONESTOP_GATEWAY_BOOTSTRAP_ADMIN": adminUser,
            "ONESTOP_GATEWAY_BOOTSTRAP_PASSWORD": adminPassword,
            "ONESTOP_GATEWAY_PASSWORD_COST": "4",
            "ONESTOP_GATEWAY_RATE_LIMIT_PER_SECOND": "100000",
            "ONESTOP_GATEWAY_RATE_LIMIT_BURST": "100000",
            // The stub answers at once; only a starved test machine takes seconds, and a 504
            // then is the machine, not the gateway (tests of a hang set their own).
            "ONESTOP_GATEWAY_SERVICE_TIMEOUT_MS": "20000",
        ]
        env.merge(environment) { $1 }
        let (addresses, ready) = AsyncStream<SocketAddress>.makeStream()
        let definition = GatewayService.definition(environment: env) { ready.yield($0) }
        let app = ServiceApp(definition: definition, configuration: configuration, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            var iterator = addresses.makeAsyncIterator()
            let address = try #require(await iterator.next())
            let pool = PostgresPool(configuration: databaseConfiguration, maxConnections: 2, logger: logger)
            let fixture = GatewayFixture(port: try #require(address.port), database: pool, backend: backend)
            // The administrator is created as the HTTP server starts; wait for it.
            for _ in 0..<100 where try await pool.query("SELECT 1 FROM staff_users").isEmpty {
                try await Task.sleep(for: .milliseconds(50))
            }
            var failure: (any Error)?
            do { try await body(fixture) } catch { failure = error }
            await pool.close()
            await app.triggerGracefulShutdown()
            try? await group.waitForAll()
            await backend.stop()
            if let failure { throw failure }
        }
    }


    // MARK: HTTP

    @discardableResult
    func request(
        _ method: String, _ path: String, json: String? = nil, cookie: String? = nil, token: String? = nil,
        headers: [(String, String)] = []
    ) async throws -> HTTPTestClient.Response {
        var headers = headers
        if let cookie { headers.append(("Cookie", "onestop_session=\(cookie)")) }
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        return try await HTTPTestClient.send(port: port, method: method, path: path, headers: headers, body: json)
    }

    /// Logs in and returns the session cookie's value.
    func login(_ user: String, _ password: String) async throws -> String {
        let response = try await request("POST", "/v1/auth/login", json: #"{"user": "\#(user)", "password": "\#(password)"}"#)
        #expect(response.status == 200, "\(response.body)")
        let cookie = try #require(response.setCookies.first { $0.hasPrefix("onestop_session=") })
        return String(cookie.dropFirst("onestop_session=".count).prefix { $0 != ";" })
    }

    func adminSession() async throws -> String { try await login(Self.adminUser, Self.adminPassword) }

    /// Creates a user through the API and logs them in.
    func staff(_ id: String, roles: [String], department: String? = nil, admin: String) async throws -> String {
        let password = "password-of-\(id)"
        let department = department.map { #""\#($0)""# } ?? "null"
        let created = try await request("POST", "/v1/users", json: """
            {"id": "\(id)", "displayName": "\(id)", "roles": [\(roles.map { #""\#($0)""# }.joined(separator: ","))], "department": \(department), "password": "\(password)"}
            """, cookie: admin)
        #expect(created.status == 201, "\(created.body)")
        return try await login(id, password)
    }

    func count(_ sql: SQL) async throws -> Int64 {
        try await database.query(sql)[0].decode(Int64.self, column: "n")
    }
}

func json(_ text: String) throws -> JSON {
    try JSON.parse(Array(text.utf8))
}

/// One line-protocol server answering every method the gateway calls: it echoes the method, the
/// actor the gateway vouched for and the params, and plays intake's access-code check
/// (`RIGHT-CODE` is the only valid code).
final class StubBackend: Sendable {
    let server: RPCServer
    let port: Int
    private let received = Mutex<[(method: String, actor: String?)]>([])

    static let rightCode = "RIGHT-CODE"
    /// Registering a case of a service type `unknown_…` is refused; of this one, in English only.
    static let unknownTypeWithoutTexts = "unknown_old_intake"
    /// A reviewer without a name is refused with a list of problems; of this id, in English only.
    static let reviewerWithoutProblemTexts = "old-review"

    private init(server: RPCServer, port: Int) {
        self.server = server
        self.port = port
    }

    var calls: [(method: String, actor: String?)] { received.withLock { $0 } }

    /// How often `method` was called.
    func count(_ method: String) -> Int { calls.filter { $0.method == method }.count }

    // MARK: Intake, played with a small catalog and the cases registered through the stub

    struct StubCase: Sendable {
        var trackingNumber: String
        var idempotencyKey: String?
        var serviceType: String
        var status: CaseStatus
        var registeredAt: Date
    }

    private let cases = Mutex<[StubCase]>([])

    /// Moves a registered case on (tests of status mapping).
    func setStatus(_ trackingNumber: String, _ status: CaseStatus) {
        cases.withLock { cases in
            for index in cases.indices where cases[index].trackingNumber == trackingNumber { cases[index].status = status }
        }
    }

    static let catalog: JSON = [
        [
            "code": "residence_permit", "name": ["zh-CN": "居住证办理", "en": "Residence permit"], "department": "civil-affairs",
            "timeLimitWorkingDays": 10, "reviewPolicy": "person_decides", "admissibleOnline": true,
            "applicantTypes": ["individual", "representative"], "materialsDeadlineWorkingDays": 5,
            "materials": [
                ["code": "id_card", "name": ["zh-CN": "居民身份证", "en": "Identity card"], "original": true, "copies": 1],
                ["code": "photo", "name": ["zh-CN": "近期照片", "en": "Recent photo"], "original": true, "copies": 2],
                ["code": "residence_proof", "name": ["zh-CN": "居住证明", "en": "Proof of residence"], "original": false, "copies": 1],
            ],
        ],
        [
            "code": "business_licence", "name": ["zh-CN": "营业执照变更", "en": "Business licence change"], "department": "market-regulation",
            "timeLimitWorkingDays": 5, "reviewPolicy": "automatic_allowed", "admissibleOnline": true,
            "applicantTypes": ["company"], "materialsDeadlineWorkingDays": 5,
            "materials": [["code": "licence", "name": ["zh-CN": "营业执照正本", "en": "Business licence"], "original": true, "copies": 1]],
        ],
        [
            "code": "passport_counter", "name": ["zh-CN": "护照现场办理", "en": "Passport at the counter"], "department": "exit-entry",
            "timeLimitWorkingDays": 7, "reviewPolicy": "person_decides", "admissibleOnline": false,
            "applicantTypes": ["individual"], "materialsDeadlineWorkingDays": 5, "materials": [],
        ],
    ]

    func intakeAnswer(_ method: String, _ params: JSONObject) -> JSONObject {
        switch method {
        case IntakeListCatalog.name:
            return ["serviceTypes": Self.catalog]
        case IntakeRegisterCase.name:
            let key = params["idempotencyKey"]?.stringValue
            let registered = cases.withLock { cases -> StubCase in
                if let key, let existing = cases.first(where: { $0.idempotencyKey == key }) { return existing }
                let given = params["materials"]?.arrayValue?.count ?? 0
                let made = StubCase(trackingNumber: String(format: "20260301-%06d-X", cases.count + 1), idempotencyKey: key,
                                    serviceType: params["serviceType"]?.stringValue ?? "residence_permit",
                                    status: given >= 3 ? .accepted : .awaitingMaterials, registeredAt: Date())
                cases.append(made)
                return made
            }
            var answer: JSONObject = [
                "caseId": .string(UUID().uuidString.lowercased()), "trackingNumber": .string(registered.trackingNumber),
                "accessCode": "AC-1234", "status": .string(registered.status.rawValue), "owner": "duty-officer",
                "dueDate": "2026-03-15",
            ]
            if registered.status == .awaitingMaterials {
                answer["notice"] = [
                    "items": [["code": "photo", "name": "近期照片", "problem": "missing"]], "deadline": "2026-03-08",
                    "issuedAt": .string(JSONDateFormat.string(from: Date())!), "updated": false,
                ]
            }
            return answer
        case IntakeFindCases.name:
            let wanted = params["trackingNumbers"]?.arrayValue?.compactMap(\.stringValue)
            let found = cases.withLock { $0 }.filter { wanted == nil || wanted!.contains($0.trackingNumber) }
            return ["cases": .array(found.map { stub in
                [
                    "caseId": .string(UUID().uuidString.lowercased()), "trackingNumber": .string(stub.trackingNumber),
                    "status": .string(stub.status.rawValue), "serviceType": .string(stub.serviceType), "channel": "online",
                    "customerName": "张三", "priority": "regular", "owner": "duty-officer", "department": "civil-affairs",
                    "registeredAt": .string(JSONDateFormat.string(from: stub.registeredAt)!), "dueDate": "2026-03-15",
                ]
            })]
        default:
            return [:]
        }
    }

    static func start() async throws -> StubBackend {
        final class Box: Sendable { let backend = Mutex<StubBackend?>(nil) }
        let holder = Box()
        var table = RPCMethodTable()
        for method in Set(GatewayService.calledMethods.map(\.method)) {
            table.register(name: method) { params, context in
                let actor = context.meta.actor
                holder.backend.withLock { $0 }?.received.withLock { $0.append((method, actor?.id)) }
                // Customers prove the case with its access code; staff calls carry none.
                if method == IntakeTrackCase.name || params?["customer"] != nil {
                    let code = params?["accessCode"]?.stringValue ?? params?["customer"]?["accessCode"]?.stringValue
                    guard code == rightCode else { throw RPCError.notFound("no case matches") }
                }
                // Intake's refusal of an unknown service type, as a current intake sends it (with
                // its Chinese text) and as an older one did (English only).
                if method == IntakeRegisterCase.name, let type = params?["serviceType"]?.stringValue, type.hasPrefix("unknown_") {
                    let english = "serviceType: unknown service type \"\(type)\"; intake.listCatalog lists them"
                    throw type == Self.unknownTypeWithoutTexts
                        ? RPCError.invalidParams(english)
                        : RPCError.invalidParams(english, zh: "serviceType：未知的事项“\(type)”；可用 intake.listCatalog 查看事项清单")
                }
                // Review's refusal of a reviewer without name or service types, as a current review
                // sends it (each problem in Chinese too) and as an older one did (English only).
                if method == ReviewUpsertReviewer.name, params?["name"]?.stringValue?.allSatisfy(\.isWhitespace) == true {
                    let problems = [
                        (en: "params.name: 1 to 200 characters", zh: "params.name：1 至 200 个字符"),
                        (en: "params.serviceTypes: at least one service type (or `*`)", zh: "params.serviceTypes：至少一个事项（或 `*`）"),
                    ]
                    let english = problems.map(\.en).joined(separator: "; ")
                    throw params?["id"]?.stringValue == Self.reviewerWithoutProblemTexts
                        ? RPCError.invalidParams(english, details: [RPCError.problemsKey: .array(problems.map { .string($0.en) })])
                        : RPCError.invalidParams(english, zh: problems.map(\.zh).joined(separator: "；"), problems: problems)
                }
                if method == IntakeStats.name {
                    return try JSONValueEncoder().encode(IntakeStats.Result(
                        registered: 4, byChannel: [KeyedCount(key: "counter", count: 3), KeyedCount(key: "online", count: 1)],
                        byServiceType: [KeyedCount(key: "residence_permit", count: 4)], byDay: [], byStatus: [],
                        accepted: 4, firstTimeComplete: 2, notAccepted: 0, secondsToAcceptanceP50: 30
                    ))
                }
                if method == ComplaintsStats.name {
                    // Complaints' own rate (intake's stub counts would give 3 × 1000 / 4 = 750).
                    return try JSONValueEncoder().encode(ComplaintsStats.Result(
                        total: 3, byCategory: [.init(key: "attitude", count: 3, cumulativeShare: 1)], byRootCause: [],
                        byDepartment: [.init(key: "civil-affairs", count: 3, cumulativeShare: 1)],
                        byServiceType: [.init(key: "residence_permit", count: 2, cumulativeShare: 2.0 / 3), .init(key: "none", count: 1, cumulativeShare: 1)],
                        complaintRate: .init(
                            casesRegistered: 800, per1000Cases: 3.8,
                            byServiceType: [.init(serviceType: "residence_permit", complaints: 2, cases: 800, per1000Cases: 2.5)],
                            unavailableReason: nil
                        ),
                        firstResponseSecondsP50: 60, firstResponseSecondsP90: 120, resolutionRate: 0.5,
                        resolutionSecondsAverage: nil, resolutionSecondsP50: nil, reopenRate: 0, satisfactionAverage: 4,
                        satisfactionDistribution: [0, 0, 0, 1, 0], satisfactionByDepartment: [],
                        satisfactionByServiceType: [.init(key: "residence_permit", ratings: 1, average: 4, distribution: [0, 0, 0, 1, 0])]
                    ))
                }
                if method == IntakeGetCase.name {
                    return try JSONValueEncoder().encode(caseFile(id: params?["caseId"]?.stringValue ?? "c1"))
                }
                var answer: JSONObject = ["method": .string(method), "trackingNumber": "X", "department": "d-test", "serviceType": "residence_permit"]
                answer["actor"] = actor.map { .string($0.id) } ?? .null
                answer["actorRoles"] = .array((actor?.roles ?? []).map { .string($0) })
                answer["params"] = params ?? .null
                // Intake's answers in their real shapes, for routes that read them (Open311).
                if let backend = holder.backend.withLock({ $0 }) {
                    for (key, value) in backend.intakeAnswer(method, params?.objectValue ?? [:]) { answer[key] = value }
                }
                return .object(answer)
            }
        }
        let server = RPCServer(
            configuration: RPCServerConfiguration(serviceName: "stub", credential: ServiceConfiguration.developmentSecret),
            methods: table, logger: GatewayFixture.logger
        )
        let address = try await server.start()
        let backend = StubBackend(server: server, port: address.port ?? 0)
        holder.backend.withLock { $0 = backend }
        return backend
    }

    /// A case file as intake would answer it.
    static func caseFile(id: String) -> CaseView {
        CaseView(
            caseId: id, trackingNumber: "SH20261123000001", status: .accepted, serviceType: "residence_permit",
            serviceName: "居住证", channel: .counter, applicantType: .individual, customerName: "张*",
            idType: "resident_id", idNumberMasked: "1101**********002X", phoneMasked: nil, emailMasked: nil,
            priority: .regular, confidentiality: .normal, description: "…", materials: [], notice: nil,
            owner: "officer", department: "civil-affairs", handler: nil, dueDate: nil,
            registeredAt: Date(timeIntervalSince1970: 1_795_000_000), archived: false,
            timeline: [TimelineEntry(at: Date(timeIntervalSince1970: 1_795_000_000), event: "registered", actor: "officer", detail: nil)]
        )
    }

    func stop() async {
        await server.shutdown(gracePeriod: .seconds(1))
    }
}
