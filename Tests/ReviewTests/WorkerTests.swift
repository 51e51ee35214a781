import Contracts
import LineProtocol
import Postgres
@testable import ReviewService
import TestSupport
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The external verifier (a real local HTTP server) and worker processes killed mid-check.
@Suite("Workers and the external verifier", .timeLimit(.minutes(5)))
struct WorkerTests {
    static func verifierURL(_ port: Int) -> URL { URL(string: "http://127.0.0.1:\(port)/verify")! }

    @Test func aPassingVerifierLetsTheCaseBeApprovedAutomatically() async throws {
        let verifier = StubHTTPServer(.init(body: #"{"outcome":"passed","detail":"registry agrees"}"#))
        let port = try await verifier.start()
        defer { Task { await verifier.stop() } }
        try await ReviewHarness.run(settings: ReviewHarness.settings(verifier: Self.verifierURL(port))) { h in
            let submitted = try await h.submit(submission(autoApproval: true))
            #expect(try await h.checked(submitted.taskId) == .approvedAutomatically)
            let check = try await h.task(submitted.taskId).checks.first { $0.ruleId == "external.verification" }
            #expect(check?.outcome == .passed)
            #expect(check?.detail == "registry agrees")
            #expect(verifier.requestCount == 1)
        }
    }

    @Test func aVerifierThatFlagsSendsTheCaseToAPerson() async throws {
        let verifier = StubHTTPServer(.init(body: #"{"outcome":"flagged","detail":"licence revoked"}"#))
        let port = try await verifier.start()
        defer { Task { await verifier.stop() } }
        try await ReviewHarness.run(settings: ReviewHarness.settings(verifier: Self.verifierURL(port))) { h in
            try await h.addReviewer("r1")
            let submitted = try await h.submit(submission(autoApproval: true))
            #expect(try await h.checked(submitted.taskId) == .assigned)
            #expect(try await h.task(submitted.taskId).checks.first { $0.ruleId == "external.verification" }?.outcome == .flagged)
        }
    }

    @Test func aVerifierThatIsDownCouldNotVerifyAndAPersonDecides() async throws {
        let down = try RefusingPort()
        let port = down.port
        defer { withExtendedLifetime(down) {} }
        try await ReviewHarness.run(settings: ReviewHarness.settings(verifier: Self.verifierURL(port))) { h in
            try await h.addReviewer("r1")
            let submitted = try await h.submit(submission(autoApproval: true))
            #expect(try await h.checked(submitted.taskId) == .assigned)
            let check = try await h.task(submitted.taskId).checks.first { $0.ruleId == "external.verification" }
            #expect(check?.outcome == .couldNotVerify)
        }
    }

    @Test func aSlowVerifierTimesOutAndAPersonDecides() async throws {
        // The verifier stalls far longer than any loaded machine takes to run the rest of the check.
        let verifier = StubHTTPServer(.init(delay: .seconds(30), body: #"{"outcome":"passed"}"#))
        let port = try await verifier.start()
        defer { Task { await verifier.stop() } }
        let settings = ReviewHarness.settings(verifier: Self.verifierURL(port), verifierTimeout: .milliseconds(300))
        try await ReviewHarness.run(settings: settings) { h in
            try await h.addReviewer("r1")
            let started = ContinuousClock.now
            let submitted = try await h.submit(submission(autoApproval: true))
            #expect(try await h.checked(submitted.taskId) == .assigned)
            #expect(ContinuousClock.now - started < .seconds(20), "the check gave up at its timeout")
            let check = try await h.task(submitted.taskId).checks.first { $0.ruleId == "external.verification" }
            #expect(check?.outcome == .couldNotVerify)
            #expect(check?.detail.contains("300 ms") == true)
        }
    }

    @Test func aWorkerProcessKilledMidCheckLosesItsLeaseAndTheJobRunsAgainToOneDecision() async throws {
        let verifier = StubHTTPServer(.init(delay: .seconds(30), body: #"{"outcome":"passed"}"#))
        let port = try await verifier.start()
        defer { Task { await verifier.stop() } }
        // The service itself runs no checks: only the worker processes do.
        try await ReviewHarness.run(settings: ReviewHarness.settings(concurrency: 0)) { h in
            let environment: [String: String] = [
                "ONESTOP_DATABASE_URL": h.database.connectionString,
                "ONESTOP_INTAKE_ADDRESSES": "\(h.peerTargets[.intake]![0])",
                "ONESTOP_ROUTING_ADDRESSES": "\(h.peerTargets[.routing]![0])",
                "ONESTOP_REVIEW_WORKER_CONCURRENCY": "2",
                "ONESTOP_REVIEW_JOB_LEASE_SECONDS": "2",
                "ONESTOP_REVIEW_VERIFIER_URL": Self.verifierURL(port).absoluteString,
                "ONESTOP_REVIEW_VERIFIER_TIMEOUT_MS": "60000",
                "ONESTOP_LOG_FORMAT": "text",
                "ONESTOP_LOG_LEVEL": "info",
            ]
            let first = try ChildProcess(executable: "review", arguments: ["worker"], environment: environment.merging(["ONESTOP_INSTANCE": "worker-a"]) { $1 })
            try await first.waitForOutput("review check workers started")
            let params = submission(autoApproval: true)
            let submitted = try await h.submit(params)
            let midCheck = try await waitUntil { verifier.requestCount >= 1 }
            try #require(midCheck, "\(first.outputSoFar)")
            first.kill(SIGKILL)
            await first.waitForExit()
            #expect(try await h.state(of: submitted.taskId) == .checking)

            verifier.setBehaviour(.init(delay: .milliseconds(20), body: #"{"outcome":"passed"}"#))
            let second = try ChildProcess(executable: "review", arguments: ["worker"], environment: environment.merging(["ONESTOP_INSTANCE": "worker-b"]) { $1 })
            try await second.waitForOutput("review check workers started")
            #expect(try await h.checked(submitted.taskId, timeout: .seconds(30)) == .approvedAutomatically)
            second.kill(SIGTERM)
            await second.waitForExit()

            let taskID = UUID(uuidString: submitted.taskId)!
            #expect(try await h.count("SELECT count(*)::int8 AS n FROM review_decisions WHERE task_id = \(taskID)") == 1)
            #expect(try await h.count("SELECT attempts::int8 AS n FROM messaging_jobs WHERE queue = 'review.check'") == 2)
            #expect(try await h.count("SELECT count(*)::int8 AS n FROM messaging_jobs WHERE status = 'done'") == 1)
            #expect(try await h.count("SELECT count(*)::int8 AS n FROM messaging_outbox WHERE method = 'routing.dispatch'") == 1)
            let dispatched = try await waitUntil { h.peers.dispatches(of: params.caseId).count == 1 }
            #expect(dispatched)
            #expect(verifier.requestCount == 2)
        }
    }
    /// The automatic approval is one statement that also completes the job: a worker whose lease
    /// passed to another worker while it checked writes nothing (no decision, no message), and
    /// the job's next run makes the one decision.
    @Test func aCheckWhoseLeasePassedToAnotherWorkerRecordsNothingAndTheNextRunDecidesOnce() async throws {
        let verifier = StubHTTPServer(.init(delay: .seconds(2), body: #"{"outcome":"passed"}"#))
        let port = try await verifier.start()
        defer { Task { await verifier.stop() } }
        let settings = ReviewHarness.settings(concurrency: 1, verifier: Self.verifierURL(port), verifierTimeout: .seconds(10))
        try await ReviewHarness.run(settings: settings) { h in
            let params = submission(autoApproval: true)
            let submitted = try await h.submit(params)
            let taskID = UUID(uuidString: submitted.taskId)!
            let midCheck = try await waitUntil { verifier.requestCount >= 1 }
            try #require(midCheck)
            // As if this worker's lease had run out and another worker had claimed the job.
            let taken = try await h.pool.execute("""
                UPDATE messaging_jobs SET worker = 'another-worker', lease_until = now() + interval '1 hour'
                WHERE queue = 'review.check' AND status = 'running'
                """)
            try #require(taken == 1)
            verifier.setBehaviour(.init(delay: .milliseconds(20), body: #"{"outcome":"passed"}"#))
            // The first run's verifier answers 2 s after it was asked; its result must be dropped.
            try await Task.sleep(for: .seconds(3))
            #expect(try await h.count("SELECT count(*)::int8 AS n FROM review_decisions WHERE task_id = \(taskID)") == 0)
            #expect(try await h.count("SELECT count(*)::int8 AS n FROM review_tasks WHERE id = \(taskID) AND check_results IS NULL AND state = 'checking'") == 1)
            #expect(try await h.count("SELECT count(*)::int8 AS n FROM messaging_outbox") == 0)

            // The other worker never finishes: once its lease runs out the job runs again, to one decision.
            try await h.pool.execute("UPDATE messaging_jobs SET lease_until = now() - interval '1 second' WHERE queue = 'review.check'")
            #expect(try await h.checked(submitted.taskId) == .approvedAutomatically)
            #expect(try await h.count("SELECT count(*)::int8 AS n FROM review_decisions WHERE task_id = \(taskID)") == 1)
            #expect(try await h.count("SELECT count(*)::int8 AS n FROM review_audit WHERE task_id = \(taskID) AND action = 'approved_automatically'") == 1)
            #expect(try await h.count("SELECT count(*)::int8 AS n FROM messaging_outbox WHERE method = 'routing.dispatch'") == 1)
            #expect(try await h.count("SELECT count(*)::int8 AS n FROM messaging_jobs WHERE status = 'done'") == 1)
            #expect(verifier.requestCount == 2)
            let delivered = try await waitUntil {
                h.peers.dispatches(of: params.caseId).count == 1 && h.peers.progress(of: params.caseId).contains { $0.event == .reviewApproved }
            }
            #expect(delivered)
        }
    }
}
