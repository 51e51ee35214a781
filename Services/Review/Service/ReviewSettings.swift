import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Review's own settings, from the environment (defaults fit `make run`).
public struct ReviewSettings: Sendable {
    /// Check jobs one process runs at once (`ONESTOP_REVIEW_WORKER_CONCURRENCY`; 0 in the main
    /// service means it runs no checks itself and leaves them to `review worker` processes).
    public var workerConcurrency: Int
    /// How long a claimed check job stays this worker's without a heartbeat
    /// (`ONESTOP_REVIEW_JOB_LEASE_SECONDS`); a killed worker's job runs again after it.
    public var jobLease: Duration
    /// Attempts of one check job before it goes dead (`ONESTOP_REVIEW_JOB_MAX_ATTEMPTS`).
    public var jobMaxAttempts: Int
    /// The external verification endpoint (`ONESTOP_REVIEW_VERIFIER_URL`); nil skips that check.
    public var verifierURL: URL?
    /// How long the external verifier may take (`ONESTOP_REVIEW_VERIFIER_TIMEOUT_MS`).
    public var verifierTimeout: Duration
    /// How long the duplicate check waits for intake (`ONESTOP_REVIEW_INTAKE_TIMEOUT_MS`).
    public var intakeTimeout: Duration
    /// The risk rules file (`ONESTOP_REVIEW_RULES_FILE`); default: the bundled `Rules/risk-rules.json`.
    public var rulesFile: URL?
    /// Rules given directly (tests); take precedence over `rulesFile`.
    public var rules: RiskRules?

    public init(
        workerConcurrency: Int = 4, jobLease: Duration = .seconds(30), jobMaxAttempts: Int = 5,
        verifierURL: URL? = nil, verifierTimeout: Duration = .seconds(2), intakeTimeout: Duration = .seconds(2),
        rulesFile: URL? = nil, rules: RiskRules? = nil
    ) {
        self.workerConcurrency = workerConcurrency
        self.jobLease = jobLease
        self.jobMaxAttempts = jobMaxAttempts
        self.verifierURL = verifierURL
        self.verifierTimeout = verifierTimeout
        self.intakeTimeout = intakeTimeout
        self.rulesFile = rulesFile
        self.rules = rules
    }

    /// Reads the settings; throws a `ConfigurationError` naming every bad value.
    public init(environment: [String: String]) throws {
        var env = EnvironmentReader(environment)
        workerConcurrency = env.integer("ONESTOP_REVIEW_WORKER_CONCURRENCY", default: 4, range: 0...512)
        jobLease = .seconds(env.integer("ONESTOP_REVIEW_JOB_LEASE_SECONDS", default: 30, range: 1...3_600))
        jobMaxAttempts = env.integer("ONESTOP_REVIEW_JOB_MAX_ATTEMPTS", default: 5, range: 1...100)
        verifierTimeout = .milliseconds(env.integer("ONESTOP_REVIEW_VERIFIER_TIMEOUT_MS", default: 2_000, range: 1...600_000))
        intakeTimeout = .milliseconds(env.integer("ONESTOP_REVIEW_INTAKE_TIMEOUT_MS", default: 2_000, range: 1...600_000))
        verifierURL = nil
        if let raw = env.optionalString("ONESTOP_REVIEW_VERIFIER_URL") {
            if let url = URL(string: raw), url.scheme == "http" || url.scheme == "https", url.host != nil {
                verifierURL = url
            } else {
                env.require(false, "ONESTOP_REVIEW_VERIFIER_URL=\(raw.prefix(80)) must be an http:// or https:// URL")
            }
        }
        rulesFile = env.optionalString("ONESTOP_REVIEW_RULES_FILE").map { URL(fileURLWithPath: $0) }
        rules = nil
        if !env.problems.isEmpty {
            throw ConfigurationError(problems: env.problems)
        }
    }

    /// The rules to apply: given ones, the configured file, or the bundled file.
    public func loadRules() throws -> RiskRules {
        if let rules { return rules }
        if let rulesFile { return try RiskRules.load(from: rulesFile) }
        guard let bundled = Bundle.module.url(forResource: "Rules/risk-rules", withExtension: "json")
            ?? Bundle.module.url(forResource: "risk-rules", withExtension: "json", subdirectory: "Rules")
        else {
            throw RiskRulesError(description: "the bundled Rules/risk-rules.json is missing from the review service's resources")
        }
        return try RiskRules.load(from: bundled)
    }
}
