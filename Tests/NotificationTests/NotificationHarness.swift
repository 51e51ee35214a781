import Contracts
import JSONCoding
import LineProtocol
import Logging
import NotificationService
import Postgres
import ServiceKit
import Testing
import TestSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

let quietLogger: Logger = {
    var logger = Logger(label: "notification-test") { _ in SwiftLogNoOpLogHandler() }
    logger.logLevel = .critical
    return logger
}()

/// A notification service booted in-process on ephemeral ports with a throwaway database, a real
/// aiosmtpd and a real HTTP SMS sink.
struct NotificationHarness {
    let smtp: SinkProcess
    let sms: SinkProcess
    let client: RPCClient
    let database: PostgresPool
    let settings: NotificationSettings

    /// - Parameter smtpArguments: options of `Sinks/smtp_sink.py` (`--starttls CERT KEY`,
    ///   `--require-starttls`, `--smtps CERT KEY`, `--auth USER:PASSWORD`).
    static func run(
        settings extra: [String: String] = [:],
        smtpSink smtpArguments: [String] = [],
        smsDelayMs: Int = 0,
        _ body: (NotificationHarness) async throws -> Void
    ) async throws {
        let smtp = try await SinkProcess(script: "smtp_sink.py", arguments: smtpArguments)
        let sms = try await SinkProcess(script: "sms_sink.py", arguments: smsDelayMs > 0 ? ["--delay-ms", "\(smsDelayMs)"] : [])
        defer {
            smtp.stop()
            sms.stop()
        }
        let databaseConfiguration = try await PostgresCluster.shared().createDatabase(prefix: "notification")
        let configuration = ServiceConfiguration.forTesting(service: .notification, databaseURL: databaseConfiguration.connectionString)
        let settings = NotificationSettings.forTesting(smtpURL: smtp.smtpURL, smsURL: sms.url, extra: extra)
        let app = ServiceApp(definition: NotificationService.definition(settings: settings), configuration: configuration, logger: quietLogger)
        let (addresses, readyContinuation) = AsyncStream<ServiceAddresses>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    try await app.run { readyContinuation.yield($0) }
                } catch {
                    readyContinuation.finish()
                    throw error
                }
                readyContinuation.finish()
            }
            var iterator = addresses.makeAsyncIterator()
            guard let ready = await iterator.next() else {
                try await group.waitForAll()
                throw SinkError(description: "the service stopped before it was ready")
            }
            var clientConfiguration = configuration.clientConfiguration(for: .notification)
            clientConfiguration.targets = [ready.rpcTarget]
            let client = RPCClient(configuration: clientConfiguration, logger: quietLogger)
            let database = PostgresPool(configuration: databaseConfiguration, maxConnections: 2, logger: quietLogger)
            let harness = NotificationHarness(smtp: smtp, sms: sms, client: client, database: database, settings: settings)
            do {
                try await body(harness)
            } catch {
                await client.shutdown()
                await database.close()
                await app.triggerGracefulShutdown()
                try? await group.waitForAll()
                throw error
            }
            await client.shutdown()
            await database.close()
            await app.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }

    func send(_ params: NotificationSend.Params) async throws -> NotificationSend.Result {
        try await client.call(NotificationSend.self, params)
    }

    func status(key: String) async throws -> NotificationStatus.Result {
        try await client.call(NotificationStatus.self, NotificationStatus.Params(key: key))
    }

    /// Polls until every delivery of `key` is in a final state.
    @discardableResult
    func waitUntilSettled(key: String, timeout: Duration = .seconds(30)) async throws -> NotificationStatus.Result {
        let deadline = ContinuousClock.now + timeout
        while true {
            let status = try await status(key: key)
            if status.deliveries.allSatisfy({ ["sent", "failed", "dead", "suppressed"].contains($0.status) }) { return status }
            guard ContinuousClock.now < deadline else {
                throw SinkError(description: "deliveries of \(key) did not settle: \(status.deliveries.map { "\($0.channel) \($0.status) \($0.attempts) \($0.lastError ?? "")" })")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    func count(_ table: String) async throws -> Int64 {
        let rows = try await database.query(SQL(unsafeSQL: "SELECT count(*)::int8 AS n FROM \(table)"))
        return try rows.first?.decode(Int64.self, column: "n") ?? 0
    }
}

/// Variables for a template: each value names its variable, so a rendered text shows which went where.
func sampleVariables(_ template: NotificationTemplate, locale: CustomerLocale = .en) -> [String: String] {
    var values: [String: String] = [:]
    for name in template.requiredVariables {
        values[name] = locale == .zhCN ? "张三-\(name)" : "V-\(name)"
    }
    return values
}

func acceptedParams(key: String, phone: String? = "+8613812345678", email: String? = "zhang.san@example.org",
                    locale: CustomerLocale = .zhCN, channels: [NotificationChannel] = [.sms, .email], urgency: NotificationUrgency? = nil) -> NotificationSend.Params {
    NotificationSend.Params(
        key: key,
        recipients: [NotificationSend.Recipient(name: "张三", phone: phone, email: email)],
        channels: channels,
        template: .caseAccepted,
        locale: locale,
        variables: [
            "customerName": "张三", "trackingNumber": "SQ20261123-0042-K", "accessCode": "7F3K2Q",
            "serviceName": "营业执照变更登记", "dueDate": "2026-12-07",
        ],
        urgency: urgency
    )
}
