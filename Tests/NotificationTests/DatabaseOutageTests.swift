import Contracts
import LineProtocol
import Postgres
import RPCTesting
import ServiceKit
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Found by the chaos run: every message the provider took while Postgres restarted was sent a
/// second time, because recording it failed and the job ran again after its lease.
@Suite("The notification process losing its database while messages are in flight")
struct DatabaseOutageTests {
    static let messages = 6

    @Test func aMessageTheProviderTookWhilePostgresWasDownIsRecordedOnceItIsBackAndNotSentAgain() async throws {
        // The SMS gateway takes 1.5 s per message: the database goes down while they are in flight.
        let sms = try await SinkProcess(script: "sms_sink.py", arguments: ["--delay-ms", "1500"])
        defer { sms.stop() }
        let cluster = try await PostgresCluster.startDedicated()
        let database = try await cluster.createDatabase(prefix: "notification_outage")
        let rpcPort = try freePort()
        let adminPort = try freePort()
        let environment = [
            "ONESTOP_DATABASE_URL": database.connectionString,
            "ONESTOP_RPC_PORT": "\(rpcPort)",
            "ONESTOP_ADMIN_PORT": "\(adminPort)",
            "ONESTOP_LOG_FORMAT": "text",
            "ONESTOP_LOG_LEVEL": "error",
            "ONESTOP_SMTP_URL": "smtp://127.0.0.1:9",
            "ONESTOP_SMS_URL": sms.url,
            "ONESTOP_SMTP_STARTTLS": "off",
            "ONESTOP_QUIET_HOURS": "off",
            // Longer than the outage: the job is still this worker's when the database is back.
            "ONESTOP_NOTIFY_LEASE_SECONDS": "20",
            "ONESTOP_NOTIFY_TIMEOUT_SECONDS": "5",
            "ONESTOP_NOTIFY_POLL_MS": "100",
            "ONESTOP_NOTIFY_CONCURRENCY": "8",
        ]
        let process = try ChildProcess(executable: "notification", arguments: [], environment: environment)
        defer { process.kill(SIGKILL) }
        let ready = ContinuousClock.now + .seconds(60)
        while (try? await HTTPTestClient.get(port: adminPort, path: "/readyz"))?.status != 200 {
            try #require(process.isRunning && ContinuousClock.now < ready, "notification did not start:\n\(process.outputSoFar.suffix(2000))")
            try await Task.sleep(for: .milliseconds(50))
        }
        let client = RPCClient(
            configuration: RPCClientConfiguration(
                serviceName: "notification", targets: [RPCTarget(host: "127.0.0.1", port: rpcPort)], callerName: "intake",
                credential: ServiceConfiguration.developmentSecret
            ),
            logger: quietLogger
        )
        for i in 0..<Self.messages {
            _ = try await client.call(NotificationSend.self, acceptedParams(
                key: "case/\(i)/accepted", phone: "+86139\(String(format: "%08d", i))", email: nil, channels: [.sms]))
        }
        await client.shutdown()

        // Postgres stops while the gateway holds the messages, and comes back after it answered.
        try await Task.sleep(for: .milliseconds(500))
        try await cluster.stopServer()
        _ = try await sms.waitForRecords(Self.messages, timeout: .seconds(20))
        try await Task.sleep(for: .seconds(1))
        try await cluster.startServer()

        let pool = PostgresPool(configuration: database, maxConnections: 1, logger: quietLogger)
        let deadline = ContinuousClock.now + .seconds(60)
        var sent: Int64 = 0
        while sent < Self.messages, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            sent = (try? await pool.query("SELECT count(*)::int8 AS n FROM notification_deliveries WHERE status = 'sent'")
                .first?.decode(Int64.self, column: "n")) ?? 0
        }
        await pool.close()
        #expect(sent == Int64(Self.messages))
        try await Task.sleep(for: .seconds(1))
        let keys = sms.records().compactMap { $0["idempotencyKey"]?.stringValue }
        #expect(keys.count == Self.messages, "the SMS gateway got \(keys.count) requests for \(Self.messages) messages")
        #expect(Set(keys).count == Self.messages)
        try? await cluster.stop()
    }
}
