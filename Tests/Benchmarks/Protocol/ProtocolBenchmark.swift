import ArgumentParser
import JSONCoding
import LineProtocol
import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The echo method measured: a ~200-byte JSON payload each way.
enum BenchEcho: RPCMethod {
    struct Params: Codable, Sendable {
        var caseId: String
        var tracking: String
        var serviceType: String
        var channel: String
        var priority: String
        var note: String
        var materials: [String]
        var sequence: Int
    }
    typealias Result = Params
    static let name = "bench.echo"
}

@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "onestop-bench",
        abstract: "OneStop benchmarks (build with -c release).",
        subcommands: [ProtocolCommand.self]
    )
}

struct ProtocolCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "protocol",
        abstract: "Line protocol echo: requests/s, p50, p99 and CPU per request at 1×1, 1×64 and 16×32."
    )

    @Option(help: "Seconds measured per scenario (after a warm-up of a quarter of it).")
    var seconds: Double = 5

    @Option(help: "Write the results as JSON to this file.")
    var json: String?

    @Option(help: "Scenarios as CONNECTIONSxIN_FLIGHT, comma-separated.")
    var scenarios: String = "1x1,1x64,16x32"

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        var table = RPCMethodTable()
        table.register(BenchEcho.self) { params, _ in params }
        let server = RPCServer(
            configuration: RPCServerConfiguration(serviceName: "bench", credential: "benchmark-shared-secret"),
            methods: table,
            logger: logger
        )
        let port = try await server.start().port!
        let sample = BenchEcho.Params(
            caseId: "0193a6f2-7c1e-7d4a-9b1f-3c2d4e5f6a7b", tracking: "SQ20261123000123K",
            serviceType: "business-license", channel: "counter", priority: "regular",
            note: "applicant brought originals", materials: ["id-card", "lease-contract", "photo"], sequence: 0
        )
        let payloadBytes = try JSONValueEncoder().encode(sample).serialized().count

        var results: [ScenarioResult] = []
        for scenario in scenarios.split(separator: ",") {
            let parts = scenario.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2 else { throw ValidationError("scenario \(scenario) must look like 16x32") }
            results.append(try await measure(connections: parts[0], inFlight: parts[1], port: port, sample: sample, logger: logger))
        }
        await server.shutdown(gracePeriod: .seconds(1))

        print("\nLine protocol echo, \(payloadBytes)-byte params, client and server in one process on \(System.coreCount) cores, \(seconds) s per scenario\n")
        print("| connections × in flight | requests/s | p50 µs | p99 µs | CPU µs/request |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for result in results {
            print("| \(result.connections) × \(result.inFlight) | \(Int(result.requestsPerSecond)) | \(format(result.p50Microseconds)) | \(format(result.p99Microseconds)) | \(format(result.cpuMicrosecondsPerRequest)) |")
        }

        if let json {
            let data = try JSONEncoder().encode(results)
            try data.write(to: URL(fileURLWithPath: json))
        }
    }

    private func format(_ value: Double) -> String { String(format: "%.1f", value) }

    private func measure(connections: Int, inFlight: Int, port: Int, sample: BenchEcho.Params, logger: Logger) async throws -> ScenarioResult {
        let clients = (0..<connections).map { _ in
            RPCClient(
                configuration: RPCClientConfiguration(
                    serviceName: "bench",
                    targets: [RPCTarget(host: "127.0.0.1", port: port)],
                    callerName: "bench",
                    credential: "benchmark-shared-secret",
                    connectionsPerTarget: 1
                ),
                logger: logger
            )
        }
        for client in clients { _ = try await client.call(SysPing.self, RPCEmpty()) }

        let warmUp = Duration.milliseconds(Int64(seconds * 250))
        let measured = Duration.milliseconds(Int64(seconds * 1000))
        let start = ContinuousClock.now
        let measureFrom = start + warmUp
        let end = measureFrom + measured
        let cpuBefore = CPUClock.now()
        let latencies = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for client in clients {
                for worker in 0..<inFlight {
                    group.addTask {
                        var samples: [UInt64] = []
                        samples.reserveCapacity(200_000)
                        var params = sample
                        params.sequence = worker
                        while true {
                            let sent = ContinuousClock.now
                            if sent >= end { break }
                            _ = try await client.call(BenchEcho.self, params)
                            if sent >= measureFrom {
                                let elapsed = ContinuousClock.now - sent
                                samples.append(UInt64(elapsed.components.attoseconds / 1_000_000_000) + UInt64(elapsed.components.seconds) * 1_000_000_000)
                            }
                        }
                        return samples
                    }
                }
            }
            var all: [UInt64] = []
            for try await samples in group { all.append(contentsOf: samples) }
            return all
        }
        // CPU is counted over the whole run, warm-up included, against all requests.
        let cpuSeconds = CPUClock.now() - cpuBefore
        let totalSeconds = Double((ContinuousClock.now - start).components.seconds) + Double((ContinuousClock.now - start).components.attoseconds) / 1e18
        for client in clients { await client.shutdown() }
        let sorted = latencies.sorted()
        func percentile(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            return Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1000
        }
        let measuredSeconds = Double(measured.components.seconds) + Double(measured.components.attoseconds) / 1e18
        let rate = Double(sorted.count) / measuredSeconds
        let estimatedTotal = rate * totalSeconds
        return ScenarioResult(
            connections: connections,
            inFlight: inFlight,
            requests: sorted.count,
            requestsPerSecond: rate,
            p50Microseconds: percentile(0.50),
            p99Microseconds: percentile(0.99),
            cpuMicrosecondsPerRequest: estimatedTotal > 0 ? cpuSeconds * 1e6 / estimatedTotal : 0
        )
    }
}

struct ScenarioResult: Codable {
    let connections: Int
    let inFlight: Int
    let requests: Int
    let requestsPerSecond: Double
    let p50Microseconds: Double
    let p99Microseconds: Double
    let cpuMicrosecondsPerRequest: Double
}

/// Process CPU time (user + system), seconds.
enum CPUClock {
    static func now() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }
}
