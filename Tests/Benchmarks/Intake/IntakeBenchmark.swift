import ArgumentParser
import Contracts
import IntakeService
import LineProtocol
import Logging
import Postgres
import ServiceKit
import Synchronization
import TestSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Intake's targets: `registerCase` p99 < 10 ms at 200 registrations/s (open loop), and the
/// customer's lookup by tracking number p99 < 2 ms with 1,000,000 cases in the table.
///
///     swift run -c release onestop-bench-intake
@main
struct IntakeBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "onestop-bench-intake", abstract: "Benchmark intake registration and lookup.")

    @Option(help: "Registrations per second offered.") var rate = 200
    @Option(help: "Seconds of registrations.") var seconds = 10
    @Option(parsing: .upToNextOption, help: "Cases in the table for each lookup run (the table grows from one to the next).")
    var cases: [Int] = [10_000, 100_000, 1_000_000]
    @Option(help: "Lookups measured.") var lookups = 5_000

    static let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })

    func run() async throws {
        let database = try await PostgresCluster.shared().createDatabase(prefix: "bench_intake")
        var configuration = ServiceConfiguration.forTesting(service: .intake, databaseURL: database.connectionString)
        configuration.databasePoolSize = 16
        // Peers that answer, as deployed: with peers that refuse connections, the relay's retries
        // of every accepted case's messages wrote to intake's database during the run and were
        // measured as registration latency.
        let peers = try await PeerStub(credential: configuration.serviceSecret)
        for peer in OneStopService.allCases where peer != .intake { configuration.peers[peer] = [peers.target] }
        let app = ServiceApp(definition: IntakeService.definition(environment: [:]), configuration: configuration, logger: Self.logger)
        let (addresses, ready) = AsyncStream<ServiceAddresses>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run { ready.yield($0) } }
            var iterator = addresses.makeAsyncIterator()
            guard let started = await iterator.next() else { throw ValidationError("intake did not start") }
            var clientConfiguration = configuration.clientConfiguration(for: .intake)
            clientConfiguration.targets = [started.rpcTarget]
            clientConfiguration.connectionsPerTarget = 4
            let client = RPCClient(configuration: clientConfiguration, logger: Self.logger)
            let pool = PostgresPool(configuration: database, maxConnections: 4, logger: Self.logger)

            let register = try await registrations(client)
            let lookupsBySize = try await lookupsByTrackingNumber(client, pool: pool)
            print("| measurement | p50 ms | p99 ms | max ms | target |")
            print("| --- | ---: | ---: | ---: | --- |")
            print("| registerCase at \(rate)/s for \(seconds) s (\(register.count) calls, open loop) | \(f(register.p50)) | \(f(register.p99)) | \(f(register.max)) | p99 < 10 ms |")
            for (size, lookup) in lookupsBySize {
                print("| trackCase by tracking number, \(size) cases in the table (\(lookup.count) calls) | \(f(lookup.p50)) | \(f(lookup.p99)) | \(f(lookup.max)) | p99 < 2 ms |")
            }
            fflush(nil)
            await client.shutdown()
            await pool.close()
            await app.triggerGracefulShutdown()
            try await group.waitForAll()
        }
        print("(peers acknowledged \(peers.deliveries) outbox deliveries)")
        await peers.server.shutdown()
    }

    /// Review and notification as intake sees them: `review.submit` and `notification.send`
    /// acknowledged at once, so outbox rows are delivered and marked instead of retried.
    final class PeerStub: Sendable {
        let server: RPCServer
        let target: RPCTarget

        init(credential: String) async throws {
            let received = Count()
            var methods = RPCMethodTable()
            for name in [ReviewSubmit.name, NotificationSend.name] {
                methods.register(name: name, idempotent: true) { _, _ in
                    received.value.add(1, ordering: .relaxed)
                    return ["accepted": true]
                }
            }
            let server = RPCServer(configuration: RPCServerConfiguration(serviceName: "peers", credential: credential, maxInFlightPerConnection: 1024),
                                   methods: methods, logger: IntakeBenchmark.logger)
            let port = try await server.start().port!
            self.server = server
            self.target = RPCTarget(host: "127.0.0.1", port: port)
            self.count = received
        }

        private let count: Count
        var deliveries: Int { count.value.load(ordering: .relaxed) }

        final class Count: Sendable { let value = Atomic<Int>(0) }
    }

    func f(_ value: Double) -> String { String(format: "%.2f", value) }

    final class Samples: Sendable {
        let values = Mutex<[Double]>([])
    }

    static let officer = RPCMeta(actor: RPCActor(id: "officer-bench", roles: ["intake_officer"]))

    static func application(_ index: Int) -> IntakeRegisterCase.Params {
        IntakeRegisterCase.Params(
            channel: .counter, serviceType: "residence_permit", applicantType: .individual,
            applicant: IdentityInput(name: "测试\(index)", idType: "resident_id", idNumber: "11010519491231002X"),
            contact: ContactInput(phone: "13812345678", email: "bench@example.com"),
            description: "基准测试申请 \(index)",
            materials: [MaterialItem(code: "id_card"), MaterialItem(code: "photo", copies: 2), MaterialItem(code: "residence_proof", original: false)]
        )
    }

    func registrations(_ client: RPCClient) async throws -> LatencySummary {
        // Warm the catalog and the connections.
        for index in 0..<20 { _ = try await client.call(IntakeRegisterCase.self, Self.application(-index), meta: Self.officer) }
        let samples = Samples()
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<(rate * seconds) {
                let due = start + .nanoseconds(Int64(index) * 1_000_000_000 / Int64(rate))
                try await ContinuousClock().sleep(until: due)
                group.addTask {
                    _ = try await client.call(IntakeRegisterCase.self, Self.application(index), meta: Self.officer)
                    // Latency from when the call was due, so a stalled sender does not hide delay.
                    let elapsed = ContinuousClock.now - due
                    samples.values.withLock { $0.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000) }
                }
            }
            try await group.waitForAll()
        }
        return LatencySummary(samples.values.withLock { $0 })
    }

    /// Lookups at each table size in `cases`, growing the table in between.
    func lookupsByTrackingNumber(_ client: RPCClient, pool: PostgresPool) async throws -> [(size: Int, latency: LatencySummary)] {
        // One real case gives a valid access-code hash; synthetic rows share it, so every
        // lookup runs the full path: format check, index lookup, hash compare, timeline read.
        let real = try await client.call(IntakeRegisterCase.self, Self.application(0), meta: Self.officer)
        let code = real.accessCode!
        var synthetic = 0
        var results: [(size: Int, latency: LatencySummary)] = []
        for size in cases.sorted() {
            let existing = try await pool.query("SELECT count(*)::int8 AS n FROM cases")[0].decode(Int64.self, column: "n")
            let missing = size - Int(existing)
            // Tracking numbers of a past day, sequence n, check character computed in SQL would
            // be long-winded: the bench computes them in Swift in chunks.
            let chunk = 20_000
            var made = 0
            while made < missing {
                let count = min(chunk, missing - made)
                let numbers = (synthetic..<(synthetic + count)).map { TrackingNumberForBench.make(sequence: $0) }
                try await pool.execute("""
                    INSERT INTO cases (id, tracking_number, access_code_hash, service_type, channel, applicant_type, customer_name, id_type,
                        id_number_cipher, id_number_hash, id_number_masked, key_id, locale, description, priority, confidentiality,
                        status, owner_id, department, materials, registered_at)
                    SELECT gen_random_uuid(), t, c.access_code_hash, c.service_type, c.channel, c.applicant_type, c.customer_name, c.id_type,
                        c.id_number_cipher, c.id_number_hash, c.id_number_masked, c.key_id, c.locale, c.description, c.priority,
                        c.confidentiality, c.status, c.owner_id, c.department, c.materials, c.registered_at
                    FROM unnest(\(numbers)::text[]) AS t, (SELECT * FROM cases WHERE tracking_number = \(real.trackingNumber)) AS c
                    """)
                made += count
                synthetic += count
            }
            if missing > 0 { try await pool.execute("ANALYZE cases") }
            guard synthetic > 0 else { throw ValidationError("the table already holds \(existing) cases; ask for more than that") }
            var samples: [Double] = []
            samples.reserveCapacity(lookups)
            let clock = ContinuousClock()
            for index in 0..<lookups {
                let number = TrackingNumberForBench.make(sequence: (index * 7919) % synthetic)
                let started = clock.now
                _ = try await client.call(IntakeTrackCase.self, CustomerCredentials(trackingNumber: number, accessCode: code))
                let elapsed = clock.now - started
                samples.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
            }
            results.append((Int(max(existing, Int64(size))), LatencySummary(samples)))
        }
        return results
    }
}

/// Tracking numbers of 2020-01-01 (so they never collide with today's), with the MOD 37,36
/// check character intake expects.
enum TrackingNumberForBench {
    static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")

    static func make(sequence: Int) -> String {
        let digits = "20200101" + String(format: "%07d", sequence)
        var product = 36
        for character in digits {
            var sum = (product + alphabet.firstIndex(of: character)!) % 36
            if sum == 0 { sum = 36 }
            product = (sum * 2) % 37
        }
        return "20200101-" + String(digits.dropFirst(8)) + "-" + String(alphabet[(37 - product) % 36])
    }
}
