import ArgumentParser
import Contracts
import LineProtocol
import Logging
import NotificationService
import Postgres
import ServiceKit
import TestSupport

#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Emails per second to a local aiosmtpd and SMS per second to a local HTTP sink through the
/// service's libcurl pool, with 16 concurrent transfers; then the same through the whole
/// service (send → work queue → delivery → recorded) on a throwaway Postgres.
@main
struct NotificationBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "onestop-bench-notification")

    @Option(help: "Transfers per transport scenario.")
    var count = 4_000

    @Option(help: "Concurrent transfers.")
    var concurrency = 16

    @Option(help: "Messages through the whole service (0 skips it).")
    var serviceMessages = 2_000

    static let sinks = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../NotificationTests/Sinks").standardized

    func run() async throws {
        var rows: [(String, Int, Double, String)] = []
        let smtp = try Sink(script: "smtp_sink.py", arguments: ["--count-only"])
        let sms = try Sink(script: "sms_sink.py", arguments: [])
        defer {
            smtp.stop()
            sms.stop()
        }
        let pool = CurlPool(threads: concurrency)
        defer { pool.shutdown() }

        let mime = MIMEMessage(
            from: "noreply@onestop.local", fromName: "OneStop Service Hall", replyTo: nil, to: "bench@example.org", toName: "张三",
            subject: "您的申请已受理：SQ20261123-0042-K", text: String(repeating: "您申请的营业执照变更登记已受理。\n", count: 10),
            html: "<p>" + String(repeating: "您申请的营业执照变更登记已受理。", count: 10) + "</p>",
            messageID: "<bench@onestop.local>", date: Date()
        ).render()
        let email = SMTPRequest(url: "smtp://127.0.0.1:\(smtp.port)", starttls: .off, from: "noreply@onestop.local", recipients: ["bench@example.org"], message: mime)
        let (emailRate, emailFailures, emailP50) = try await measure(count) { _ in await pool.perform(.smtp(email)) }
        rows.append(("email → aiosmtpd (libcurl pool)", count, emailRate, "\(emailFailures) failed, p50 \(emailP50) ms"))

        let body = Array(#"{"to":"+8613812345678","from":"OneStop","text":"【一站式服务大厅】张三您好，您申请的营业执照变更登记已受理。"}"#.utf8)
        let (smsRate, smsFailures, smsP50) = try await measure(count) { i in
            await pool.perform(.http(HTTPRequest(url: "http://127.0.0.1:\(sms.port)/sms", headers: ["Content-Type: application/json", "Idempotency-Key: bench-\(i)"], body: body)))
        }
        rows.append(("SMS → HTTP sink (libcurl pool)", count, smsRate, "\(smsFailures) failed, p50 \(smsP50) ms"))

        if serviceMessages > 0 {
            let (rate, note) = try await endToEnd(smtpPort: smtp.port, smsPort: sms.port)
            rows.append(("send → queue → email + SMS (whole service)", serviceMessages * 2, rate, note))
        }

        var table = "| scenario | transfers | per second | notes |\n| --- | ---: | ---: | --- |\n"
        for row in rows {
            table += "| \(row.0) | \(row.1) | \(Int(row.2.rounded())) | \(row.3) |\n"
        }
        FileHandle.standardOutput.write(Data(table.utf8))
    }

    /// Runs `total` transfers with `concurrency` in flight; returns (per second, failures, p50 ms).
    func measure(_ total: Int, _ transfer: @escaping @Sendable (Int) async -> CurlResult) async throws -> (Double, Int, Int) {
        let started = ContinuousClock.now
        var failures = 0
        var latencies: [Duration] = []
        try await withThrowingTaskGroup(of: CurlResult.self) { group in
            var next = 0
            for _ in 0..<concurrency where next < total {
                let i = next
                group.addTask { await transfer(i) }
                next += 1
            }
            while let result = try await group.next() {
                if !(result.finished && (result.responseCode == 250 || result.responseCode == 200)) { failures += 1 }
                latencies.append(result.elapsed)
                if next < total {
                    let i = next
                    group.addTask { await transfer(i) }
                    next += 1
                }
            }
        }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        latencies.sort()
        let p50 = latencies.isEmpty ? .zero : latencies[latencies.count / 2]
        return (Double(total) / seconds, failures, Int(p50.components.attoseconds / 1_000_000_000_000_000 + p50.components.seconds * 1000))
    }

    /// Sends `serviceMessages` (each an email and an SMS) through an in-process service and
    /// measures until every delivery is recorded as sent.
    func endToEnd(smtpPort: Int, smsPort: Int) async throws -> (Double, String) {
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let database = try await PostgresCluster.shared().createDatabase(prefix: "notification_bench")
        var configuration = ServiceConfiguration.forTesting(service: .notification, databaseURL: database.connectionString)
        configuration.databasePoolSize = 24
        let settings = NotificationSettings.forTesting(
            smtpURL: "smtp://127.0.0.1:\(smtpPort)", smsURL: "http://127.0.0.1:\(smsPort)/sms",
            extra: ["ONESTOP_NOTIFY_CONCURRENCY": "\(concurrency)", "ONESTOP_SMTP_RATE_PER_SECOND": "100000", "ONESTOP_SMS_RATE_PER_SECOND": "100000"]
        )
        let app = ServiceApp(definition: NotificationService.definition(settings: settings), configuration: configuration, logger: logger)
        let (addresses, ready) = AsyncStream<ServiceAddresses>.makeStream()
        let pool = PostgresPool(configuration: database, maxConnections: 2, logger: logger)
        var result = (0.0, "")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run { ready.yield($0) } }
            var iterator = addresses.makeAsyncIterator()
            guard let address = await iterator.next() else { return }
            var clientConfiguration = configuration.clientConfiguration(for: .notification)
            clientConfiguration.targets = [address.rpcTarget]
            let client = RPCClient(configuration: clientConfiguration, logger: logger)
            let started = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { senders in
                for lane in 0..<8 {
                    senders.addTask {
                        for i in stride(from: lane, to: serviceMessages, by: 8) {
                            _ = try await client.call(NotificationSend.self, NotificationSend.Params(
                                key: "bench/\(i)", recipients: [.init(name: "张三", phone: "+86139\(String(format: "%08d", i))", email: "c\(i)@example.org")],
                                channels: [.sms, .email], template: .caseAccepted, locale: .zhCN,
                                variables: ["customerName": "张三", "trackingNumber": "SQ-\(i)", "accessCode": "7F3K2Q", "serviceName": "营业执照变更登记", "dueDate": "2026-12-07"]
                            ))
                        }
                    }
                }
                try await senders.waitForAll()
            }
            let accepted = ContinuousClock.now - started
            while true {
                let rows = try await pool.query("SELECT count(*)::int8 AS n FROM notification_deliveries WHERE status = 'sent'")
                if try rows.first?.decode(Int64.self, column: "n") ?? 0 >= Int64(2 * serviceMessages) { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            let elapsed = ContinuousClock.now - started
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let acceptedSeconds = Double(accepted.components.seconds) + Double(accepted.components.attoseconds) / 1e18
            result = (Double(2 * serviceMessages) / seconds, "all \(serviceMessages) sends accepted in \(String(format: "%.2f", acceptedSeconds)) s; rate counts deliveries recorded as sent")
            await client.shutdown()
            await pool.close()
            await app.triggerGracefulShutdown()
            try await group.waitForAll()
        }
        return result
    }
}

/// A Python sink from Tests/NotificationTests/Sinks.
final class Sink: @unchecked Sendable {
    // Owned and driven by the benchmark's one task.
    let process = Process()
    let port: Int
    let file: URL

    init(script: String, arguments: [String]) throws {
        file = FileManager.default.temporaryDirectory.appendingPathComponent("onestop-bench-\(UUID().uuidString).jsonl")
        FileManager.default.createFile(atPath: file.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [NotificationBenchmark.sinks.appendingPathComponent(script).path, file.path] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        var line = ""
        let handle = pipe.fileHandleForReading
        while !line.hasSuffix("\n") {
            let byte = handle.readData(ofLength: 1)
            guard !byte.isEmpty else { throw CocoaError(.fileReadUnknown) }
            line += String(decoding: byte, as: UTF8.self)
        }
        guard line.hasPrefix("READY "), let port = Int(line.dropFirst(6).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw CocoaError(.fileReadCorruptFile)
        }
        self.port = port
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: file)
    }
}
