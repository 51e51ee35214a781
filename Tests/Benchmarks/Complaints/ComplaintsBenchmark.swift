import ArgumentParser
import ComplaintsService
import Contracts
import LineProtocol
import Logging
import ServiceKit
import Synchronization
import TestSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Filing throughput: `complaints.file` calls over the line protocol to a complaints service
/// booted in-process on a throwaway database. Every filing names a case, so the service asks a
/// routing peer (a line-protocol server greeted with the service credential, answering
/// `routing.caseAssignment` like routing) before filing; without a peer each filing would wait for
/// the routing timeout instead. The notification peer is unreachable, so acknowledgements stay in
/// the outbox and do not compete for the CPU.
@main
struct ComplaintsBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "onestop-bench-complaints",
        abstract: "complaints.file throughput and latency (p50, p99) at several concurrency levels."
    )

    @Option(help: "Seconds measured per scenario.")
    var seconds: Double = 5

    @Option(help: "Calls in flight, comma-separated.")
    var concurrency: String = "1,8,32"

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let database = try await PostgresCluster.shared().createDatabase(prefix: "bench_complaints")
        let routing = RoutingPeer(credential: ServiceConfiguration.developmentSecret, logger: logger)
        let routingPort = try await routing.server.start().port!
        var configuration = ServiceConfiguration.forTesting(
            service: .complaints, databaseURL: database.connectionString,
            peers: [.notification: [RPCTarget(host: "127.0.0.1", port: 1)], .routing: [RPCTarget(host: "127.0.0.1", port: routingPort)]]
        )
        configuration.databasePoolSize = 16
        let app = ServiceApp(definition: ComplaintsService.definition(configuration: { try ComplaintsConfiguration.defaults }), configuration: configuration, logger: logger)
        let levels = concurrency.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let duration = seconds
        let (addresses, ready) = AsyncStream<ServiceAddresses>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run { ready.yield($0) } }
            var iterator = addresses.makeAsyncIterator()
            guard let address = await iterator.next() else { return }
            var clientConfiguration = configuration.clientConfiguration(for: .complaints)
            clientConfiguration.targets = [address.rpcTarget]
            let client = RPCClient(configuration: clientConfiguration, logger: logger)
            var rows: [String] = []
            let counter = Counter()
            for level in levels {
                let result = try await Self.measure(client: client, inFlight: level, seconds: duration, counter: counter)
                rows.append(result)
            }
            await client.shutdown()
            let table = (["| in flight | filings/s | p50 ms | p99 ms | errors |", "| ---: | ---: | ---: | ---: | ---: |"] + rows)
                .joined(separator: "\n") + "\n"
            let filed = counter.value.load(ordering: .relaxed)
            let lookups = routing.lookups.value.load(ordering: .relaxed)
            let footer = "routing.caseAssignment answered \(lookups) lookups for \(filed) filings; load average \(Self.loadAverage())\n"
            FileHandle.standardOutput.write(Data((table + footer).utf8))
            await app.triggerGracefulShutdown()
            try await group.waitForAll()
            await routing.server.shutdown(gracePeriod: .zero)
        }
    }

    /// The 1, 5 and 15 minute load averages (the machine is shared; figures depend on them).
    static func loadAverage() -> String {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "unknown" }
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }

    /// Routing as the complaints service sees it when filing: every benchmark case is routed to
    /// one of two departments with a handler, one in twenty past its due date (which makes the
    /// complaint major and escalates it, as in production).
    final class RoutingPeer: Sendable {
        let server: RPCServer
        let lookups: Counter

        init(credential: String, logger: Logger) {
            var methods = RPCMethodTable()
            let lookups = Counter()
            self.lookups = lookups
            methods.register(RoutingCaseAssignment.self) { params, _ in
                _ = lookups.next()
                guard let tracking = params.trackingNumber, let n = Int(tracking.suffix(4)) else {
                    throw RPCError.notFound("routing holds no case \(params.trackingNumber ?? params.caseId ?? "")")
                }
                let tax = n.isMultiple(of: 2)
                return RoutingCaseAssignment.Result(
                    caseId: "case-\(tracking)", trackingNumber: tracking, department: tax ? "tax" : "civil_affairs",
                    departmentName: tax ? "税务科" : "民政科", handler: StaffRef(id: "handler-\(n % 50)", role: "handler"),
                    dueDate: "2026-11-30", overdue: n.isMultiple(of: 20), status: .inProgress
                )
            }
            server = RPCServer(
                configuration: RPCServerConfiguration(serviceName: "routing", credential: credential, maxInFlightPerConnection: 1024),
                methods: methods, logger: logger
            )
        }
    }

    final class Counter: Sendable {
        let value = Atomic<Int>(0)
        func next() -> Int { value.add(1, ordering: .relaxed).newValue }
    }

    static func measure(client: RPCClient, inFlight: Int, seconds: Double, counter: Counter) async throws -> String {
        let end = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        let results = try await withThrowingTaskGroup(of: ([Double], Int).self) { group in
            for _ in 0..<inFlight {
                group.addTask {
                    var latencies: [Double] = []
                    var errors = 0
                    while ContinuousClock.now < end {
                        let n = counter.next()
                        let phone = "139" + String(format: "%08d", n % 100_000_000)
                        let params = ComplaintsFile.Params(
                            complainant: ComplainantInput(name: "Bench \(n)", phone: phone),
                            channel: .online,
                            content: "The waiting time at the counter was too long and nobody explained why (\(n)).",
                            caseTrackingNumber: "SQ202611230" + String(format: "%05d", n % 100_000)
                        )
                        let start = ContinuousClock.now
                        do {
                            _ = try await client.call(ComplaintsFile.self, params)
                            let elapsed = ContinuousClock.now - start
                            latencies.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
                        } catch {
                            errors += 1
                        }
                    }
                    return (latencies, errors)
                }
            }
            var all: [Double] = []
            var errors = 0
            for try await (latencies, failed) in group {
                all += latencies
                errors += failed
            }
            return (all.sorted(), errors)
        }
        let (latencies, errors) = results
        func percentile(_ p: Double) -> Double {
            guard !latencies.isEmpty else { return 0 }
            return latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
        }
        let rate = Double(latencies.count) / seconds
        return String(format: "| %d | %.0f | %.2f | %.2f | %d |", inFlight, rate, percentile(0.5), percentile(0.99), errors)
    }
}
