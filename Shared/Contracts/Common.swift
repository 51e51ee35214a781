#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

// Wire types used by more than one service's methods. Contracts only grow: add optional fields
// and new cases at the end; never rename or retype a field in place.

/// How urgent a case is; urgent and special cases jump every queue (the green channel).
public enum CasePriority: String, Codable, Sendable, CaseIterable {
    case regular, urgent, special

    /// Higher runs first in queues.
    public var rank: Int {
        switch self {
        case .regular: 0
        case .urgent: 2
        case .special: 1
        }
    }
}

/// Who applies: a person for themself, a company, or someone acting for another with a power of attorney.
public enum ApplicantType: String, Codable, Sendable, CaseIterable {
    case individual, company, representative
}

/// Where an application or complaint came in.
public enum IntakeChannel: String, Codable, Sendable, CaseIterable {
    case online, phone, counter, email
    case suggestionBox = "suggestion_box"
}

/// How closely a case's data is held; reads of confidential and secret cases are audited.
public enum Confidentiality: String, Codable, Sendable, CaseIterable {
    case normal, confidential, secret
}

/// The languages customer texts are written in.
public enum CustomerLocale: String, Codable, Sendable, CaseIterable {
    case zhCN = "zh-CN"
    case en
}

/// A material as handed in or as the catalog requires it.
public struct MaterialItem: Codable, Sendable, Hashable {
    /// The catalog's code for the material, e.g. `id_card`, `power_of_attorney`.
    public var code: String
    public var name: String?
    public var copies: Int
    /// An original (true) or a copy (false).
    public var original: Bool

    public init(code: String, name: String? = nil, copies: Int = 1, original: Bool = true) {
        self.code = code
        self.name = name
        self.copies = copies
        self.original = original
    }
}

/// Where and how a result is collected.
public struct Pickup: Codable, Sendable, Hashable {
    public var time: String
    public var place: String
    /// e.g. "in person at window 3", "by post".
    public var way: String

    public init(time: String, place: String, way: String) {
        self.time = time
        self.place = place
        self.way = way
    }
}

/// A staff member as recorded on a case: who did something, in which role.
public struct StaffRef: Codable, Sendable, Hashable {
    public var id: String
    public var name: String?
    public var role: String?

    public init(id: String, name: String? = nil, role: String? = nil) {
        self.id = id
        self.name = name
        self.role = role
    }
}
