import Contracts
import JSONCoding
import LineProtocol
import Logging
import Messaging
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Runs the automated checks of one job: reads the task, runs every check with no transaction
/// open (peers and the external verifier may be slow), then records results and the decision
/// path in one transaction that completes the job.
struct CheckRunner: Sendable {
    let store: ReviewStore
    let rules: RiskRules
    let intake: RPCClient
    let intakeTimeout: Duration
    let verifier: ExternalVerifier?
    let logger: Logger

    /// The store's queue claims each job with its task and the rejection counts of `rules`
    /// (`ReviewStore.checkReads`), so a job starts without a read of its own.
    func run(_ job: Job) async throws {
        guard let raw = job.payload["taskId"]?.stringValue, UUID(uuidString: raw) != nil else {
            throw RPCError.invalidParams("check job \(job.id) has no valid taskId")
        }
        guard let context = job.context else {
            throw RPCError.internal("check job \(job.id) came without its task: it must be claimed from ReviewStore.queue, which reads the task with it")
        }
        guard let (task, rejections) = try ReviewStore.checkInputs(from: context), task.state == .checking else {
            // Already checked (the job ran before and committed) or gone: nothing to do.
            return
        }
        let results = try await checks(for: task, rejections: rejections)
        let state = try await store.finishChecks(job: job, task: task, results: results)
        logger.debug("review task checked", metadata: [
            "task.id": .string(raw), "task.state": .string(state?.rawValue ?? "missing"),
            "checks.flagged": .stringConvertible(results.filter { $0.outcome != .passed }.count),
        ])
    }

    /// `rejections[i]`: the applicant's rejections within `rules.repeatedRejections[i]`'s window.
    func checks(for task: StoredTask, rejections: [Int]) async throws -> [ReviewCheckResult] {
        let submission = task.submission
        var results = task.identityChecks
        if results.isEmpty { results = await identityFromIntake(submission) }
        results.append(ReviewChecks.requiredFields(submission))
        results.append(ReviewChecks.materials(submission))
        results += rules.evaluateStatic(submission)
        for (rule, count) in zip(rules.repeatedRejections, rejections) {
            if count >= rule.atLeast {
                results.append(ReviewCheckResult(
                    ruleId: rule.id, outcome: .flagged,
                    detail: rule.detail.map { "\($0) (\(count) in \(rule.withinDays) days)" }
                        ?? "\(count) rejections of this applicant in the last \(rule.withinDays) days"
                ))
            } else {
                results.append(ReviewCheckResult(ruleId: rule.id, outcome: .passed, detail: "\(count) rejections in the last \(rule.withinDays) days"))
            }
        }
        async let duplicate = duplicateCheck(submission)
        async let external = verifier?.verify(submission)
        results.append(await duplicate)
        if let external = await external { results.append(external) }
        return results
    }

    /// Fetches the full identity numbers from intake (they never sit in an outbox or in review's
    /// tables) and checks them; intake not answering leaves identity `could_not_verify`.
    func identityFromIntake(_ submission: ReviewSubmit.Params) async -> [ReviewCheckResult] {
        do {
            let identity = try await intake.call(
                IntakeApplicantIdentity.self, IntakeApplicantIdentity.Params(caseId: submission.caseId), timeout: intakeTimeout
            )
            var full = submission
            full.applicant = identity.applicant
            full.principal = identity.principal ?? submission.principal
            return ReviewChecks.identity(full).results
        } catch {
            var results = [ReviewCheckResult(
                ruleId: ReviewChecks.identityRule, outcome: .couldNotVerify,
                detail: "intake could not give the applicant's identity numbers (\(String(describing: error).prefix(200))); a person decides"
            )]
            if submission.principal != nil {
                results.append(ReviewCheckResult(ruleId: ReviewChecks.principalIdentityRule, outcome: .couldNotVerify, detail: "identity numbers unavailable"))
            }
            return results
        }
    }

    /// Asks intake for another open case of the same customer and service type.
    func duplicateCheck(_ submission: ReviewSubmit.Params) async -> ReviewCheckResult {
        let rule = ReviewChecks.duplicateRule
        do {
            let answer = try await intake.call(
                IntakeOpenCasesOfCustomer.self,
                IntakeOpenCasesOfCustomer.Params(
                    customerKey: submission.applicant.customerKey, serviceType: submission.serviceType, excludingCaseId: submission.caseId
                ),
                timeout: intakeTimeout
            )
            let others = answer.cases.filter { $0.caseId != submission.caseId }
            if others.isEmpty {
                return ReviewCheckResult(ruleId: rule, outcome: .passed, detail: "no other open case of this customer for \(submission.serviceType)")
            }
            let numbers = others.prefix(5).map(\.trackingNumber).joined(separator: ", ")
            return ReviewCheckResult(ruleId: rule, outcome: .flagged, detail: "the customer has \(others.count) other open case(s) of this type: \(numbers)")
        } catch {
            return ReviewCheckResult(ruleId: rule, outcome: .couldNotVerify, detail: "intake could not be asked about open cases (\(String(describing: error).prefix(200))); a person decides")
        }
    }
}
