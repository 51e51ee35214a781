import Contracts
import LineProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Who is calling, as the gateway established it from a session cookie or an API token.
struct Caller: Sendable {
    enum Credential: Sendable, Equatable {
        case none
        case session(UUID)
        /// An integration's token; it may do only what its scopes and roles both allow.
        case token(UUID, scopes: Set<TokenScope>)
    }

    var credential: Credential
    /// The staff user id (sessions) or `token:<name>` (integrations).
    var id: String
    var roles: Set<StaffRole>
    /// The department a department-bound role is limited to; nil = hall-wide.
    var department: String?

    static let anonymous = Caller(credential: .none, id: "anonymous", roles: [], department: nil)

    var isAuthenticated: Bool { credential != .none }

    /// What the services see in `_meta.actor`.
    var actor: RPCActor? {
        guard isAuthenticated else { return nil }
        return RPCActor(id: id, roles: roles.map(\.rawValue).sorted(), department: department)
    }

    var sessionID: UUID? {
        if case .session(let id) = credential { return id }
        return nil
    }
}

/// What an API token may be used for. A token also carries roles; a route needs both.
enum TokenScope: String, Sendable, Codable, CaseIterable, Hashable {
    case casesRead = "cases:read"
    case casesWrite = "cases:write"
    case review
    case processing
    case complaints
    case administration
    case reports
    /// Civic apps posting requests through Open311 (`api_key`).
    case open311
}
