import Contracts

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The complaint classification rules, read from a JSON file (`Rules/classification.json`, or the
/// file named by `ONESTOP_COMPLAINTS_RULES_FILE`): the category list, keywords that pick a
/// category, which categories are major, what raises severity, the root-cause list and the
/// low-rating threshold.
public struct ClassificationRules: Sendable, Decodable {
    public struct KeywordRule: Sendable, Decodable {
        public var category: String
        /// Matched case-insensitively anywhere in the content; the first rule that matches wins.
        public var any: [String]
    }

    public struct Raises: Sendable, Decodable {
        public var overdueCase: Bool
        public var vulnerableCustomer: Bool
        /// A second complaint by the same phone or email within this many days rises a level; 0 = off.
        public var repeatWithinDays: Int
    }

    /// A staff member told when a general complaint is assigned to their department.
    public struct Contact: Sendable, Decodable {
        public var id: String?
        public var name: String
        public var phone: String?
        public var email: String?
        public init(id: String? = nil, name: String, phone: String? = nil, email: String? = nil) {
            self.id = id
            self.name = name
            self.phone = phone
            self.email = email
        }
    }

    public var categories: [String]
    public var defaultCategory: String
    public var rootCauses: [String]
    public var keywords: [KeywordRule]
    public var majorCategories: [String]
    public var raises: Raises
    /// A rating at or below this opens a follow-up complaint.
    public var lowRatingThreshold: Int
    public var lowRatingCategory: String
    public var departmentContacts: [String: Contact]?
    /// Categories of complaints about a decision: upheld or partly upheld, with a linked case,
    /// they ask routing to re-check (reopen) the case. Absent = `wrong_decision` when listed.
    public var recheckCategories: [String]?

    var caseRecheckCategories: [String] {
        recheckCategories ?? categories.filter { $0 == "wrong_decision" }
    }

    /// What the rules decide for a complaint, with the reasons in plain words.
    public struct Decision: Sendable, Equatable {
        public var category: String
        public var severity: ComplaintSeverity
        public var reasons: [String]
    }

    /// The facts the rules look at.
    public struct Facts: Sendable {
        public var content: String
        public var caseOverdue: Bool
        public var vulnerable: Bool
        /// Complaints by the same phone or email within `raises.repeatWithinDays`.
        public var recentComplaintsBySameComplainant: Int
        /// A category fixed beforehand (a follow-up of a low rating), skipping the keywords.
        public var category: String?

        public init(content: String, caseOverdue: Bool, vulnerable: Bool, recentComplaintsBySameComplainant: Int, category: String? = nil) {
            self.content = content
            self.caseOverdue = caseOverdue
            self.vulnerable = vulnerable
            self.recentComplaintsBySameComplainant = recentComplaintsBySameComplainant
            self.category = category
        }
    }

    public func classify(_ facts: Facts) -> Decision {
        var reasons: [String] = []
        let category: String
        if let fixed = facts.category {
            category = fixed
        } else {
            let text = facts.content.lowercased()
            if let rule = keywords.first(where: { rule in rule.any.contains { text.contains($0.lowercased()) } }) {
                category = rule.category
                reasons.append("category \(rule.category) by keyword")
            } else {
                category = defaultCategory
            }
        }
        var severity = ComplaintSeverity.general
        if majorCategories.contains(category) {
            severity = .major
            reasons.append("\(category) complaints are major")
        }
        var raisedBy: [String] = []
        if raises.overdueCase && facts.caseOverdue { raisedBy.append("the case complained about is overdue") }
        if raises.vulnerableCustomer && facts.vulnerable { raisedBy.append("the complainant is a vulnerable customer") }
        if raises.repeatWithinDays > 0 && facts.recentComplaintsBySameComplainant > 0 {
            raisedBy.append("a repeated complaint within \(raises.repeatWithinDays) days")
        }
        if !raisedBy.isEmpty {
            // Two levels only: any rise makes a general complaint major.
            severity = .major
            reasons.append(contentsOf: raisedBy.map { "rises a level: \($0)" })
        }
        return Decision(category: category, severity: severity, reasons: reasons)
    }

    /// Checks the file's internal consistency; returns every problem.
    public func problems() -> [String] {
        var problems: [String] = []
        if categories.isEmpty { problems.append("categories must not be empty") }
        if rootCauses.isEmpty { problems.append("rootCauses must not be empty") }
        if !categories.contains(defaultCategory) { problems.append("defaultCategory \(defaultCategory) is not in categories") }
        if !categories.contains(lowRatingCategory) { problems.append("lowRatingCategory \(lowRatingCategory) is not in categories") }
        for rule in keywords where !categories.contains(rule.category) {
            problems.append("keyword rule category \(rule.category) is not in categories")
        }
        for category in majorCategories where !categories.contains(category) {
            problems.append("major category \(category) is not in categories")
        }
        for category in recheckCategories ?? [] where !categories.contains(category) {
            problems.append("recheck category \(category) is not in categories")
        }
        if !(0...5).contains(lowRatingThreshold) { problems.append("lowRatingThreshold must be 0…5") }
        if raises.repeatWithinDays < 0 { problems.append("raises.repeatWithinDays must not be negative") }
        return problems
    }

    // MARK: Loading

    public static func load(contentsOf url: URL) throws -> ClassificationRules {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ComplaintsConfigurationError("cannot read the complaint rules at \(url.path): \(error)")
        }
        let rules: ClassificationRules
        do { rules = try JSONDecoder().decode(ClassificationRules.self, from: data) } catch {
            throw ComplaintsConfigurationError("the complaint rules at \(url.path) are not valid: \(error)")
        }
        let problems = rules.problems()
        guard problems.isEmpty else {
            throw ComplaintsConfigurationError("the complaint rules at \(url.path): " + problems.joined(separator: "; "))
        }
        return rules
    }

    /// The rules shipped with the service.
    public static var bundled: ClassificationRules {
        get throws {
            guard let url = Bundle.module.url(forResource: "classification", withExtension: "json", subdirectory: "Rules") else {
                throw ComplaintsConfigurationError("the bundled complaint rules are missing from the service's resources")
            }
            return try load(contentsOf: url)
        }
    }
}

/// A bad complaints setting or rules file; the service refuses to start.
public struct ComplaintsConfigurationError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
