import ArgumentParser
import Contracts
import JSONCoding
import NIOCore
import Synchronization
import SystemHarness
import TestSupport

#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The gateway's targets, measured through the public HTTP API with every service running as
/// its own process (the end-to-end harness: one Postgres cluster, a database per service, real
/// SMTP and SMS sinks): `GET /v1/cases/{id}` p99 < 10 ms at 500 requests/s, and
/// `POST /v1/cases` (a counter registration) p99 < 30 ms at 200/s. Both open loop: requests
/// leave at a constant rate whatever the answers do, and latency counts from the moment a
/// request was due, so a slow answer cannot hide the requests queued behind it.
///
///     swift build -c release && swift run -c release onestop-bench-gateway
@main
struct GatewayBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "onestop-bench-gateway", abstract: "Benchmark reading and registering cases through the gateway."
    )

    @Option(help: "GET /v1/cases/{id} requests per second offered.") var readRate = 500
    @Option(help: "POST /v1/cases registrations per second offered.") var registerRate = 200
    @Option(help: "Seconds each measured phase lasts.") var seconds = 10
    @Option(help: "Runs of both phases; the table gives the median and the range.") var runs = 3
    @Option(help: "Keep-alive connections to the gateway.") var connections = 32
    @Option(help: "Seconds to wait, after the last run, for every registered case to reach routed.") var drainSeconds = 180

    func run() async throws {
        print("# Gateway benchmark: \(machine())")
        let system = try await OneStopSystem.start(overrides: Self.overrides)
        do {
            try await measure(system)
        } catch {
            print(system.logs(lines: 30))
            await system.stop()
            throw error
        }
        await system.stop()
    }

    /// Bigger pools than the end-to-end tests use: the tests run many systems side by side,
    /// the benchmark one system that takes the load.
    static let overrides: [OneStopSystem.Part: [String: String]] = Dictionary(
        uniqueKeysWithValues: OneStopSystem.Part.allCases.map { ($0, ["ONESTOP_DB_POOL_SIZE": "8"]) }
    )

    func measure(_ system: OneStopSystem) async throws {
        let hall = try await Hall.setUp(system.api)
        let client = try await KeepAliveHTTPClient(port: system.api.port, connections: connections)
        let cookie = [("Cookie", "onestop_session=\(hall.officer.cookie)")]

        // Cases to read: registered before the clock starts, read round-robin.
        var caseIDs: [String] = []
        for _ in 0..<200 {
            let application = try Customer.make().application(Hall.permits.serviceType, materials: Materials.residencePermit)
            caseIDs.append(try await system.api.call("POST", "/v1/cases", application, as: hall.officer, expecting: 201)
                .decode(IntakeRegisterCase.Result.self).caseId)
        }
        let readPaths = caseIDs.map { "/v1/cases/\($0)" }

        var reads: [LatencySummary] = []
        var registrations: [LatencySummary] = []
        var failures: [String: Int] = [:]
        var registered: [String] = []
        for run in 1...runs {
            let read = await openLoop(rate: readRate) { index in
                let response = try await client.send(.GET, readPaths[index % readPaths.count], headers: cookie)
                return response.status == 200 ? nil : "GET \(response.status)"
            }
            // Bodies are encoded before the clock starts: the client's JSON work is not the gateway's latency.
            let bodies = try (0..<(registerRate * seconds)).map { _ in
                ByteBuffer(string: try Customer.make().application(Hall.permits.serviceType, materials: Materials.residencePermit).jsonString)
            }
            let created = Created()
            let register = await openLoop(rate: registerRate) { index in
                let response = try await client.send(.POST, "/v1/cases", headers: cookie, body: bodies[index])
                guard response.status == 201 else { return "POST \(response.status)" }
                if let id = try? JSON.parse(Array(response.body.readableBytesView))["caseId"]?.stringValue { created.add(id) }
                return nil
            }
            reads.append(read.latencies)
            registrations.append(register.latencies)
            failures.merge(read.failures) { $0 + $1 }
            failures.merge(register.failures) { $0 + $1 }
            registered += created.ids
            print("run \(run): GET p50 \(ms(read.latencies.p50)) p99 \(ms(read.latencies.p99)) · POST p50 \(ms(register.latencies.p50)) p99 \(ms(register.latencies.p99)) · load \(loadAverage())")
        }

        let routed = try await waitUntilRouted(registered, client: client, cookie: cookie)
        await client.close()

        print("")
        print("| measurement (\(runs) runs of \(seconds) s, open loop) | requests | p50 ms | p99 ms | max ms | target |")
        print("| --- | ---: | ---: | ---: | ---: | --- |")
        print(row("GET /v1/cases/{id} at \(readRate)/s", reads, target: "p99 < 10 ms"))
        print(row("POST /v1/cases at \(registerRate)/s", registrations, target: "p99 < 30 ms"))
        print("")
        print("Failed requests: \(failures.isEmpty ? "none" : failures.sorted { $0.key < $1.key }.map { "\($0.key) × \($0.value)" }.joined(separator: ", ")).")
        print("Registered during the runs: \(registered.count); reached routed within \(drainSeconds) s: \(routed).")
        print("Load average after the runs: \(loadAverage()).")
    }

    func row(_ name: String, _ summaries: [LatencySummary], target: String) -> String {
        let count = summaries.reduce(0) { $0 + $1.count }
        return "| \(name) | \(count) | \(RunSpread(summaries.map(\.p50))) | \(RunSpread(summaries.map(\.p99))) | \(RunSpread(summaries.map(\.max))) | \(target) |"
    }

    /// Sends `rate` requests a second for `seconds`, each at its due time whether or not the
    /// earlier ones have answered. `operation` returns nil for a good answer, else what went wrong.
    func openLoop(rate: Int, _ operation: @escaping @Sendable (Int) async throws -> String?) async -> (latencies: LatencySummary, failures: [String: Int]) {
        let total = rate * seconds
        let interval = Duration.nanoseconds(1_000_000_000 / Int64(rate))
        let start = ContinuousClock.now + .milliseconds(50)
        return await withTaskGroup(of: (Double, String?).self) { group in
            for index in 0..<total {
                let due = start + interval * index
                try? await Task.sleep(until: due, tolerance: .microseconds(100), clock: .continuous)
                group.addTask {
                    let failure: String?
                    do { failure = try await operation(index) } catch { failure = "\(type(of: error))" }
                    return (Double((ContinuousClock.now - due) / .microseconds(1)) / 1000, failure)
                }
            }
            var latencies: [Double] = []
            var failures: [String: Int] = [:]
            for await (latency, failure) in group {
                if let failure { failures[failure, default: 0] += 1 } else { latencies.append(latency) }
            }
            return (LatencySummary(latencies), failures)
        }
    }

    /// Polls the registered cases until each is routed (the automatic-approval path), or the time is up.
    func waitUntilRouted(_ ids: [String], client: KeepAliveHTTPClient, cookie: [(String, String)]) async throws -> Int {
        var pending = Set(ids)
        let deadline = ContinuousClock.now + .seconds(drainSeconds)
        while !pending.isEmpty, ContinuousClock.now < deadline {
            for id in pending {
                let response = try await client.send(.GET, "/v1/cases/\(id)", headers: cookie)
                let status = try? JSON.parse(Array(response.body.readableBytesView))["status"]?.stringValue
                if let status, [CaseStatus.routed, .inProgress, .completed].map(\.rawValue).contains(status) { pending.remove(id) }
            }
            if !pending.isEmpty { try await Task.sleep(for: .seconds(1)) }
        }
        return ids.count - pending.count
    }

    func ms(_ value: Double) -> String { String(format: "%.2f ms", value) }

    func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
    }

    func machine() -> String {
        let memory = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8))?
            .split(separator: "\n").first?.split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { "\($0 / 1_048_576) GiB" } ?? "?"
        return "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(memory) memory, load \(loadAverage())"
    }
}

/// Case ids answered by the registrations of one run.
final class Created: Sendable {
    private let box = Mutex<[String]>([])
    func add(_ id: String) { box.withLock { $0.append(id) } }
    var ids: [String] { box.withLock { $0 } }
}
