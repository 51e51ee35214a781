import Contracts

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The configurable risk rules (`Rules/risk-rules.json`). Every rule has an id; each task gets
/// one check result per rule (passed or flagged), so statistics can count flags by rule.
public struct RiskRules: Codable, Sendable, Hashable {
    /// Flags a declared amount above `above` for the listed service types (`*` = all).
    public struct AmountThreshold: Codable, Sendable, Hashable {
        public var id: String
        public var serviceTypes: [String]
        public var above: Double
        public var detail: String?
        public init(id: String, serviceTypes: [String] = ["*"], above: Double, detail: String? = nil) {
            self.id = id
            self.serviceTypes = serviceTypes
            self.above = above
            self.detail = detail
        }
    }

    /// Flags applicants whose customer key is listed.
    public struct WatchList: Codable, Sendable, Hashable {
        public var id: String
        public var customerKeys: [String]
        public var detail: String?
        public init(id: String, customerKeys: [String], detail: String? = nil) {
            self.id = id
            self.customerKeys = customerKeys
            self.detail = detail
        }
    }

    /// Flags an applicant rejected at least `atLeast` times within `withinDays` days.
    public struct RepeatedRejections: Codable, Sendable, Hashable {
        public var id: String
        public var atLeast: Int
        public var withinDays: Int
        public var detail: String?
        public init(id: String, atLeast: Int, withinDays: Int, detail: String? = nil) {
            self.id = id
            self.atLeast = atLeast
            self.withinDays = withinDays
            self.detail = detail
        }
    }

    public var amountThresholds: [AmountThreshold]
    public var watchList: [WatchList]
    public var repeatedRejections: [RepeatedRejections]

    public init(amountThresholds: [AmountThreshold] = [], watchList: [WatchList] = [], repeatedRejections: [RepeatedRejections] = []) {
        self.amountThresholds = amountThresholds
        self.watchList = watchList
        self.repeatedRejections = repeatedRejections
    }

    public static func load(from url: URL) throws -> RiskRules {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw RiskRulesError(description: "cannot read the risk rules file \(url.path): \(error.localizedDescription)")
        }
        let rules: RiskRules
        do {
            rules = try JSONDecoder().decode(RiskRules.self, from: data)
        } catch {
            throw RiskRulesError(description: "the risk rules file \(url.path) is not valid: \(error)")
        }
        try rules.validate()
        return rules
    }

    /// Rule ids are unique and start with `risk.`; numbers are sensible.
    public func validate() throws {
        let ids = amountThresholds.map(\.id) + watchList.map(\.id) + repeatedRejections.map(\.id)
        var seen = Set<String>()
        for id in ids {
            guard id.hasPrefix("risk."), id.count <= 100 else {
                throw RiskRulesError(description: "risk rule id \(id) must start with `risk.` and be at most 100 characters")
            }
            guard seen.insert(id).inserted else {
                throw RiskRulesError(description: "risk rule id \(id) is used twice")
            }
        }
        for rule in repeatedRejections where rule.atLeast < 1 || rule.withinDays < 1 {
            throw RiskRulesError(description: "risk rule \(rule.id): atLeast and withinDays must be at least 1")
        }
    }

    /// The rules that need no database: amounts and the watch list.
    func evaluateStatic(_ submission: ReviewSubmit.Params) -> [ReviewCheckResult] {
        var results: [ReviewCheckResult] = []
        for rule in amountThresholds {
            let applies = rule.serviceTypes.contains("*") || rule.serviceTypes.contains(submission.serviceType)
            if applies, let amount = submission.declaredAmount, amount > rule.above {
                results.append(ReviewCheckResult(ruleId: rule.id, outcome: .flagged, detail: rule.detail ?? "the declared amount is above \(rule.above)"))
            } else {
                results.append(ReviewCheckResult(ruleId: rule.id, outcome: .passed, detail: applies ? "the declared amount is within \(rule.above)" : "does not apply to \(submission.serviceType)"))
            }
        }
        let keys = [submission.applicant.customerKey] + (submission.principal.map { [$0.customerKey] } ?? [])
        for rule in watchList {
            if keys.contains(where: rule.customerKeys.contains) {
                results.append(ReviewCheckResult(ruleId: rule.id, outcome: .flagged, detail: rule.detail ?? "the applicant is on the watch list"))
            } else {
                results.append(ReviewCheckResult(ruleId: rule.id, outcome: .passed, detail: "not on the watch list"))
            }
        }
        return results
    }
}

public struct RiskRulesError: Error, CustomStringConvertible {
    public let description: String
}
