import Contracts
import NotificationService
import JSONCoding
import Postgres
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// A delivery job must be sent by one worker only, even when it outlived its lease.
@Suite("Notification: a delivery whose job passed to another worker is not sent by the first")
struct LeaseFenceTests {
    @Test func aJobTakenOverWhileItWaitedForTheRateLimitIsLeftToItsNewHolder() async throws {
        // One SMS a second: the second message, sent as soon as the first arrived, waits about a second
        // in the rate limiter, its job claimed and running. The test hands that job to "another
        // worker" meanwhile, as a claim after an expired lease would. (Sending the second only
        // after the first settled left no wait on a loaded machine: the token was back by then.)
        // The takeover is staged while the job's own lease still runs, which only a lease that
        // ran out can do for real. A transfer limit of 3 s with a 4 s lease leaves no moment in
        // which the worker may trust the lease its claim took without renewing it, so the renewal
        // (the fence under test) runs before every transfer, as it does after any real wait out.
        try await NotificationHarness.run(settings: [
            "ONESTOP_SMS_RATE_PER_SECOND": "1", "ONESTOP_NOTIFY_RATE_BURST": "1", "ONESTOP_NOTIFY_LEASE_SECONDS": "4",
            "ONESTOP_NOTIFY_TIMEOUT_SECONDS": "3",
        ]) { harness in
            // The first must take the token: sent together, the second's job sometimes ran first.
            _ = try await harness.send(acceptedParams(key: "fence/1", email: nil, channels: [.sms]))
            let firstSent = ContinuousClock.now + .seconds(5)
            while harness.sms.records().isEmpty, ContinuousClock.now < firstSent { try await Task.sleep(for: .milliseconds(5)) }
            _ = try await harness.send(acceptedParams(key: "fence/2", email: nil, channels: [.sms]))

            var taken = 0
            let deadline = ContinuousClock.now + .seconds(5)
            while taken == 0, ContinuousClock.now < deadline {
                taken = try await harness.database.execute("""
                    UPDATE messaging_jobs j SET worker = 'another-worker', lease_until = now() + interval '1 second'
                    FROM notification_deliveries d JOIN notification_messages m ON m.id = d.message_id
                    WHERE m.key = 'fence/2' AND j.dedupe_key = 'notification/' || d.id::text || '/1'
                      AND j.queue = 'notification.delivery' AND j.status = 'running'
                    """)
                if taken == 0 { try await Task.sleep(for: .milliseconds(5)) }
            }
            #expect(taken == 1, "the second delivery's job must be found running while it waits for the rate limit")

            // "another-worker" never finishes: after its lease the job is claimed again and sent once.
            try await harness.waitUntilSettled(key: "fence/1")
            let status = try await harness.waitUntilSettled(key: "fence/2", timeout: .seconds(20))
            #expect(status.deliveries.map(\.status) == ["sent"])
            try await Task.sleep(for: .milliseconds(500))
            let texts = harness.sms.records().compactMap { $0["body"]?.stringValue }
            #expect(texts.count == 2, "one SMS per message, none twice: \(texts.count) arrived")
            let attempts = try await harness.database.query("SELECT attempts FROM messaging_jobs WHERE queue = 'notification.delivery' ORDER BY id")
                .map { try $0.decode(Int32.self, column: "attempts") }
            #expect(attempts == [1, 2], "the taken-over job ran a second time: \(attempts)")
        }
    }

    @Test func aLeaseNoLongerThanTheTransferTimeoutIsRefusedAtStart() {
        do {
            _ = try NotificationSettings(environment: ["ONESTOP_NOTIFY_LEASE_SECONDS": "30", "ONESTOP_NOTIFY_TIMEOUT_SECONDS": "30"])
            Issue.record("a transfer could outlive its lease")
        } catch {
            #expect("\(error)".contains("ONESTOP_NOTIFY_LEASE_SECONDS must be longer than ONESTOP_NOTIFY_TIMEOUT_SECONDS"))
        }
        #expect((try? NotificationSettings(environment: ["ONESTOP_NOTIFY_LEASE_SECONDS": "31", "ONESTOP_NOTIFY_TIMEOUT_SECONDS": "30"])) != nil)
    }
}
