import ComplaintsService
import Contracts
import Testing

@Suite("Complaint classification rules")
struct ClassificationRulesTests {
    let rules: ClassificationRules

    init() throws {
        rules = try ClassificationRules.bundled
    }

    func facts(_ content: String, overdue: Bool = false, vulnerable: Bool = false, recent: Int = 0) -> ClassificationRules.Facts {
        ClassificationRules.Facts(content: content, caseOverdue: overdue, vulnerable: vulnerable, recentComplaintsBySameComplainant: recent)
    }

    @Test func theBundledRulesAreConsistent() {
        #expect(rules.problems().isEmpty)
        #expect(rules.categories == ["attitude", "delay", "wrong_decision", "process", "environment", "data_protection", "other"])
    }

    @Test(arguments: [
        ("The clerk was rude to me", "attitude"),
        ("I have been still waiting for three weeks", "delay"),
        ("My application was wrongly rejected", "wrong_decision"),
        ("The procedure needs too many documents", "process"),
        ("There are no seats in the waiting area", "environment"),
        ("My personal data was shown to another customer", "data_protection"),
        ("Something else entirely", "other"),
    ])
    func keywordsPickTheCategory(content: String, category: String) {
        #expect(rules.classify(facts(content)).category == category)
    }

    @Test func dataProtectionComplaintsAreMajor() {
        let decision = rules.classify(facts("They leaked my personal data"))
        #expect(decision.category == "data_protection")
        #expect(decision.severity == .major)
        #expect(decision.reasons.contains("data_protection complaints are major"))
    }

    @Test func anOrdinaryComplaintIsGeneral() {
        let decision = rules.classify(facts("The clerk was rude to me"))
        #expect(decision.severity == .general)
        #expect(!decision.reasons.contains { $0.hasPrefix("rises a level") })
    }

    @Test func aComplaintAboutAnOverdueCaseRisesALevel() {
        let decision = rules.classify(facts("The clerk was rude to me", overdue: true))
        #expect(decision.severity == .major)
        #expect(decision.reasons.contains("rises a level: the case complained about is overdue"))
    }

    @Test func aVulnerableCustomersComplaintRisesALevel() {
        let decision = rules.classify(facts("The clerk was rude to me", vulnerable: true))
        #expect(decision.severity == .major)
        #expect(decision.reasons.contains("rises a level: the complainant is a vulnerable customer"))
    }

    @Test func aRepeatedComplaintRisesALevel() {
        let decision = rules.classify(facts("The clerk was rude to me", recent: 1))
        #expect(decision.severity == .major)
        #expect(decision.reasons.contains("rises a level: a repeated complaint within 30 days"))
    }

    @Test func risesCanBeSwitchedOffInTheRulesFile() {
        var relaxed = rules
        relaxed.raises.overdueCase = false
        relaxed.raises.vulnerableCustomer = false
        relaxed.raises.repeatWithinDays = 0
        #expect(relaxed.classify(facts("The clerk was rude", overdue: true, vulnerable: true, recent: 3)).severity == .general)
    }

    @Test func aRulesFileNamingUnknownCategoriesIsRefused() {
        var broken = rules
        broken.majorCategories = ["fraud"]
        broken.defaultCategory = "misc"
        let problems = broken.problems()
        #expect(problems.contains("major category fraud is not in categories"))
        #expect(problems.contains("defaultCategory misc is not in categories"))
    }
}
