import ArgumentParser
import Contracts
import JSONCoding
import Logging
import NIOCore
import Postgres
import Synchronization
import SystemHarness
import TestSupport

#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The whole system through its public door, every service a process of its own (the
/// end-to-end harness: one Postgres cluster, a database per service, real SMTP and SMS sinks).
/// Every load is open loop: requests leave at a constant rate whatever the answers do, and
/// latency counts from the moment a request was due, so a slow answer cannot hide the requests
/// queued behind it.
///
///     swift build -c release && swift run -c release onestop-bench-gateway [targets|ramp|footprint]
@main
struct GatewayBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "onestop-bench-gateway", abstract: "Benchmark OneStop through the gateway, with every service running.",
        subcommands: [Targets.self, Ramp.self, Footprint.self], defaultSubcommand: Targets.self
    )
}

/// The gateway's targets: `GET /v1/cases/{id}` p99 < 10 ms at 500 requests/s, and
/// `POST /v1/cases` (a counter registration) p99 < 30 ms at 200/s.
struct Targets: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Reading and registering cases at the gateway's target rates.")

    @Option(help: "GET /v1/cases/{id} requests per second offered.") var readRate = 500
    @Option(help: "POST /v1/cases registrations per second offered.") var registerRate = 200
    @Option(help: "Seconds each measured phase lasts.") var seconds = 10
    @Option(help: "Runs of both phases; the table gives the median and the range.") var runs = 3
    @Option(help: "Keep-alive connections to the gateway.") var connections = 32
    @Option(help: "Seconds to wait, after the last run, for every registered case to reach routed.") var drainSeconds = 180

    func run() async throws {
        try await Bench.withSystem(connections: connections) { bench in
            let cookie = bench.officerCookie
            // Cases to read: registered before the clock starts, read round-robin.
            var readPaths: [String] = []
            var preregistered: [String] = []
            for body in try Bench.applications(200) {
                let response = try await bench.client.send(.POST, "/v1/cases", headers: cookie, body: body)
                guard response.status == 201, let id = Bench.caseID(response) else { throw ValidationError("registering a case answered \(response.status)") }
                readPaths.append("/v1/cases/\(id)")
                preregistered.append(id)
            }
            _ = try await bench.waitUntilRouted(preregistered, within: .seconds(drainSeconds))
            let paths = readPaths
            var reads: [LatencySummary] = []
            var registrations: [LatencySummary] = []
            var failures: [String: Int] = [:]
            var registered: [String] = []
            var readCPU: [String: Double] = [:]
            var registerCPU: [String: Double] = [:]
            for run in 1...runs {
                // Reads are measured on a system that has finished the work of the last
                // registrations (the ramp measures registrations and their work together).
                _ = try await bench.waitUntilRouted(registered, within: .seconds(drainSeconds))
                _ = try await bench.waitUntilDelivered(within: .seconds(drainSeconds))
                let beforeRead = bench.cpuSeconds()
                let read = await Bench.openLoop(rate: readRate, seconds: seconds) { index in
                    let response = try await bench.client.send(.GET, paths[index % paths.count], headers: cookie)
                    return response.status == 200 ? nil : "GET \(response.status)"
                }
                let beforeRegister = bench.cpuSeconds()
                let register = try await bench.register(rate: registerRate, seconds: seconds)
                let afterRegister = bench.cpuSeconds()
                for (name, seconds) in beforeRegister { readCPU[name, default: 0] += seconds - (beforeRead[name] ?? 0) }
                for (name, seconds) in afterRegister { registerCPU[name, default: 0] += seconds - (beforeRegister[name] ?? 0) }
                reads.append(read.latencies)
                registrations.append(register.latencies)
                failures.merge(read.failures) { $0 + $1 }
                failures.merge(register.failures) { $0 + $1 }
                registered += register.caseIDs
                print("run \(run): GET p50 \(ms(read.latencies.p50)) p99 \(ms(read.latencies.p99)) · POST p50 \(ms(register.latencies.p50)) p99 \(ms(register.latencies.p99)) · load \(Bench.loadAverage())")
            }
            let routed = try await bench.waitUntilRouted(registered, within: .seconds(drainSeconds))
            let stuck = try await bench.statusesOfUnrouted(registered)

            print("")
            print("| measurement (\(runs) runs of \(seconds) s, open loop) | requests | p50 ms | p99 ms | max ms | target |")
            print("| --- | ---: | ---: | ---: | ---: | --- |")
            print(row("GET /v1/cases/{id} at \(readRate)/s", reads, target: "p99 < 10 ms"))
            print(row("POST /v1/cases at \(registerRate)/s", registrations, target: "p99 < 30 ms"))
            print("")
            // Where the time goes: CPU used during each phase, per request, by process (a
            // registration's share includes the review, routing and notification work it set off
            // while its phase ran).
            let names = readCPU.keys.sorted()
            print("| CPU ms per request during the phase | " + names.joined(separator: " | ") + " |")
            print("| --- |" + String(repeating: " ---: |", count: names.count))
            let readCount = reads.reduce(0) { $0 + $1.count }
            let registerCount = registrations.reduce(0) { $0 + $1.count }
            print("| GET | " + names.map { f(1000 * (readCPU[$0] ?? 0) / Double(max(readCount, 1))) }.joined(separator: " | ") + " |")
            print("| POST | " + names.map { f(1000 * (registerCPU[$0] ?? 0) / Double(max(registerCount, 1))) }.joined(separator: " | ") + " |")
            print("")
            print("Failed requests: \(Bench.describe(failures)).")
            print("Registered during the runs: \(registered.count); reached routed within \(drainSeconds) s: \(routed)\(stuck.isEmpty ? "" : "; the others: \(Bench.describe(stuck))").")
            print("Load average after the runs: \(Bench.loadAverage()).")
        }
    }

    func row(_ name: String, _ summaries: [LatencySummary], target: String) -> String {
        let count = summaries.reduce(0) { $0 + $1.count }
        return "| \(name) | \(count) | \(RunSpread(summaries.map(\.p50))) | \(RunSpread(summaries.map(\.p99))) | \(RunSpread(summaries.map(\.max))) | \(target) |"
    }
}

/// Rising registration load on the automatic-approval path until p99 passes 100 ms: the highest
/// rate at which every case reaches routed and every notification reaches the sinks.
struct Ramp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Cases per second sustained end to end, at rising offered load.")

    @Option(help: "Offered registrations per second, in order; the ramp stops at the first rate that is not sustained.")
    var rates: [Int] = [25, 50, 100, 150, 200, 250, 300, 400]
    @Option(help: "Seconds of load at each rate.") var seconds = 10
    @Option(help: "Seconds allowed after each step for its cases to be routed and its messages delivered.") var drainSeconds = 120
    @Option(help: "Keep-alive connections to the gateway (also the client count of the insert ceiling).") var connections = 32
    @Option(help: "p99 registration latency, in ms, above which a rate is not sustained.") var limit = 100.0

    struct Step {
        var rate: Int
        var latencies: LatencySummary
        var failures: [String: Int]
        var cases: Int
        var routed: Int
        /// Statuses of the cases that did not reach routed in time.
        var unrouted: [String: Int]
        var undelivered: Int
        var drain: Duration
        var outboxLag: (p50: Double, p99: Double)
        var transactionsPerCase: Double
        /// The machine's busy CPU time during the load and the drain, per case, in ms.
        var cpuPerCase: Double
        var sustained: Bool
    }

    func run() async throws {
        try await Bench.withSystem(connections: connections) { bench in
            var steps: [Step] = []
            for rate in rates {
                let step = try await measure(bench, rate: rate)
                steps.append(step)
                print("\(rate)/s: p99 \(ms(step.latencies.p99)) · routed \(step.routed)/\(step.cases) · undelivered \(step.undelivered) · \(step.sustained ? "sustained" : "not sustained") · load \(Bench.loadAverage())")
                if !step.unrouted.isEmpty {
                    // Where the cases that never got there stopped, and what the services said.
                    print("  not routed: \(Bench.describe(step.unrouted))")
                    print(bench.system.logs(lines: 20))
                }
                if !step.sustained { break }
            }
            let best = steps.filter(\.sustained).map(\.rate).max()
            var half: Step?
            if let best, best >= 2 {
                half = try await measure(bench, rate: best / 2)
            }
            let ceiling = try await insertCeiling()

            print("")
            print("| offered cases/s | registrations p50 ms | p99 ms | failed | routed | undelivered messages | drain s | outbox lag p50 / p99 ms | Postgres transactions per case | machine CPU ms per case | sustained |")
            print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
            for (step, label) in steps.map({ ($0, "") }) + (half.map { [($0, " (50 % of the best)")] } ?? []) {
                let failed = step.failures.values.reduce(0, +)
                print("| \(step.rate)\(label) | \(f(step.latencies.p50)) | \(f(step.latencies.p99)) | \(failed) | \(step.routed)/\(step.cases) | \(step.undelivered) | \(f(seconds: step.drain)) | \(f(step.outboxLag.p50)) / \(f(step.outboxLag.p99)) | \(f(step.transactionsPerCase, digits: 1)) | \(f(step.cpuPerCase, digits: 1)) | \(step.sustained ? "yes" : "no") |")
            }
            print("")
            print("Highest sustained rate: \(best.map { "\($0) cases/s" } ?? "none of the offered rates") (target ≥ 300 cases/s).")
            print("Ceiling of the same Postgres cluster: \(Int(ceiling)) one-row insert transactions/s with \(connections) clients.")
            print("Load average after the ramp: \(Bench.loadAverage()).")
        }
    }

    func measure(_ bench: Bench, rate: Int) async throws -> Step {
        let transactionsBefore = try await bench.committedTransactions()
        let busyBefore = ProcessCPU.machineBusySeconds() ?? 0
        let started = Date()
        let load = try await bench.register(rate: rate, seconds: seconds)
        let drainStarted = ContinuousClock.now
        let routed = try await bench.waitUntilRouted(load.caseIDs, within: .seconds(drainSeconds))
        let undelivered = try await bench.waitUntilDelivered(within: .seconds(drainSeconds) - (ContinuousClock.now - drainStarted))
        let drain = ContinuousClock.now - drainStarted
        let transactions = try await bench.committedTransactions() - transactionsBefore
        let busy = (ProcessCPU.machineBusySeconds() ?? 0) - busyBefore
        let unrouted = routed == load.caseIDs.count ? [:] : try await bench.statusesOfUnrouted(load.caseIDs)
        let lag = try await bench.outboxLag(since: started)
        let failed = load.failures.values.reduce(0, +)
        return Step(
            rate: rate, latencies: load.latencies, failures: load.failures, cases: load.caseIDs.count, routed: routed, unrouted: unrouted,
            undelivered: undelivered, drain: drain, outboxLag: lag,
            transactionsPerCase: load.caseIDs.isEmpty ? 0 : Double(transactions) / Double(load.caseIDs.count),
            cpuPerCase: load.caseIDs.isEmpty ? 0 : 1000 * busy / Double(load.caseIDs.count),
            sustained: failed == 0 && routed == load.caseIDs.count && undelivered == 0 && load.latencies.p99 <= limit
        )
    }

    /// What the cluster does with the simplest write: one-row insert transactions from
    /// `connections` clients for five seconds.
    func insertCeiling() async throws -> Double {
        let database = try await PostgresCluster.shared().createDatabase(prefix: "bench_ceiling")
        let pool = PostgresPool(configuration: database, maxConnections: connections, logger: Bench.logger)
        try await pool.execute("CREATE TABLE ceiling (id bigserial PRIMARY KEY, payload text NOT NULL, at timestamptz NOT NULL DEFAULT now())")
        let deadline = ContinuousClock.now + .seconds(5)
        let started = ContinuousClock.now
        let count = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<connections {
                group.addTask {
                    var done = 0
                    while ContinuousClock.now < deadline {
                        try await pool.execute("INSERT INTO ceiling (payload) VALUES (\("a case-sized row of about a hundred bytes, as a stand-in for one registration"))")
                        done += 1
                    }
                    return done
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = ContinuousClock.now - started
        await pool.close()
        return Double(count) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }
}

/// Resident memory of each service idle and under load, and the time from launch to ready.
struct Footprint: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Memory of each service idle and under load; startup time to ready.")

    @Option(help: "Registrations per second during the loaded measurement.") var rate = 100
    @Option(help: "Seconds of load.") var seconds = 10
    @Option(help: "Keep-alive connections to the gateway.") var connections = 32

    func run() async throws {
        try await Bench.withSystem(connections: connections) { bench in
            let ready = bench.system.readyAfter
            try await Task.sleep(for: .seconds(2))
            let idle = residentMemory(bench.system)
            // What the system costs the database while nobody uses it: timers, polls, relays.
            let before = try await bench.committedTransactionsByDatabase()
            try await Task.sleep(for: .seconds(5))
            let after = try await bench.committedTransactionsByDatabase()
            let peak = Mutex<[OneStopSystem.Part: Int]>([:])
            let sampler = Task {
                while !Task.isCancelled {
                    let now = residentMemory(bench.system)
                    peak.withLock { peak in for (part, kib) in now { peak[part] = max(peak[part] ?? 0, kib) } }
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
            let load = try await bench.register(rate: rate, seconds: seconds)
            _ = try await bench.waitUntilRouted(load.caseIDs, within: .seconds(120))
            sampler.cancel()
            let loaded = peak.withLock { $0 }

            print("")
            print("| process | ready after launch, s | resident memory idle, MiB | peak under \(rate) cases/s, MiB |")
            print("| --- | ---: | ---: | ---: |")
            for part in OneStopSystem.Part.allCases {
                let readyText = ready[part].map { f(seconds: $0) } ?? "–"
                print("| \(part.rawValue) | \(readyText) | \(mib(idle[part])) | \(mib(loaded[part])) |")
            }
            print("")
            print("| database | transactions/s while idle |")
            print("| --- | ---: |")
            for (name, count) in after.sorted(by: { $0.key < $1.key }) {
                print("| \(name) | \(f(Double(count - (before[name] ?? 0)) / 5, digits: 1)) |")
            }
            print("")
            print("All seven launched together on \(ProcessInfo.processInfo.activeProcessorCount) cores, each migrating its database first. Load average: \(Bench.loadAverage()).")
        }
    }

    func residentMemory(_ system: OneStopSystem) -> [OneStopSystem.Part: Int] {
        var kib: [OneStopSystem.Part: Int] = [:]
        for part in OneStopSystem.Part.allCases {
            guard let pid = system.pid(part),
                  let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                  let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
                  let value = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { continue }
            kib[part] = value
        }
        return kib
    }

    func mib(_ kib: Int?) -> String { kib.map { String(format: "%.1f", Double($0) / 1024) } ?? "–" }
}

// MARK: The harness every subcommand uses

/// A running system, the hall set up through the API, and a keep-alive client logged in as the
/// intake officer.
struct Bench: Sendable {
    let system: OneStopSystem
    let hall: Hall
    let client: KeepAliveHTTPClient
    let intake: PostgresPool
    let notification: PostgresPool
    let cluster: PostgresPool
    let databases: [String]

    static let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })

    var officerCookie: [(String, String)] { [("Cookie", "onestop_session=\(hall.officer.cookie)")] }

    /// Bigger pools than the end-to-end tests use: the tests run many systems side by side,
    /// the benchmark one system that takes the load.
    ///
    /// Notification gets its default lease and transfer limit back: the harness shortens them so
    /// that kill tests recover in seconds, and a lease barely longer than a transfer makes every
    /// delivery renew it first, which a deployment with the defaults does not do.
    static let overrides: [OneStopSystem.Part: [String: String]] = Dictionary(
        uniqueKeysWithValues: OneStopSystem.Part.allCases.map { part in
            var settings = ["ONESTOP_DB_POOL_SIZE": "8"]
            if part == .notification {
                settings["ONESTOP_NOTIFY_LEASE_SECONDS"] = "60"
                settings["ONESTOP_NOTIFY_TIMEOUT_SECONDS"] = "30"
            }
            return (part, settings)
        }
    )

    static func withSystem(connections: Int, _ body: (Bench) async throws -> Void) async throws {
        print("# OneStop through the gateway: \(machine())")
        // Deliveries are checked in notification's database; the SMTP sink accepts every email
        // without parsing its MIME (a test's job, and a sixth of the machine at 40 cases/s).
        let system = try await OneStopSystem.start(overrides: overrides, sinksRecordContent: false)
        var pools: [PostgresPool] = []
        do {
            let hall = try await Hall.setUp(system.api)
            let client = try await KeepAliveHTTPClient(port: system.api.port, connections: connections)
            func pool(_ part: OneStopSystem.Part) throws -> PostgresPool {
                guard let url = system.databaseURL(part) else { throw ValidationError("no database for \(part.rawValue)") }
                let made = PostgresPool(configuration: PostgresConfiguration(connectionString: url), maxConnections: 2, logger: logger)
                pools.append(made)
                return made
            }
            let databases = try OneStopSystem.Part.allCases.compactMap(system.databaseURL).map { try PostgresConfiguration(connectionString: $0).parsedOptions()["dbname"] ?? "" }
            let cluster = PostgresPool(configuration: system.clusterAdministration, maxConnections: 1, logger: logger)
            pools.append(cluster)
            let bench = Bench(system: system, hall: hall, client: client, intake: try pool(.intake), notification: try pool(.notification),
                              cluster: cluster, databases: Array(Set(databases)))
            try await body(bench)
            await client.close()
        } catch {
            print(system.logs(lines: 30))
            for pool in pools { await pool.close() }
            await system.stop()
            throw error
        }
        for pool in pools { await pool.close() }
        await system.stop()
    }

    /// Counter applications on the automatic-approval path, each for a customer of its own,
    /// encoded before the clock starts (the client's JSON work is not the gateway's latency).
    static func applications(_ count: Int) throws -> [ByteBuffer] {
        try (0..<count).map { _ in
            ByteBuffer(string: try Customer.make().application(Hall.permits.serviceType, materials: Materials.residencePermit).jsonString)
        }
    }

    static func caseID(_ response: KeepAliveHTTPClient.Response) -> String? {
        try? JSON.parse(Array(response.body.readableBytesView))["caseId"]?.stringValue
    }

    /// Registers `rate` cases a second for `seconds`; the latencies and the ids answered.
    func register(rate: Int, seconds: Int) async throws -> (latencies: LatencySummary, failures: [String: Int], caseIDs: [String]) {
        let bodies = try Self.applications(rate * seconds)
        let created = Mutex<[String]>([])
        let cookie = officerCookie
        let client = client
        let load = await Self.openLoop(rate: rate, seconds: seconds) { index in
            let response = try await client.send(.POST, "/v1/cases", headers: cookie, body: bodies[index])
            guard response.status == 201 else { return "POST \(response.status)" }
            if let id = Self.caseID(response) { created.withLock { $0.append(id) } }
            return nil
        }
        return (load.latencies, load.failures, created.withLock { $0 })
    }

    /// Sends `rate` requests a second for `seconds`, each at its due time whether or not the
    /// earlier ones have answered. `operation` returns nil for a good answer, else what went wrong.
    static func openLoop(rate: Int, seconds: Int, _ operation: @escaping @Sendable (Int) async throws -> String?) async -> (latencies: LatencySummary, failures: [String: Int]) {
        await OpenLoop.run(rate: rate, count: rate * seconds, operation)
    }

    /// Waits until the cases are routed or further on (read from intake's database, so the
    /// polling does not load the gateway being measured); how many got there in time.
    func waitUntilRouted(_ ids: [String], within limit: Duration) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        let wanted = ids.compactMap(UUID.init(uuidString:))
        let deadline = ContinuousClock.now + limit
        var reached = 0
        repeat {
            let rows = try await intake.query("""
                SELECT count(*)::int8 AS n FROM cases
                WHERE id = ANY(\(wanted)) AND status IN ('routed', 'in_progress', 'info_requested', 'completed', 'closed')
                """)
            reached = Int(try rows.first?.decode(Int64.self, column: "n") ?? 0)
            if reached == wanted.count { break }
            try await Task.sleep(for: .milliseconds(250))
        } while ContinuousClock.now < deadline
        return reached
    }

    /// The statuses of the cases that have not reached routed (a person must decide, for one:
    /// the random test customers now and then share an identity number, and a second open case
    /// of the same customer is flagged for a reviewer).
    func statusesOfUnrouted(_ ids: [String]) async throws -> [String: Int] {
        let wanted = ids.compactMap(UUID.init(uuidString:))
        let rows = try await intake.query("""
            SELECT status, count(*)::int8 AS n FROM cases
            WHERE id = ANY(\(wanted)) AND status NOT IN ('routed', 'in_progress', 'info_requested', 'completed', 'closed')
            GROUP BY status
            """)
        var counts: [String: Int] = [:]
        for row in rows { counts[try row.decode(String.self, column: "status")] = Int(try row.decode(Int64.self, column: "n")) }
        return counts
    }

    /// Waits until notification has no message left to send; how many are still open then.
    func waitUntilDelivered(within limit: Duration) async throws -> Int {
        let deadline = ContinuousClock.now + max(limit, .seconds(1))
        var open = 0
        repeat {
            let rows = try await notification.query("SELECT count(*)::int8 AS n FROM notification_deliveries WHERE status IN ('pending', 'retrying')")
            open = Int(try rows.first?.decode(Int64.self, column: "n") ?? 0)
            if open == 0 { break }
            try await Task.sleep(for: .milliseconds(250))
        } while ContinuousClock.now < deadline
        return open
    }

    /// Transactions committed so far in the system's databases.
    func committedTransactions() async throws -> Int64 {
        let rows = try await cluster.query("SELECT coalesce(sum(xact_commit), 0)::int8 AS n FROM pg_stat_database WHERE datname = ANY(\(databases))")
        return try rows.first?.decode(Int64.self, column: "n") ?? 0
    }

    /// Transactions committed so far, by database.
    func committedTransactionsByDatabase() async throws -> [String: Int64] {
        let rows = try await cluster.query("SELECT datname, xact_commit FROM pg_stat_database WHERE datname = ANY(\(databases))")
        var counts: [String: Int64] = [:]
        for row in rows { counts[try row.decode(String.self, column: "datname")] = try row.decode(Int64.self, column: "xact_commit") }
        return counts
    }

    /// From a message's commit to its delivery, over intake's outbox (the first hop of every
    /// case), for messages written since `since`: p50 and p99 in ms.
    func outboxLag(since: Date) async throws -> (p50: Double, p99: Double) {
        let rows = try await intake.query("""
            SELECT coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY lag), 0)::float8 AS p50,
                   coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY lag), 0)::float8 AS p99
            FROM (SELECT extract(epoch FROM delivered_at - created_at) * 1000 AS lag FROM messaging_outbox
                  WHERE created_at >= \(since) AND delivered_at IS NOT NULL) lags
            """)
        guard let row = rows.first else { return (0, 0) }
        return (try row.decode(Double.self, column: "p50"), try row.decode(Double.self, column: "p99"))
    }

    /// CPU seconds (user + system) used so far by each part and by all of Postgres's processes.
    func cpuSeconds() -> [String: Double] {
        var result: [String: Double] = [:]
        for part in OneStopSystem.Part.allCases {
            if let pid = system.pid(part), let used = ProcessCPU.seconds(pid) { result[part.rawValue] = used }
        }
        result["postgres"] = ProcessCPU.postgresSeconds()
        return result
    }

    static func describe(_ failures: [String: Int]) -> String {
        failures.isEmpty ? "none" : failures.sorted { $0.key < $1.key }.map { "\($0.key) × \($0.value)" }.joined(separator: ", ")
    }

    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
    }

    static func machine() -> String {
        let memory = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8))?
            .split(separator: "\n").first?.split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { "\($0 / 1_048_576) GiB" } ?? "?"
        return "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(memory) memory, load \(loadAverage())"
    }
}

func ms(_ value: Double) -> String { String(format: "%.2f ms", value) }
func f(_ value: Double, digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }
func f(seconds duration: Duration) -> String { f(Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18, digits: 1) }
