import Contracts
import Identity

/// The automated checks that need nothing but the submission: pure functions, so each rule is
/// tested without a database. Rule ids are stable; statistics count flags by them.
enum ReviewChecks {
    static let identityRule = "identity.document"
    static let principalIdentityRule = "identity.principal"
    static let requiredFieldsRule = "fields.required"
    static let materialsRule = "materials.count"
    static let duplicateRule = "duplicate.open_case"
    static let externalRule = "external.verification"

    /// Whether a number arrived masked (intake sends `110***********002X`).
    static func isMasked(_ number: String) -> Bool { number.contains("*") }

    /// Checksums of the applicant's (and principal's) ID documents; run at submission, while the
    /// clear numbers are at hand, because review stores only masked numbers.
    static func identity(_ submission: ReviewSubmit.Params) -> (results: [ReviewCheckResult], applicantMasked: String) {
        let (applicant, masked) = document(submission.applicant, rule: identityRule, role: "applicant")
        var results = [applicant]
        if let principal = submission.principal {
            results.append(document(principal, rule: principalIdentityRule, role: "principal").0)
        }
        return (results, masked)
    }

    private static func document(_ person: ReviewSubmit.Applicant, rule: String, role: String) -> (ReviewCheckResult, String) {
        guard let type = IdentityDocumentType(rawValue: person.idType) else {
            let kinds = IdentityDocumentType.allCases.map(\.rawValue).joined(separator: ", ")
            return (ReviewCheckResult(ruleId: rule, outcome: .flagged, detail: "the \(role)'s document type \(person.idType.prefix(40)) is not one of \(kinds)"),
                    Masking.mask(person.idNumber, keepingPrefix: 2, suffix: 2))
        }
        do {
            let document = try IdentityDocument(type: type, number: person.idNumber)
            return (ReviewCheckResult(ruleId: rule, outcome: .passed, detail: "the \(role)'s \(type.rawValue) \(document.masked) is well formed"), document.masked)
        } catch {
            return (ReviewCheckResult(ruleId: rule, outcome: .flagged, detail: "the \(role)'s \(type.rawValue): \(error.message)"),
                    Masking.mask(person.idNumber, keepingPrefix: 2, suffix: 2))
        }
    }

    /// The fields a decision needs are present and plausible.
    static func requiredFields(_ submission: ReviewSubmit.Params) -> ReviewCheckResult {
        var missing: [String] = []
        func blank(_ value: String) -> Bool { value.allSatisfy(\.isWhitespace) }
        if blank(submission.applicant.name) { missing.append("applicant.name") }
        if blank(submission.applicant.idNumber) { missing.append("applicant.idNumber") }
        if blank(submission.applicant.customerKey) { missing.append("applicant.customerKey") }
        if blank(submission.description) { missing.append("description") }
        if blank(submission.serviceName) { missing.append("serviceName") }
        if blank(submission.department) { missing.append("department") }
        if submission.timeLimitWorkingDays < 1 { missing.append("timeLimitWorkingDays (at least 1)") }
        if submission.applicantType == .representative, submission.principal == nil {
            missing.append("principal (a representative acts for someone)")
        }
        if let amount = submission.declaredAmount, amount < 0 || !amount.isFinite { missing.append("declaredAmount (not negative)") }
        if missing.isEmpty {
            return ReviewCheckResult(ruleId: requiredFieldsRule, outcome: .passed, detail: "every required field is present")
        }
        return ReviewCheckResult(ruleId: requiredFieldsRule, outcome: .flagged, detail: "missing or invalid: \(missing.joined(separator: ", "))")
    }

    /// Every material the catalog requires was handed in, in enough copies.
    static func materials(_ submission: ReviewSubmit.Params) -> ReviewCheckResult {
        var handedIn: [String: Int] = [:]
        for item in submission.materials { handedIn[item.code, default: 0] += max(0, item.copies) }
        var short: [String] = []
        for required in submission.requiredMaterials {
            let have = handedIn[required.code] ?? 0
            let need = max(1, required.copies)
            if have < need { short.append("\(required.code) (\(have) of \(need))") }
        }
        if short.isEmpty {
            return ReviewCheckResult(
                ruleId: materialsRule, outcome: .passed,
                detail: "\(submission.materials.count) materials handed in, all \(submission.requiredMaterials.count) required present"
            )
        }
        return ReviewCheckResult(ruleId: materialsRule, outcome: .flagged, detail: "short of required materials: \(short.joined(separator: ", "))")
    }
}
