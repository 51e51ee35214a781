import Contracts
import JSONCoding

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The optional external verification call: `POST <url>` with the case's facts (no clear ID
/// number), answered `200 {"outcome": "passed" | "flagged", "detail": "..."}`. Anything else —
/// refused connection, timeout, another status, an unreadable body — is `could_not_verify`,
/// which sends the task to a person.
final class ExternalVerifier: Sendable {
    let url: URL
    let timeout: Duration
    private let session: URLSession

    init(url: URL, timeout: Duration, maxConnections: Int) {
        self.url = url
        self.timeout = timeout
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = max(1, maxConnections)
        configuration.timeoutIntervalForRequest = timeout.seconds
        configuration.timeoutIntervalForResource = timeout.seconds
        session = URLSession(configuration: configuration)
    }

    func verify(_ submission: ReviewSubmit.Params) async -> ReviewCheckResult {
        let rule = ReviewChecks.externalRule
        let body: JSON = [
            "caseId": .string(submission.caseId),
            "serviceType": .string(submission.serviceType),
            "idType": .string(submission.applicant.idType),
            "customerKey": .string(submission.applicant.customerKey),
        ]
        let request: URLRequest = {
            var request = URLRequest(url: url, timeoutInterval: timeout.seconds)
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(body.jsonString.utf8)
            return request
        }()
        let started = ContinuousClock.now
        do {
            let (data, response) = try await withDeadline(timeout) { [session] in
                try await session.data(for: request)
            }
            guard let http = response as? HTTPURLResponse, http.statusCode == 200 else {
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                return ReviewCheckResult(ruleId: rule, outcome: .couldNotVerify, detail: "the external verifier answered HTTP \(status); a person decides")
            }
            guard let answer = try? JSON.parse(String(decoding: data, as: UTF8.self)),
                  let outcome = answer["outcome"]?.stringValue.flatMap(ReviewCheckOutcome.init(rawValue:))
            else {
                return ReviewCheckResult(ruleId: rule, outcome: .couldNotVerify, detail: "the external verifier's answer could not be read; a person decides")
            }
            let detail = answer["detail"]?.stringValue.map { String($0.prefix(500)) } ?? "external verification: \(outcome.rawValue)"
            return ReviewCheckResult(ruleId: rule, outcome: outcome, detail: detail)
        } catch {
            let elapsed = ContinuousClock.now - started
            let timedOut = error is DeadlinePassed || (error as? URLError)?.code == .timedOut || elapsed >= timeout * 9 / 10
            let why = timedOut ? "did not answer within \(timeout.milliseconds) ms" : "could not be reached"
            return ReviewCheckResult(ruleId: rule, outcome: .couldNotVerify, detail: "the external verifier \(why); a person decides")
        }
    }
}

struct DeadlinePassed: Error {}

/// Runs `body`, giving up after `limit` (the body is cancelled).
func withDeadline<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw DeadlinePassed()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
