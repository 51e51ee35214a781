import Logging
import Postgres
import RPCTesting
import Synchronization
import TestSupport

#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The whole of OneStop as separate processes started from the built executables: gateway,
/// intake, review (methods only) and one `review worker`, routing, notification and
/// complaints, each with its own database in the test cluster, on ephemeral ports, sending
/// mail and SMS to real local sinks. Timers are fast (sweeps, SLA scans, queue polls, leases)
/// and SMS quiet hours are off, so flows finish in seconds.
public final class OneStopSystem: Sendable {
    /// The processes of the system, by the names `kill` and `restart` take.
    public enum Part: String, CaseIterable, Sendable {
        case gateway, intake, review, reviewWorker = "review-worker", routing, notification, complaints

        var executable: String { self == .reviewWorker ? "review" : rawValue }
        var arguments: [String] { self == .reviewWorker ? ["worker"] : [] }
    }

    public static let adminUser = "admin"
    public static let adminPassword = "end-to-end administrator password"

    public let api: GatewayAPI
    public let mail: Sink
    public let sms: Sink
    /// The proxy routing reaches notification through, when started with `linkFaults`.
    public let routingToNotification: FaultProxy?
    private let environments: [Part: [String: String]]
    private let adminPorts: [Part: Int]
    private let databases: [PostgresConfiguration]
    private let cluster: PostgresCluster
    private let dedicatedCluster: Bool
    private let running: Mutex<[Part: ChildProcess]>
    private let readiness = Mutex<[Part: Duration]>([:])

    private init(
        api: GatewayAPI, mail: Sink, sms: Sink, routingToNotification: FaultProxy?, environments: [Part: [String: String]],
        adminPorts: [Part: Int], databases: [PostgresConfiguration], cluster: PostgresCluster, dedicatedCluster: Bool
    ) {
        self.api = api
        self.mail = mail
        self.sms = sms
        self.routingToNotification = routingToNotification
        self.dedicatedCluster = dedicatedCluster
        self.environments = environments
        self.adminPorts = adminPorts
        self.databases = databases
        self.cluster = cluster
        running = Mutex([:])
    }

    // MARK: Starting and stopping

    /// Starts everything and waits until every service is ready and the administrator can log in.
    /// `overrides` adds or replaces environment variables of a part (a faster clock, bigger pools).
    /// A port taken by someone else between choosing and binding it gets one more try.
    ///
    /// `dedicatedDatabase` gives the system a Postgres cluster of its own, which
    /// `stopDatabase()` / `startDatabase()` may stop without disturbing other tests; `linkFaults`
    /// puts a `FaultProxy` between routing and notification (`routingToNotification`).
    /// `sinksRecordContent` false keeps only the recipients of each email (see `Sink`), for
    /// benchmarks that check deliveries in notification's database.
    public static func start(
        overrides: [Part: [String: String]] = [:], dedicatedDatabase: Bool = false, linkFaults: Bool = false,
        sinksRecordContent: Bool = true
    ) async throws -> OneStopSystem {
        let setup = Setup(
            overrides: overrides, dedicatedDatabase: dedicatedDatabase, linkFaults: linkFaults, sinksRecordContent: sinksRecordContent
        )
        // One system boots at a time: seven processes migrating and connecting fill both cores,
        // and two booting together would slow the rest of the suite running beside them.
        await startGate.enter()
        do {
            let system = try await startRetryingOnATakenPort(setup)
            await startGate.leave()
            return system
        } catch {
            await startGate.leave()
            throw error
        }
    }

    private struct Setup {
        var overrides: [Part: [String: String]]
        var dedicatedDatabase: Bool
        var linkFaults: Bool
        var sinksRecordContent: Bool
    }

    private static func startRetryingOnATakenPort(_ setup: Setup) async throws -> OneStopSystem {
        do {
            return try await startOnce(setup)
        } catch let error as EndToEndError where error.description.contains("in use") {
            return try await startOnce(setup)
        }
    }

    private static let startGate = StartGate()

    private static func startOnce(_ setup: Setup) async throws -> OneStopSystem {
        let overrides = setup.overrides
        let cluster = setup.dedicatedDatabase ? try await PostgresCluster.startDedicated() : try await PostgresCluster.shared()
        let mail = try await Sink(.smtp, recordingContent: setup.sinksRecordContent)
        let sms = try await Sink(.sms, recordingContent: setup.sinksRecordContent)
        var databases: [PostgresConfiguration] = []
        var system: OneStopSystem?
        var proxy: FaultProxy?
        do {
            let services = Part.allCases.filter { $0 != .reviewWorker }
            var databaseURLs: [Part: String] = [:]
            for part in services {
                let database = try await cluster.createDatabase(prefix: "e2e_\(part.rawValue)")
                databases.append(database)
                databaseURLs[part] = database.connectionString
            }
            var rpcPorts: [Part: Int] = [:]
            var adminPorts: [Part: Int] = [:]
            for part in services {
                rpcPorts[part] = try freeLocalPort()
                adminPorts[part] = try freeLocalPort()
            }
            let httpPort = try freeLocalPort()
            let secret = "e2e-" + UUID().uuidString
            var common = [
                "ONESTOP_SERVICE_SECRET": secret,
                "ONESTOP_LOG_FORMAT": "text",
                "ONESTOP_LOG_LEVEL": "warning",
                "ONESTOP_DB_POOL_SIZE": "4",
                "ONESTOP_SHUTDOWN_GRACE_SECONDS": "2",
                // A relay killed mid-delivery leaves its claim; another picks it up after this.
                "ONESTOP_OUTBOX_LEASE_SECONDS": "5",
            ]
            for part in services {
                common["ONESTOP_\(part.rawValue.uppercased())_ADDRESSES"] = "127.0.0.1:\(rpcPorts[part]!)"
            }
            if setup.linkFaults {
                proxy = try await FaultProxy(targetPort: rpcPorts[.notification]!)
            }
            var environments: [Part: [String: String]] = [:]
            for part in Part.allCases {
                var environment = common
                if part == .routing, let proxy {
                    environment["ONESTOP_NOTIFICATION_ADDRESSES"] = "127.0.0.1:\(proxy.port)"
                }
                if part != .reviewWorker {
                    environment["ONESTOP_DATABASE_URL"] = databaseURLs[part]!
                    environment["ONESTOP_RPC_PORT"] = "\(rpcPorts[part]!)"
                    environment["ONESTOP_ADMIN_PORT"] = "\(adminPorts[part]!)"
                    environment["ONESTOP_INSTANCE"] = "e2e-\(part.rawValue)"
                }
                environment.merge(specific(part, httpPort: httpPort, mail: mail, sms: sms, databaseURLs: databaseURLs)) { $1 }
                environment.merge(overrides[part] ?? [:]) { $1 }
                environments[part] = environment
            }
            let created = OneStopSystem(
                api: GatewayAPI(port: httpPort), mail: mail, sms: sms, routingToNotification: proxy, environments: environments,
                adminPorts: adminPorts, databases: databases, cluster: cluster, dedicatedCluster: setup.dedicatedDatabase
            )
            system = created
            let launched = ContinuousClock.now
            for part in Part.allCases { try created.launch(part) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for part in Part.allCases {
                    group.addTask {
                        try await created.waitUntilReady(part)
                        created.readiness.withLock { $0[part] = ContinuousClock.now - launched }
                    }
                }
                try await group.waitForAll()
            }
            try await created.api.waitForLogin(adminUser, adminPassword)
            return created
        } catch {
            if let system {
                await system.stop()
            } else {
                await mail.stop()
                await sms.stop()
                await proxy?.close()
                if setup.dedicatedDatabase {
                    try? await cluster.stop()
                } else {
                    await drop(databases, in: cluster)
                }
            }
            throw error
        }
    }

    /// What each part reads beyond the common settings.
    private static func specific(_ part: Part, httpPort: Int, mail: Sink, sms: Sink, databaseURLs: [Part: String]) -> [String: String] {
        switch part {
        case .gateway:
            [
                "ONESTOP_GATEWAY_HTTP_PORT": "\(httpPort)",
                "ONESTOP_GATEWAY_BOOTSTRAP_ADMIN": adminUser,
                "ONESTOP_GATEWAY_BOOTSTRAP_PASSWORD": adminPassword,
                "ONESTOP_GATEWAY_PASSWORD_COST": "4",
                "ONESTOP_GATEWAY_RATE_LIMIT_PER_SECOND": "100000",
                "ONESTOP_GATEWAY_RATE_LIMIT_BURST": "100000",
            ]
        case .intake:
            ["ONESTOP_INTAKE_SWEEP_INTERVAL_MS": "500"]
        case .review:
            // The checks run in the separate worker process, as deployed.
            ["ONESTOP_REVIEW_WORKER_CONCURRENCY": "0"]
        case .reviewWorker:
            [
                "ONESTOP_DATABASE_URL": databaseURLs[.review]!,
                "ONESTOP_INSTANCE": "e2e-review-worker",
                "ONESTOP_REVIEW_WORKER_CONCURRENCY": "2",
                "ONESTOP_REVIEW_JOB_LEASE_SECONDS": "3",
            ]
        case .routing:
            ["ONESTOP_ROUTING_SLA_INTERVAL_MS": "500", "ONESTOP_ROUTING_STAFF_LOCALE": "en"]
        case .notification:
            [
                "ONESTOP_SMTP_URL": "smtp://127.0.0.1:\(mail.port)",
                "ONESTOP_SMTP_STARTTLS": "off",
                "ONESTOP_SMS_URL": "http://127.0.0.1:\(sms.port)/sms",
                "ONESTOP_QUIET_HOURS": "off",
                "ONESTOP_NOTIFY_POLL_MS": "100",
                "ONESTOP_NOTIFY_BACKOFF_MS": "100",
                "ONESTOP_NOTIFY_MAX_BACKOFF_MS": "1000",
                "ONESTOP_NOTIFY_LEASE_SECONDS": "6",
                "ONESTOP_NOTIFY_CONNECT_TIMEOUT_SECONDS": "2",
                "ONESTOP_NOTIFY_TIMEOUT_SECONDS": "5",
            ]
        case .complaints:
            [:]
        }
    }

    /// Kills every process, the sinks, and drops the databases.
    public func stop() async {
        let processes = running.withLock { running in
            defer { running = [:] }
            return Array(running.values)
        }
        for process in processes { process.kill(SIGKILL) }
        for process in processes { await process.waitForExit(timeout: .seconds(5)) }
        await mail.stop()
        await sms.stop()
        await routingToNotification?.close()
        if dedicatedCluster {
            try? await cluster.stop()
        } else {
            await Self.drop(databases, in: cluster)
        }
    }

    private static func drop(_ databases: [PostgresConfiguration], in cluster: PostgresCluster) async {
        let logger = Logger(label: "onestop.e2e", factory: { _ in SwiftLogNoOpLogHandler() })
        guard let admin = try? await PostgresConnection.connect(cluster.adminConfiguration, logger: logger) else { return }
        for database in databases {
            guard let name = try? database.parsedOptions()["dbname"] else { continue }
            try? await admin.simpleQuery("DROP DATABASE IF EXISTS \"\(name)\" WITH (FORCE)")
        }
        await admin.close()
    }

    // MARK: What the benchmarks look at

    /// How long each part took from its launch to a ready `/readyz` (all launched together).
    public var readyAfter: [Part: Duration] { readiness.withLock { $0 } }

    /// The process id of a running part.
    public func pid(_ part: Part) -> Int32? { running.withLock { $0[part]?.pid } }

    /// The connection string of a part's database (the worker's is review's).
    public func databaseURL(_ part: Part) -> String? { environments[part]?["ONESTOP_DATABASE_URL"] }

    /// The line-protocol port a part listens on (nil for the worker).
    public func rpcPort(_ part: Part) -> Int? { environments[part]?["ONESTOP_RPC_PORT"].flatMap { Int($0) } }

    /// The administrator's connection to the cluster all the databases live in.
    public var clusterAdministration: PostgresConfiguration { cluster.adminConfiguration }

    // MARK: Killing and restarting parts

    /// SIGKILLs one part and waits until it is gone.
    public func kill(_ part: Part) async {
        guard let process = running.withLock({ $0.removeValue(forKey: part) }) else { return }
        process.kill(SIGKILL)
        await process.waitForExit(timeout: .seconds(10))
    }

    /// Starts a part again (after `kill`) with the same ports and database, and waits until it is ready.
    public func restart(_ part: Part) async throws {
        await kill(part)
        try launch(part)
        try await waitUntilReady(part)
    }

    /// SIGSTOPs a part: it keeps its sockets and leases but does nothing until `resume`.
    public func suspend(_ part: Part) {
        running.withLock { $0[part] }?.kill(SIGSTOP)
    }

    /// SIGCONTs a part stopped by `suspend`.
    public func resume(_ part: Part) {
        running.withLock { $0[part] }?.kill(SIGCONT)
    }

    /// Stops the system's Postgres (a dedicated cluster only): every service loses its database
    /// until `startDatabase()`.
    public func stopDatabase() async throws {
        guard dedicatedCluster else { throw EndToEndError("the shared cluster serves other tests; start with dedicatedDatabase: true") }
        try await cluster.stopServer()
    }

    /// Starts the system's Postgres again after `stopDatabase()`.
    public func startDatabase() async throws {
        guard dedicatedCluster else { throw EndToEndError("the shared cluster serves other tests; start with dedicatedDatabase: true") }
        try await cluster.startServer()
    }

    /// Whether a part is still alive (a crash would show here before a timeout elsewhere).
    public func isRunning(_ part: Part) -> Bool {
        running.withLock { $0[part]?.isRunning ?? false }
    }

    /// The last output of every part, for failure messages.
    public func logs(lines: Int = 15) -> String {
        running.withLock { running in
            running.sorted { $0.key.rawValue < $1.key.rawValue }.map { part, process in
                "--- \(part.rawValue)\(process.isRunning ? "" : " (exited)")\n" + process.outputSoFar.split(separator: "\n").suffix(lines).joined(separator: "\n")
            }.joined(separator: "\n")
        }
    }

    private func launch(_ part: Part) throws {
        let process = try ChildProcess(executable: part.executable, arguments: part.arguments, environment: environments[part]!)
        running.withLock { $0[part] = process }
    }

    /// Waits for `/readyz` (database reachable, migrations applied); the worker has no fixed
    /// admin port, so it only has to stay up.
    private func waitUntilReady(_ part: Part, timeout: Duration = .seconds(60)) async throws {
        guard let process = running.withLock({ $0[part] }) else { throw EndToEndError("\(part.rawValue) is not running") }
        let deadline = ContinuousClock.now + timeout
        guard let adminPort = adminPorts[part] else {
            try await Task.sleep(for: .milliseconds(300))
            guard process.isRunning else { throw EndToEndError("\(part.rawValue) exited at start:\n\(process.outputSoFar.suffix(2000))") }
            return
        }
        while (try? await HTTPTestClient.get(port: adminPort, path: "/readyz"))?.status != 200 {
            guard process.isRunning else {
                throw EndToEndError("\(part.rawValue) exited at start:\n\(process.outputSoFar.suffix(2000))")
            }
            guard ContinuousClock.now < deadline else {
                throw EndToEndError("\(part.rawValue) was not ready within \(timeout):\n\(process.outputSoFar.suffix(2000))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// Lets one caller through at a time, in arrival order.
private actor StartGate {
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func enter() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func leave() {
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }
}

