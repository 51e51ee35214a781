import Contracts

/// Everything a client can ask the gateway to do, and who may. One place holds the permission
/// matrix (role × action); the tests walk all of it.
enum GatewayAction: String, Sendable, CaseIterable {
    // Anyone (customers have no account; they prove a case with tracking number + access code).
    case readCatalog, applyOnline, trackCase, supplementAsCustomer, objectAsCustomer, withdrawAsCustomer
    case fileComplaintAsCustomer, rateCase, login
    // Any member of staff with a session.
    case readOwnSessions, manageOwnSessions
    // Cases.
    case registerCase, findCases, readCase, readTimeline, supplementAsStaff, requestAdditionalItems
    case requestArchiveAccess, approveArchiveAccess, setDutyOfficer
    // Review.
    case readReviewQueue, readReviewTask, decideReview, setOwnDuty, manageReviewers, readReviewStats
    // Routing and processing.
    case readDepartmentQueue, readMyCases, readOverdue, readAssignment, processCase, approveExtension, transferCase, reopenCase
    case readOrganisation, manageOrganisation
    // Complaints.
    case fileComplaintAsStaff, readComplaints, handleComplaint, readComplaintStats
    // Notifications, administration, reports.
    case readNotificationStatus, manageCatalog, manageUsers, manageTokens, readAudit, readKPIs
    // Open311: a civic app's api_key (an API token with the scope open311) submits requests and
    // follows the ones it submitted.
    case open311Submit, open311Track

    enum Audience: Sendable, Equatable {
        case anyone
        case anyStaff
        case roles(Set<StaffRole>)
    }

    var audience: Audience {
        switch self {
        case .readCatalog, .applyOnline, .trackCase, .supplementAsCustomer, .objectAsCustomer, .withdrawAsCustomer,
             .fileComplaintAsCustomer, .rateCase, .login:
            .anyone
        case .readOwnSessions, .manageOwnSessions, .findCases, .readCase, .readTimeline, .requestArchiveAccess:
            .anyStaff
        case .registerCase, .supplementAsStaff: .roles([.intakeOfficer, .supervisor])
        case .requestAdditionalItems, .approveArchiveAccess: .roles([.supervisor])
        case .setDutyOfficer: .roles([.supervisor, .administrator])
        case .readReviewQueue, .readReviewTask, .decideReview, .setOwnDuty: .roles([.reviewer, .supervisor])
        case .manageReviewers: .roles([.supervisor, .administrator])
        case .readReviewStats: .roles([.supervisor])
        case .readDepartmentQueue: .roles([.handler, .routingOfficer, .supervisor])
        case .readMyCases: .roles([.handler])
        // Routing scopes it: a department-bound caller sees only their own department.
        case .readOverdue: .roles([.handler, .routingOfficer, .supervisor])
        case .readAssignment: .roles([.handler, .routingOfficer, .complaintOfficer, .supervisor])
        case .processCase, .approveExtension: .roles([.handler, .routingOfficer])
        case .transferCase: .roles([.routingOfficer, .handler])
        case .reopenCase: .roles([.routingOfficer, .complaintOfficer])
        case .readOrganisation: .roles([.routingOfficer, .supervisor, .administrator])
        case .manageOrganisation: .roles([.routingOfficer, .administrator])
        case .fileComplaintAsStaff: .roles([.complaintOfficer, .intakeOfficer, .supervisor])
        case .readComplaints, .handleComplaint, .readComplaintStats: .roles([.complaintOfficer, .supervisor])
        case .readNotificationStatus: .roles([.intakeOfficer, .complaintOfficer, .supervisor, .administrator])
        case .manageCatalog, .manageUsers, .manageTokens: .roles([.administrator])
        case .readAudit, .readKPIs: .roles([.supervisor, .administrator])
        case .open311Submit, .open311Track: .roles(Set(StaffRole.allCases))
        }
    }

    /// The token scope an integration needs for this action (sessions are not scoped).
    var scope: TokenScope {
        switch self {
        case .readCatalog, .trackCase, .findCases, .readCase, .readTimeline, .readAssignment, .readNotificationStatus:
            .casesRead
        case .applyOnline, .supplementAsCustomer, .objectAsCustomer, .withdrawAsCustomer, .registerCase,
             .supplementAsStaff, .requestAdditionalItems, .requestArchiveAccess:
            .casesWrite
        case .readReviewQueue, .readReviewTask, .decideReview, .setOwnDuty, .readReviewStats: .review
        case .readDepartmentQueue, .readMyCases, .readOverdue, .processCase, .approveExtension, .transferCase, .reopenCase, .readOrganisation: .processing
        case .fileComplaintAsCustomer, .rateCase, .fileComplaintAsStaff, .readComplaints, .handleComplaint, .readComplaintStats:
            .complaints
        case .login, .readOwnSessions, .manageOwnSessions, .approveArchiveAccess, .setDutyOfficer, .manageReviewers,
             .manageOrganisation, .manageCatalog, .manageUsers, .manageTokens, .readAudit:
            .administration
        case .readKPIs: .reports
        case .open311Submit, .open311Track: .open311
        }
    }

    /// Open311 actions: for an application's api_key only.
    var isOpen311: Bool {
        self == .open311Submit || self == .open311Track
    }

    /// Actions whose department-bound callers (a handler, or anyone with a department) only see
    /// their own department.
    var isDepartmentScoped: Bool {
        self == .readDepartmentQueue
    }

    /// Why `caller` may not do this, or nil when they may.
    func denial(for caller: Caller) -> Problem? {
        switch audience {
        case .anyone:
            return nil
        case .anyStaff, .roles:
            guard caller.isAuthenticated else {
                if isOpen311 { return .unauthenticated("api_key is required: an API token with the scope open311 (form field api_key or Authorization: Bearer)", zh: "需要 api_key：一个具有 open311 权限范围的 API 令牌（表单字段 api_key 或 Authorization: Bearer）") }
                return .unauthenticated("\(rawValue) needs a staff login (session cookie) or an API token", zh: "\(rawValue) 需要工作人员登录（会话 Cookie）或 API 令牌")
            }
        }
        if isOpen311, caller.sessionID != nil {
            return .unauthenticated("Open311 requests are made by applications with an api_key (an API token with the scope open311), not with a staff session", zh: "Open311 请求须由应用凭 api_key（具有 open311 权限范围的 API 令牌）发起，不能使用工作人员会话")
        }
        if case .token(_, let scopes) = caller.credential, !scopes.contains(scope) {
            return .forbidden("this API token lacks the scope \(scope.rawValue) needed for \(rawValue)", zh: "此 API 令牌缺少 \(rawValue) 所需的权限范围 \(scope.rawValue)")
        }
        if case .token = caller.credential, self == .readOwnSessions || self == .manageOwnSessions {
            return .forbidden("sessions belong to people; an API token has none", zh: "会话属于个人，API 令牌没有会话")
        }
        if case .roles(let allowed) = audience, caller.roles.isDisjoint(with: allowed) {
            let needed = allowed.map(\.rawValue).sorted().joined(separator: " or ")
            return .forbidden("\(rawValue) needs the role \(needed); \(caller.id) has \(caller.roles.map(\.rawValue).sorted().joined(separator: ", "))", zh: "\(rawValue) 需要角色 \(needed.replacingOccurrences(of: " or ", with: " 或 "))；\(caller.id) 的角色为 \(caller.roles.map(\.rawValue).sorted().joined(separator: ", "))")
        }
        return nil
    }

    /// For department-scoped actions: whether `caller` may act on `department`.
    func allows(_ caller: Caller, department: String) -> Bool {
        guard isDepartmentScoped, let own = caller.department else { return true }
        // Routing officers work across departments; a department-bound role sees its own.
        if caller.roles.contains(.routingOfficer) { return true }
        return own == department
    }
}
