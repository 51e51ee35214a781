import Contracts
import JSONCoding
import LineProtocol
import Logging
import Postgres
import RPCTesting
import ServiceKit
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif
import Foundation

@Suite("The notification process killed during a backlog")
struct CrashTests {
    static let messages = 150

    @Test func afterSIGKILLAndRestartEveryMessageIsDeliveredAndDuplicatesAreRare() async throws {
        let smtp = try await SinkProcess(script: "smtp_sink.py")
        let sms = try await SinkProcess(script: "sms_sink.py", arguments: ["--delay-ms", "15"])
        defer {
            smtp.stop()
            sms.stop()
        }
        let database = try await PostgresCluster.shared().createDatabase(prefix: "notification_crash")
        let rpcPort = try freePort()
        let adminPort = try freePort()
        let environment = [
            "ONESTOP_DATABASE_URL": database.connectionString,
            "ONESTOP_RPC_PORT": "\(rpcPort)",
            "ONESTOP_ADMIN_PORT": "\(adminPort)",
            "ONESTOP_LOG_FORMAT": "text",
            "ONESTOP_LOG_LEVEL": "error",
            "ONESTOP_SMTP_URL": smtp.smtpURL,
            "ONESTOP_SMS_URL": sms.url,
            "ONESTOP_SMTP_STARTTLS": "off",
            "ONESTOP_QUIET_HOURS": "off",
            "ONESTOP_NOTIFY_LEASE_SECONDS": "3",
            "ONESTOP_NOTIFY_TIMEOUT_SECONDS": "2",
            "ONESTOP_NOTIFY_BACKOFF_MS": "100",
            "ONESTOP_NOTIFY_MAX_BACKOFF_MS": "1000",
            "ONESTOP_NOTIFY_POLL_MS": "100",
            "ONESTOP_NOTIFY_CONCURRENCY": "8",
        ]
        func start() async throws -> ChildProcess {
            let process = try ChildProcess(executable: "notification", arguments: [], environment: environment)
            let deadline = ContinuousClock.now + .seconds(60)
            while (try? await HTTPTestClient.get(port: adminPort, path: "/readyz"))?.status != 200 {
                guard process.isRunning, ContinuousClock.now < deadline else {
                    throw SinkError(description: "notification did not become ready:\n\(process.outputSoFar.suffix(2000))")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            return process
        }

        var process = try await start()
        let client = RPCClient(
            configuration: RPCClientConfiguration(
                serviceName: "notification", targets: [RPCTarget(host: "127.0.0.1", port: rpcPort)], callerName: "intake",
                credential: ServiceConfiguration.developmentSecret
            ),
            logger: quietLogger
        )
        for i in 0..<Self.messages {
            _ = try await client.call(NotificationSend.self, acceptedParams(
                key: "case/\(i)/accepted", phone: "+86139\(String(format: "%08d", i))", email: "customer\(i)@example.org"))
        }
        // Two kills, each in the middle of the backlog.
        for round in 1...2 {
            try await sms.waitForRecords(round * Self.messages / 3, timeout: .seconds(60))
            process.kill(SIGKILL)
            await process.waitForExit()
            process = try await start()
        }
        await client.shutdown()

        let pool = PostgresPool(configuration: database, maxConnections: 1, logger: quietLogger)
        let deadline = ContinuousClock.now + .seconds(120)
        var open: Int64 = -1
        while open != 0 {
            let rows = try await pool.query("SELECT count(*)::int8 AS n FROM notification_deliveries WHERE status <> 'sent'")
            open = try rows.first?.decode(Int64.self, column: "n") ?? -1
            if open != 0 {
                guard ContinuousClock.now < deadline else { break }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(open == 0, "\(open) deliveries never reached sent")
        let sent = try await pool.query("SELECT count(*)::int8 AS n FROM notification_deliveries WHERE status = 'sent'")
        #expect(try sent.first?.decode(Int64.self, column: "n") == Int64(2 * Self.messages))
        await pool.close()
        process.kill(SIGTERM)
        await process.waitForExit()

        let smsAccepted = sms.records().filter { $0["status"]?.intValue == 200 }.compactMap { $0["idempotencyKey"]?.stringValue }
        let mails = try await smtp.waitForRecords(Self.messages).compactMap { $0["messageId"]?.stringValue }
        let smsDuplicates = smsAccepted.count - Set(smsAccepted).count
        let mailDuplicates = mails.count - Set(mails).count
        print("notification crash test: \(Self.messages) keys, 2 SIGKILLs; SMS accepted \(smsAccepted.count) (\(smsDuplicates) duplicates), emails \(mails.count) (\(mailDuplicates) duplicates)")
        #expect(Set(smsAccepted).count == Self.messages)
        #expect(Set(mails).count == Self.messages)
        // Duplicates only from transfers in flight at a kill: at most the concurrency per kill.
        #expect(smsDuplicates + mailDuplicates <= 2 * 8)
    }
}

/// A port free right now (bound to port 0 and released).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
            guard bind(fd, pointer, length) == 0 else { return -1 }
            return getsockname(fd, pointer, &length)
        }
    }
    guard bound == 0 else { throw SinkError(description: "no free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}
