import Contracts
import Hummingbird
import JSONCoding
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Logging in and out, one's own sessions, staff users, API tokens and the access audit.
enum IdentityRoutes {
    static var routes: [RouteSpec] {
        [
            RouteSpec(method: .post, path: "/v1/auth/login", action: .login, tag: "identity",
                      summary: "Log in with user id and password; sets the session cookie (HttpOnly, SameSite=Strict).",
                      body: .object(required: true),
                      bodySchema: ["type": "object", "required": ["user", "password"],
                                   "properties": ["user": ["type": "string", "maxLength": 64], "password": ["type": "string", "maxLength": 256]]]) { request, context, gateway in
                let body = try await gateway.bodies.object(request)
                guard let user = body["user"]?.stringValue, let password = body["password"]?.stringValue,
                      user.count <= 64, password.count <= 256 else {
                    throw Problem.invalid("send {\"user\": ..., \"password\": ...}", zh: "请发送 {\"user\": ..., \"password\": ...}")
                }
                let outcome = try await gateway.identities.login(user: user, password: password, clientAddress: context.clientAddress, userAgent: request.headers[.userAgent])
                await gateway.recordLogin(outcome, user: user, context)
                switch outcome {
                case .refused:
                    throw Problem.unauthenticated("the user id or password is wrong", zh: "用户名或密码错误")
                case .locked(let until):
                    throw Problem.tooManyRequests("too many wrong passwords; the account is locked for a while", zh: "密码错误次数过多，账号已暂时锁定", retryAfterSeconds: Int(until.timeIntervalSinceNow.rounded(.up)))
                case .success(let sessionID, let cookie, let user, let expiresAt):
                    var headers = HTTPFields()
                    headers[.setCookie] = sessionCookie(cookie, maxAge: Int(IdentityStore.seconds(gateway.settings.sessionAbsolute)), secure: gateway.settings.secureCookies)
                    return try .json(encoding: LoginResult(sessionId: sessionID.lowercasedString, user: user, expiresAt: expiresAt), headers: headers)
                }
            },
            RouteSpec(method: .post, path: "/v1/auth/logout", action: .manageOwnSessions, tag: "identity",
                      summary: "End this session; the cookie stops working at once.") { _, context, gateway in
                try await gateway.authorise(.manageOwnSessions, context)
                if let id = context.caller.sessionID { _ = try await gateway.identities.revokeSession(id, of: context.caller.id) }
                var headers = HTTPFields()
                headers[.setCookie] = sessionCookie("", maxAge: 0, secure: gateway.settings.secureCookies)
                return Response(status: .noContent, headers: headers)
            },
            RouteSpec(method: .get, path: "/v1/auth/me", action: .readOwnSessions, tag: "identity", summary: "Who I am: id, roles, department.") { _, context, gateway in
                try await gateway.authorise(.readOwnSessions, context)
                return try .json(encoding: Me(id: context.caller.id, roles: context.caller.roles.sorted { $0.rawValue < $1.rawValue }, department: context.caller.department))
            },
            RouteSpec(method: .get, path: "/v1/auth/sessions", action: .readOwnSessions, tag: "identity", summary: "My live sessions.") { _, context, gateway in
                try await gateway.authorise(.readOwnSessions, context)
                let sessions = try await gateway.identities.sessions(of: context.caller.id, current: context.caller.sessionID)
                return try .json(encoding: ["sessions": sessions])
            },
            RouteSpec(method: .delete, path: "/v1/auth/sessions/{sessionId}", action: .manageOwnSessions, tag: "identity",
                      summary: "End one of my sessions (e.g. on a lost device).", successStatus: .noContent) { _, context, gateway in
                try await gateway.authorise(.manageOwnSessions, context)
                guard let id = context.parameters.get("sessionId").flatMap(UUID.init(uuidString:)),
                      try await gateway.identities.revokeSession(id, of: context.caller.id) else {
                    throw Problem.notFound("you have no live session with this id", zh: "您没有此 id 的有效会话")
                }
                return Response(status: .noContent)
            },

            RouteSpec(method: .get, path: "/v1/users", action: .manageUsers, tag: "identity", summary: "Staff users by id, one page at a time.",
                      query: [.init("after", .string, "nextCursor of the previous page"), .init("limit", .integer)]) { request, context, gateway in
                try await gateway.authorise(.manageUsers, context)
                let limit = try limit(request)
                let page = try await gateway.identities.listUsers(after: request.uri.queryParameters.get("after"), limit: limit)
                return try .json(encoding: UserPage(users: page.users, nextCursor: page.next))
            },
            RouteSpec(method: .post, path: "/v1/users", action: .manageUsers, tag: "identity",
                      summary: "Create a staff user with roles, department and an initial password.",
                      body: .object(required: true), successStatus: .created,
                      bodySchema: ["type": "object", "required": ["id", "displayName", "roles", "password"], "properties": [
                          "id": ["type": "string", "pattern": "^[a-z][a-z0-9._-]{1,63}$"],
                          "displayName": ["type": "string", "minLength": 1, "maxLength": 100],
                          "roles": ["type": "array", "minItems": 1, "items": ["type": "string", "enum": .array(StaffRole.allCases.map { .string($0.rawValue) })]],
                          "department": ["type": ["string", "null"], "minLength": 1, "maxLength": 64],
                          "password": ["type": "string", "minLength": 12, "maxLength": 256],
                      ]]) { request, context, gateway in
                try await gateway.authorise(.manageUsers, context)
                let body = try await gateway.bodies.object(request)
                var problems: [LocalizedText] = []
                let id = body["id"]?.stringValue ?? ""
                if !StaffUserID.isValid(id) { problems.append(LocalizedText("id: \(StaffUserID.rule.en)", zh: "id：\(StaffUserID.rule.zhCN)")) }
                let name = body["displayName"]?.stringValue ?? ""
                if name.isEmpty || name.count > 100 { problems.append(LocalizedText("displayName: 1 to 100 characters", zh: "displayName：1 至 100 个字符")) }
                let roles = parseRoles(body["roles"], problems: &problems) ?? []
                if roles.isEmpty { problems.append(LocalizedText("roles: at least one of \(roleNames)", zh: "roles：至少一个，可选 \(roleNames)")) }
                let department = parseDepartment(body["department"], problems: &problems) ?? nil
                let password = body["password"]?.stringValue ?? ""
                problems += passwordProblems(password)
                guard problems.isEmpty else { throw Problem.invalid("the user cannot be created", zh: "无法创建该用户", problems: problems) }
                let user = try await gateway.identities.createUser(id: id, displayName: name, roles: roles, department: department, password: password)
                return try .json(encoding: user, status: .created)
            },
            RouteSpec(method: .patch, path: "/v1/users/{userId}", action: .manageUsers, tag: "identity",
                      summary: "Change a user's name, roles, department or password, or disable them (ends their sessions).",
                      body: .object(required: true)) { request, context, gateway in
                try await gateway.authorise(.manageUsers, context)
                let body = try await gateway.bodies.object(request)
                var problems: [LocalizedText] = []
                let name = body["displayName"]?.stringValue
                if let name, name.isEmpty || name.count > 100 { problems.append(LocalizedText("displayName: 1 to 100 characters", zh: "displayName：1 至 100 个字符")) }
                let roles = parseRoles(body["roles"], problems: &problems)
                if let roles, roles.isEmpty { problems.append(LocalizedText("roles: at least one", zh: "roles：至少一个")) }
                let department = parseDepartment(body["department"], problems: &problems)
                let password = body["password"]?.stringValue
                if let password { problems += passwordProblems(password) }
                var disabled: Bool?
                if let value = body["disabled"] {
                    if let flag = value.boolValue { disabled = flag } else { problems.append(LocalizedText("disabled: true or false", zh: "disabled：须为 true 或 false")) }
                }
                guard problems.isEmpty else { throw Problem.invalid("the user cannot be changed", zh: "无法修改该用户", problems: problems) }
                let id = context.parameters.get("userId") ?? ""
                if id == context.caller.id, disabled == true || (roles != nil && !roles!.contains(.administrator)) {
                    throw Problem.conflict("administrators cannot disable themselves or drop their own administrator role", zh: "管理员不能停用自己，也不能取消自己的管理员角色")
                }
                let user = try await gateway.identities.updateUser(id: id, displayName: name, roles: roles, department: department, password: password, disabled: disabled)
                return try .json(encoding: user)
            },

            RouteSpec(method: .get, path: "/v1/tokens", action: .manageTokens, tag: "identity", summary: "API tokens (never the token itself).") { _, context, gateway in
                try await gateway.authorise(.manageTokens, context)
                return try .json(encoding: ["tokens": try await gateway.identities.tokens()])
            },
            RouteSpec(method: .post, path: "/v1/tokens", action: .manageTokens, tag: "identity",
                      summary: "Create an API token for an integration, with roles and scopes; the token is shown once.",
                      body: .object(required: true), successStatus: .created,
                      bodySchema: ["type": "object", "required": ["name", "roles", "scopes"], "properties": [
                          "name": ["type": "string", "minLength": 1, "maxLength": 100],
                          "roles": ["type": "array", "minItems": 1, "items": ["type": "string", "enum": .array(StaffRole.allCases.map { .string($0.rawValue) })]],
                          "department": ["type": ["string", "null"], "minLength": 1, "maxLength": 64],
                          "scopes": ["type": "array", "minItems": 1, "items": ["type": "string", "enum": .array(TokenScope.allCases.map { .string($0.rawValue) })]],
                          "expiresInDays": ["type": "integer", "minimum": 1, "maximum": 3650],
                      ]]) { request, context, gateway in
                try await gateway.authorise(.manageTokens, context)
                let body = try await gateway.bodies.object(request)
                var problems: [LocalizedText] = []
                let name = body["name"]?.stringValue ?? ""
                if name.isEmpty || name.count > 100 { problems.append(LocalizedText("name: 1 to 100 characters", zh: "name：1 至 100 个字符")) }
                let roles = parseRoles(body["roles"], problems: &problems) ?? []
                if roles.isEmpty { problems.append(LocalizedText("roles: at least one", zh: "roles：至少一个")) }
                let department = parseDepartment(body["department"], problems: &problems) ?? nil
                var scopes: [TokenScope] = []
                for value in body["scopes"]?.arrayValue ?? [] {
                    if let scope = value.stringValue.flatMap(TokenScope.init(rawValue:)) { scopes.append(scope) } else {
                        problems.append(LocalizedText("scopes: each one of \(scopeNames)", zh: "scopes：每项须为 \(scopeNames) 之一"))
                    }
                }
                if scopes.isEmpty { problems.append(LocalizedText("scopes: at least one of \(scopeNames)", zh: "scopes：至少一个，可选 \(scopeNames)")) }
                var expiresAt: Date?
                if let days = body["expiresInDays"] {
                    if let days = days.intValue, (1...3650).contains(days) { expiresAt = Date().addingTimeInterval(Double(days) * 86_400) } else {
                        problems.append(LocalizedText("expiresInDays: 1 to 3650", zh: "expiresInDays：1 至 3650"))
                    }
                }
                guard problems.isEmpty else { throw Problem.invalid("the token cannot be created", zh: "无法创建该令牌", problems: problems) }
                let created = try await gateway.identities.createToken(name: name, roles: roles, department: department, scopes: scopes, expiresAt: expiresAt, createdBy: context.caller.id)
                return try .json(encoding: CreatedToken(token: created.token, details: created.view), status: .created)
            },
            RouteSpec(method: .delete, path: "/v1/tokens/{tokenId}", action: .manageTokens, tag: "identity",
                      summary: "Revoke an API token.", successStatus: .noContent) { _, context, gateway in
                try await gateway.authorise(.manageTokens, context)
                guard let id = context.parameters.get("tokenId").flatMap(UUID.init(uuidString:)),
                      try await gateway.identities.revokeToken(id) else {
                    throw Problem.notFound("no live token with this id", zh: "没有此 id 的有效令牌")
                }
                return Response(status: .noContent)
            },
            RouteSpec(method: .get, path: "/v1/audit", action: .readAudit, tag: "identity", summary: "Access audit: denials and login decisions, newest first.",
                      query: [.init("before", .integer, "id of the oldest entry already seen"), .init("limit", .integer)]) { request, context, gateway in
                try await gateway.authorise(.readAudit, context)
                var before: Int64?
                if let text = request.uri.queryParameters.get("before") {
                    guard let value = Int64(text) else { throw Problem.invalid("before must be an entry id", zh: "before 须为记录 id") }
                    before = value
                }
                let entries = try await gateway.identities.auditEntries(before: before, limit: try limit(request))
                return try .json(encoding: ["entries": entries])
            },
        ]
    }

    struct LoginResult: Codable, Sendable {
        var sessionId: String
        var user: StaffUser
        var expiresAt: Date
    }

    struct Me: Codable, Sendable {
        var id: String
        var roles: [StaffRole]
        var department: String?
    }

    struct UserPage: Codable, Sendable {
        var users: [StaffUser]
        var nextCursor: String?
    }

    struct CreatedToken: Codable, Sendable {
        var token: String
        var details: TokenView
    }

    static func sessionCookie(_ value: String, maxAge: Int, secure: Bool) -> String {
        "\(AuthenticationMiddleware.cookieName)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    static func limit(_ request: Request) throws -> Int {
        guard let text = request.uri.queryParameters.get("limit") else { return 50 }
        guard let value = Int(text), (1...200).contains(value) else { throw Problem.invalid("limit must be 1…200", zh: "limit 须为 1…200") }
        return value
    }

    /// The roles and scopes there are, as problems list them.
    static let roleNames = StaffRole.allCases.map(\.rawValue).joined(separator: ", ")
    static let scopeNames = TokenScope.allCases.map(\.rawValue).joined(separator: ", ")

    /// The problems of a new password, as the problems of the field `password`.
    static func passwordProblems(_ password: String) -> [LocalizedText] {
        PasswordHasher.problems(with: password).map { LocalizedText("password: \($0.en)", zh: "password：\($0.zhCN)") }
    }

    static func parseRoles(_ value: JSON?, problems: inout [LocalizedText]) -> [StaffRole]? {
        guard let value else { return nil }
        guard let array = value.arrayValue else {
            problems.append(LocalizedText("roles: a list of \(roleNames)", zh: "roles：须为由 \(roleNames) 组成的列表"))
            return []
        }
        var roles: [StaffRole] = []
        for item in array {
            guard let role = item.stringValue.flatMap(StaffRole.init(rawValue:)) else {
                problems.append(LocalizedText("roles: \(item) is not one of \(roleNames)", zh: "roles：\(item) 不是 \(roleNames) 之一"))
                continue
            }
            if !roles.contains(role) { roles.append(role) }
        }
        return roles
    }

    /// nil: not given; .some(nil): cleared (JSON null); .some(x): set.
    static func parseDepartment(_ value: JSON?, problems: inout [LocalizedText]) -> String?? {
        guard let value else { return nil }
        if value.isNull { return .some(nil) }
        guard let text = value.stringValue, (1...64).contains(text.count) else {
            problems.append(LocalizedText("department: a department id of 1 to 64 characters, or null", zh: "department：1 至 64 个字符的部门 id，或 null"))
            return nil
        }
        return .some(text)
    }
}
