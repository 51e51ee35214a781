import Contracts
@testable import ReviewService
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Each automated check rule on its own (no database, no network).
@Suite("Check rules")
struct CheckRuleTests {
    @Test func aWellFormedResidentIDPassesAndIsStoredMasked() {
        let (results, masked) = ReviewChecks.identity(submission())
        #expect(results.map(\.outcome) == [.passed])
        #expect(results[0].ruleId == "identity.document")
        #expect(!masked.contains(validID))
        #expect(!results[0].detail.contains(validID))
    }

    @Test func aMistypedCheckCharacterIsFlagged() {
        var wrong = validID
        wrong.removeLast()
        wrong += validID.hasSuffix("1") ? "2" : "1"
        let (results, _) = ReviewChecks.identity(submission(idNumber: wrong))
        #expect(results[0].outcome == .flagged)
        #expect(results[0].detail.contains("check"))
    }

    @Test func aCreditCodeWithAWrongChecksumIsFlaggedAndAGoodOnePasses() {
        var company = submission()
        company.applicantType = .company
        company.applicant.idType = "unified_social_credit_code"
        company.applicant.idNumber = "91350100M000100Y43"
        #expect(ReviewChecks.identity(company).results[0].outcome == .passed)
        company.applicant.idNumber = "91350100M000100Y44"
        #expect(ReviewChecks.identity(company).results[0].outcome == .flagged)
    }

    @Test func anUnknownDocumentTypeIsFlagged() {
        var params = submission()
        params.applicant.idType = "library_card"
        #expect(ReviewChecks.identity(params).results[0].outcome == .flagged)
    }

    @Test func aRepresentativeWithoutAPrincipalFailsRequiredFields() {
        var params = submission()
        params.applicantType = .representative
        let result = ReviewChecks.requiredFields(params)
        #expect(result.outcome == .flagged)
        #expect(result.detail.contains("principal"))
        #expect(ReviewChecks.requiredFields(submission()).outcome == .passed)
        #expect(ReviewChecks.requiredFields(submission(description: "  ")).outcome == .flagged)
    }

    @Test func materialsShortOfTheCatalogAreFlaggedWithWhatIsMissing() {
        let short = ReviewChecks.materials(submission(materials: [MaterialItem(code: "form", copies: 1)]))
        #expect(short.outcome == .flagged)
        #expect(short.detail.contains("id_card (0 of 1)"))
        #expect(short.detail.contains("form (1 of 2)"))
        #expect(ReviewChecks.materials(submission()).outcome == .passed)
    }

    @Test func amountThresholdsAndTheWatchListFireWithTheirRuleIds() {
        let rules = ReviewHarness.testRules()
        let high = rules.evaluateStatic(submission(amount: 5_000))
        #expect(high.first { $0.ruleId == "risk.amount.high" }?.outcome == .flagged)
        #expect(high.first { $0.ruleId == "risk.watchlist" }?.outcome == .passed)
        let watched = rules.evaluateStatic(submission(customerKey: "ck-watched", amount: 10))
        #expect(watched.first { $0.ruleId == "risk.amount.high" }?.outcome == .passed)
        #expect(watched.first { $0.ruleId == "risk.watchlist" }?.outcome == .flagged)
    }

    @Test func theBundledRulesFileLoadsAndBadRulesAreRefused() throws {
        let rules = try ReviewSettings().loadRules()
        #expect(!rules.amountThresholds.isEmpty)
        let duplicate = RiskRules(amountThresholds: [.init(id: "risk.a", above: 1)], watchList: [.init(id: "risk.a", customerKeys: [])])
        #expect(throws: RiskRulesError.self) { try duplicate.validate() }
        let unprefixed = RiskRules(amountThresholds: [.init(id: "amount", above: 1)])
        #expect(throws: RiskRulesError.self) { try unprefixed.validate() }
    }

    @Test func settingsComeFromTheEnvironmentAndBadValuesAreNamed() throws {
        let settings = try ReviewSettings(environment: [
            "ONESTOP_REVIEW_WORKER_CONCURRENCY": "8", "ONESTOP_REVIEW_VERIFIER_URL": "http://127.0.0.1:9/verify",
            "ONESTOP_REVIEW_VERIFIER_TIMEOUT_MS": "250",
        ])
        #expect(settings.workerConcurrency == 8)
        #expect(settings.verifierURL?.port == 9)
        #expect(settings.verifierTimeout == .milliseconds(250))
        #expect(throws: (any Error).self) {
            try ReviewSettings(environment: ["ONESTOP_REVIEW_WORKER_CONCURRENCY": "many", "ONESTOP_REVIEW_VERIFIER_URL": "ftp://x"])
        }
    }
}
