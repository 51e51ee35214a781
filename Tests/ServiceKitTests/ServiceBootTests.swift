import ComplaintsService
import Contracts
import GatewayService
import IntakeService
import LineProtocol
import Logging
import NotificationService
import Postgres
import ReviewService
import RoutingService
import ServiceKit
import Testing
import RPCTesting
import TestSupport

@Suite("Every service boots, migrates and answers")
struct ServiceBootTests {
    static let definitions: [ServiceDefinition] = [
        GatewayService.definition(environment: ["ONESTOP_GATEWAY_HTTP_PORT": "0"]), IntakeService.definition, ReviewService.definition,
        RoutingService.definition, NotificationService.definition, ComplaintsService.definition,
    ]

    private static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test(arguments: definitions.map(\.service))
    func serviceBootsAndAnswersBuiltIns(service: OneStopService) async throws {
        let definition = try #require(Self.definitions.first { $0.service == service })
        let database = try await PostgresCluster.shared().createDatabase(prefix: service.rawValue)
        let configuration = ServiceConfiguration.forTesting(service: service, databaseURL: database.connectionString)
        let app = ServiceApp(definition: definition, configuration: configuration, logger: Self.logger)
        let (addresses, readyContinuation) = AsyncStream<ServiceAddresses>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await app.run { readyContinuation.yield($0) }
            }
            var iterator = addresses.makeAsyncIterator()
            let ready = try #require(await iterator.next())

            let client = RPCClient(configuration: configuration.clientConfiguration(for: service).with(targets: [ready.rpcTarget]), logger: Self.logger)
            let health = try await client.call(SysHealth.self, RPCEmpty())
            #expect(health.status == "ok")
            let describe = try await client.call(SysDescribe.self, RPCEmpty())
            #expect(describe.service == service.rawValue)
            await client.shutdown()

            let readyz = try await HTTPTestClient.get(port: ready.admin.port!, path: "/readyz")
            #expect(readyz.status == 200)
            let metrics = try await HTTPTestClient.get(port: ready.admin.port!, path: "/metrics")
            #expect(metrics.status == 200)

            // Migrations are recorded in the service's own database.
            let pool = PostgresPool(configuration: database, maxConnections: 1, logger: Self.logger)
            let tables = try await pool.query("SELECT count(*)::int8 AS n FROM information_schema.tables WHERE table_name = 'schema_migrations'")
            #expect(try tables.first?.decode(Int64.self, column: "n") == 1)
            await pool.close()

            await app.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }

    @Test func readinessIsRedWhileTheDatabaseIsUnreachable() async throws {
        // Nothing listens on port 1: the service keeps retrying its migrations.
        let configuration = ServiceConfiguration.forTesting(service: .intake, databaseURL: "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")
        let app = ServiceApp(definition: IntakeService.definition, configuration: configuration, logger: Self.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            var adminPort: Int?
            for _ in 0..<100 where adminPort == nil {
                adminPort = app.adminAddress?.port
                try await Task.sleep(for: .milliseconds(50))
            }
            let port = try #require(adminPort)
            #expect(try await HTTPTestClient.get(port: port, path: "/healthz").status == 200)
            let readyz = try await HTTPTestClient.get(port: port, path: "/readyz")
            #expect(readyz.status == 503)
            #expect(readyz.body.contains("database"))
            await app.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }
}

extension RPCClientConfiguration {
    func with(targets: [RPCTarget]) -> RPCClientConfiguration {
        var copy = self
        copy.targets = targets
        return copy
    }
}
