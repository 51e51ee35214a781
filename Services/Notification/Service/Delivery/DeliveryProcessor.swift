import Contracts
import JSONCoding
import LineProtocol
import Logging
import Messaging
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Runs one job of the `notification.delivery` queue: one attempt of one delivery. Checks the
/// suppression list and quiet hours, waits for the provider's rate limit, sends through libcurl,
/// classifies the answer, and records the attempt, the delivery's state, the job's completion
/// and the next attempt's job in one transaction.
///
/// The only window for a duplicate is a crash after the provider accepted and before that
/// transaction commits: the job is claimed again when its lease runs out. Providers that take
/// an idempotency key (the webhook profile) can drop that duplicate. A database that is away at
/// that moment (a restart, a cut connection) is waited for, within the lease, rather than
/// leaving the job to run again and send a second time.
struct DeliveryProcessor: Sendable {
    let store: NotificationStore
    let transport: ProviderTransport
    let settings: NotificationSettings
    let smtpBucket: TokenBucket
    let smsBucket: TokenBucket
    let metrics = NotificationMetrics()
    let logger: Logger

    init(store: NotificationStore, transport: ProviderTransport, settings: NotificationSettings, logger: Logger) {
        self.store = store
        self.transport = transport
        self.settings = settings
        self.smtpBucket = TokenBucket(rate: settings.smtpRatePerSecond, burst: settings.rateBurst)
        self.smsBucket = TokenBucket(rate: settings.smsRatePerSecond, burst: settings.rateBurst)
        self.logger = logger
    }

    func handle(_ job: Job) async throws {
        guard let text = job.payload["delivery"]?.stringValue, UUID(uuidString: text) != nil else {
            logger.error("notification job without a delivery id; dropped", metadata: ["job.id": .stringConvertible(job.id)])
            return
        }
        // The claim read the delivery and its address's suppression beside the job.
        guard let (delivery, suppressed) = try await store.claimedDelivery(job) else { return }
        // Done already (a job scheduled twice, or a repeat after a crash that did record).
        guard delivery.status == "pending" || delivery.status == "retrying" else { return }
        let attemptNumber = delivery.attempts + 1
        let started = Date()

        if let reason = suppressed {
            metrics.outcome(delivery.channel, "suppressed")
            try await store.record(
                AttemptRecord(outcome: "suppressed", reason: reason, detail: "the address is on the suppression list (\(reason))", startedAt: started),
                attemptNumber: attemptNumber, delivery: delivery, job: job, newStatus: "suppressed", suppress: nil
            )
            return
        }
        if delivery.channel == .sms, delivery.urgency == .normal, let end = settings.quietHours?.end(after: started) {
            try await store.record(
                AttemptRecord(outcome: "deferred", reason: "quiet_hours", detail: "non-urgent SMS held until quiet hours end", startedAt: started, nextRunAt: end),
                attemptNumber: attemptNumber, delivery: delivery, job: job, newStatus: delivery.status, suppress: nil
            )
            return
        }

        let (verdict, result, partsSent) = try await transfer(delivery, job: job)
        let latency = Int(result.elapsed.components.seconds * 1000 + result.elapsed.components.attoseconds / 1_000_000_000_000_000)
        let status = ProviderTransport.providerStatus(result)
        switch verdict {
        case .sent(let providerID):
            metrics.sent(delivery.channel)
            try await recordTaken(
                AttemptRecord(outcome: "sent", startedAt: started, providerID: providerID, partsSent: partsSent) .with(status: status, latency: latency),
                attemptNumber: attemptNumber, delivery: delivery, job: job
            )
        case .permanent(let reason, let detail, let suppress):
            metrics.failure(delivery.channel, reason: reason)
            metrics.outcome(delivery.channel, "failed")
            logger.warning("delivery failed permanently", metadata: ["delivery.id": .string(delivery.id.lowercasedString), "reason": .string(reason), "status": .stringConvertible(result.responseCode)])
            try await store.record(
                AttemptRecord(outcome: "failed", reason: reason, detail: detail, startedAt: started, partsSent: partsSent).with(status: status, latency: latency),
                attemptNumber: attemptNumber, delivery: delivery, job: job, newStatus: "failed", suppress: suppress
            )
        case .retry(let reason, let detail, let retryAfter):
            metrics.failure(delivery.channel, reason: reason)
            if attemptNumber >= settings.maxAttempts {
                metrics.outcome(delivery.channel, "dead")
                logger.warning("delivery dead after its retry budget", metadata: ["delivery.id": .string(delivery.id.lowercasedString), "reason": .string(reason), "attempts": .stringConvertible(attemptNumber)])
                try await store.record(
                    AttemptRecord(outcome: "dead", reason: reason, detail: detail, startedAt: started, partsSent: partsSent).with(status: status, latency: latency),
                    attemptNumber: attemptNumber, delivery: delivery, job: job, newStatus: "dead", suppress: nil
                )
            } else {
                metrics.retry(delivery.channel)
                let backoff = RetryBackoff.delay(attempt: attemptNumber, initial: settings.initialBackoff, maximum: settings.maxBackoff)
                let pause = max(backoff, min(retryAfter ?? .zero, settings.maxRetryAfter))
                let next = Date().addingTimeInterval(Double(pause.components.seconds) + Double(pause.components.attoseconds) / 1e18)
                try await store.record(
                    AttemptRecord(outcome: "retry", reason: reason, detail: detail, startedAt: started, partsSent: partsSent, nextRunAt: next).with(status: status, latency: latency),
                    attemptNumber: attemptNumber, delivery: delivery, job: job, newStatus: "retrying", suppress: nil
                )
            }
        }
    }
}

extension DeliveryProcessor {
    /// Opens the delivery's address and content and sends them: they are readable only within
    /// this call, and the verdict's detail (stored) has the address masked.
    func transfer(_ delivery: DeliveryRecord, job: Job) async throws -> (verdict: AttemptVerdict, result: CurlResult, partsSent: Int) {
        var result = CurlResult(code: 0, errorMessage: "", responseCode: 0, headers: [:], body: [], elapsed: .zero)
        var partsSent = delivery.partsSent
        let recipient: OpenedRecipient
        do {
            recipient = try store.vault.open(delivery.recipient)
        } catch {
            // A key no longer in ONESTOP_NOTIFY_DATA_KEYS (or a damaged box): retried, so the
            // delivery still goes out if the key is listed again within its retry budget.
            logger.error("cannot open a delivery's sealed address", metadata: ["delivery.id": .string(delivery.id.lowercasedString), "error": .string("\(error)")])
            return (.retry(reason: "sealing", detail: "\(error)", retryAfter: nil), result, partsSent)
        }
        var verdict: AttemptVerdict
        switch delivery.channel {
        case .email:
            try await smtpBucket.acquire()
            try await holdLease(job)
            (verdict, result) = await transport.sendEmail(delivery, to: recipient)
            metrics.latency("smtp", result.elapsed)
        case .sms:
            let parts = recipient.content["parts"]?.arrayValue?.compactMap(\.stringValue) ?? []
            verdict = .sent(providerID: nil)
            var providerIDs: [String] = []
            while partsSent < parts.count {
                try await smsBucket.acquire()
                try await holdLease(job)
                let key = parts.count == 1 ? delivery.id.lowercasedString : "\(delivery.id.lowercasedString)-\(partsSent + 1)"
                (verdict, result) = await transport.sendSMS(to: recipient, text: parts[partsSent], idempotencyKey: key)
                metrics.latency("sms", result.elapsed)
                guard case .sent(let providerID) = verdict else { break }
                if let providerID { providerIDs.append(providerID) }
                partsSent += 1
            }
            if case .sent = verdict { verdict = .sent(providerID: providerIDs.isEmpty ? nil : providerIDs.joined(separator: ",")) }
        }
        return (verdict.masking(recipient.address, channel: delivery.channel), result, partsSent)
    }

    /// Makes sure the job's lease outlasts the transfer about to start: renews it, or gives the
    /// job up (`JobLeaseLost`) when another worker holds it now. A transfer is bounded by
    /// `ONESTOP_NOTIFY_TIMEOUT_SECONDS`, which must be shorter than the lease, so no one else can claim the job while its message
    /// is with the provider. Without this, a job that waited out its lease (for the rate limit,
    /// or for a pooled connection to heartbeat with after a restart) was sent by two workers.
    func holdLease(_ job: Job) async throws {
        // The lease the claim took outlasts this transfer (with a second to spare for the two
        // clocks): no other worker can hold the job, and the renewal's round trip is saved.
        if ContinuousClock.now + settings.transferTimeout + .seconds(1) < job.leaseCertainUntil { return }
        guard try await store.queue.heartbeat(job, lease: settings.lease) else {
            throw JobLeaseLost(jobID: job.id)
        }
    }

    /// Pause between tries to record a sent message while the database is away.
    static let recordRetryPauses = (first: Duration.milliseconds(100), longest: Duration.seconds(2))

    /// Records an attempt whose message the provider has taken. It cannot be taken back, so a
    /// lost database connection (Postgres restarting, a cut link, a pool with no way in) is tried
    /// again until the lease nears its end: failing here would leave the job to run again after
    /// its lease and send the message a second time (the chaos run saw one duplicate email per
    /// send in flight at every Postgres restart). Past the lease the job is another worker's.
    func recordTaken(_ attempt: AttemptRecord, attemptNumber: Int, delivery: DeliveryRecord, job: Job) async throws {
        let giveUp = ContinuousClock.now + settings.lease
        var pause = Self.recordRetryPauses.first
        while true {
            do {
                try await store.record(attempt, attemptNumber: attemptNumber, delivery: delivery, job: job, newStatus: "sent", suppress: nil)
                return
            } catch let error as PostgresError where error.isConnectionError || error.code == .poolTimeout {
                guard ContinuousClock.now + pause < giveUp else { throw error }
                logger.warning("recording a sent message failed; trying again so it is not sent twice", metadata: [
                    "delivery.id": .string(delivery.id.lowercasedString), "error": .string("\(error)"),
                ])
                try await Task.sleep(for: pause)
                pause = min(pause * 2, Self.recordRetryPauses.longest)
            }
        }
    }
}

extension AttemptVerdict {
    /// The verdict with `address` masked in its detail, which is stored: a provider's error may
    /// quote what it refused ("The 'To' number +8613812345678 is not a valid phone number").
    func masking(_ address: String, channel: NotificationChannel) -> AttemptVerdict {
        let masked = SendPlan.mask(address, channel: channel)
        // A phone number is also quoted without its + (or after a form-encoded %2B).
        let forms = address.hasPrefix("+") ? [address, String(address.dropFirst())] : [address]
        func clean(_ detail: String) -> String {
            forms.reduce(detail) { $0.replacingOccurrences(of: $1, with: masked, options: .caseInsensitive) }
        }
        switch self {
        case .sent: return self
        case .retry(let reason, let detail, let retryAfter): return .retry(reason: reason, detail: clean(detail), retryAfter: retryAfter)
        case .permanent(let reason, let detail, let suppress): return .permanent(reason: reason, detail: clean(detail), suppress: suppress)
        }
    }
}

extension AttemptRecord {
    init(outcome: String, reason: String? = nil, detail: String? = nil, startedAt: Date, providerID: String? = nil, partsSent: Int? = nil, nextRunAt: Date? = nil) {
        self.init(outcome: outcome, reason: reason, detail: detail, providerStatus: nil, latencyMs: nil, startedAt: startedAt,
                  providerID: providerID, partsSent: partsSent, nextRunAt: nextRunAt)
    }

    func with(status: Int?, latency: Int) -> AttemptRecord {
        var copy = self
        copy.providerStatus = status
        copy.latencyMs = latency
        return copy
    }
}
