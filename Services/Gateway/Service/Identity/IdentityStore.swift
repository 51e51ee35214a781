import Contracts
import Postgres
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// A staff user as administrators see it (never the password hash).
struct StaffUser: Sendable, Codable {
    var id: String
    var displayName: String
    var roles: [StaffRole]
    var department: String?
    var disabled: Bool
    var createdAt: Date
}

struct SessionView: Sendable, Codable {
    var id: String
    var createdAt: Date
    var lastSeenAt: Date
    var expiresAt: Date
    var clientAddress: String?
    var userAgent: String?
    var current: Bool
}

struct TokenView: Sendable, Codable {
    var id: String
    var name: String
    var prefix: String
    var roles: [StaffRole]
    var department: String?
    var scopes: [TokenScope]
    var createdBy: String
    var createdAt: Date
    var expiresAt: Date?
    var revokedAt: Date?
    var lastUsedAt: Date?
}

/// The SQL of staff users, sessions, API tokens, access-code attempts and the access audit.
struct IdentityStore: Sendable {
    let database: PostgresPool
    let settings: GatewaySettings
    let hasher: PasswordHasher

    // MARK: Users

    /// Creates the first administrator from the environment unless that user exists.
    func bootstrapAdministrator() async throws -> Bool {
        guard let (user, password) = settings.bootstrapAdmin else { return false }
        let hash = try await hasher.hash(password)
        let inserted = try await database.execute("""
            INSERT INTO staff_users (id, display_name, roles, password_hash)
            VALUES (\(user), \("Administrator"), \([StaffRole.administrator.rawValue]), \(hash))
            ON CONFLICT (id) DO NOTHING
            """)
        return inserted == 1
    }

    func createUser(id: String, displayName: String, roles: [StaffRole], department: String?, password: String) async throws -> StaffUser {
        let hash = try await hasher.hash(password)
        let rows = try await database.query("""
            INSERT INTO staff_users (id, display_name, roles, department, password_hash)
            VALUES (\(id), \(displayName), \(roles.map(\.rawValue)), \(department), \(hash))
            ON CONFLICT (id) DO NOTHING
            RETURNING id, display_name, roles, department, disabled, created_at
            """)
        guard let row = rows.first else { throw Problem.conflict("a user with the id \(id) already exists", zh: "id 为 \(id) 的用户已存在") }
        return try Self.user(row)
    }

    /// Changes what is given; a new password or disabling ends the user's sessions.
    func updateUser(id: String, displayName: String?, roles: [StaffRole]?, department: String??, password: String?, disabled: Bool?) async throws -> StaffUser {
        var hash: String?
        if let password { hash = try await hasher.hash(password) }
        return try await database.withTransaction { connection in
            let rows = try await connection.query("""
                UPDATE staff_users SET
                    display_name = coalesce(\(displayName), display_name),
                    roles = coalesce(\(roles?.map(\.rawValue)), roles),
                    department = CASE WHEN \(department != nil) THEN \(department ?? nil) ELSE department END,
                    password_hash = coalesce(\(hash), password_hash),
                    disabled = coalesce(\(disabled), disabled),
                    failed_logins = CASE WHEN \(hash != nil) THEN 0 ELSE failed_logins END,
                    locked_until = CASE WHEN \(hash != nil) THEN NULL ELSE locked_until END,
                    updated_at = now()
                WHERE id = \(id)
                RETURNING id, display_name, roles, department, disabled, created_at
                """)
            guard let row = rows.first else { throw Problem.notFound("no user \(id)", zh: "未找到用户 \(id)") }
            if hash != nil || disabled == true || roles != nil {
                try await connection.execute("UPDATE staff_sessions SET revoked_at = now() WHERE user_id = \(id) AND revoked_at IS NULL")
            }
            return try Self.user(row)
        }
    }

    func listUsers(after: String?, limit: Int) async throws -> (users: [StaffUser], next: String?) {
        let rows = try await database.query("""
            SELECT id, display_name, roles, department, disabled, created_at FROM staff_users
            WHERE \(after == nil) OR id > \(after ?? "")
            ORDER BY id LIMIT \(limit + 1)
            """)
        let users = try rows.prefix(limit).map(Self.user)
        return (users, rows.count > limit ? users.last?.id : nil)
    }

    private static func user(_ row: PostgresRow) throws -> StaffUser {
        StaffUser(
            id: try row.decode(String.self, column: "id"),
            displayName: try row.decode(String.self, column: "display_name"),
            roles: try row.decode([String].self, column: "roles").compactMap(StaffRole.init(rawValue:)),
            department: try row.decode(String?.self, column: "department"),
            disabled: try row.decode(Bool.self, column: "disabled"),
            createdAt: try row.decode(Date.self, column: "created_at")
        )
    }

    // MARK: Login and sessions

    enum LoginOutcome {
        case success(sessionID: UUID, cookie: String, user: StaffUser, expiresAt: Date)
        case refused
        case locked(until: Date)
    }

    /// Checks the password; counts failures and locks the account after too many. The answer for
    /// an unknown user and a wrong password is the same.
    func login(user id: String, password: String, clientAddress: String, userAgent: String?) async throws -> LoginOutcome {
        let rows = try await database.query("""
            SELECT id, display_name, roles, department, disabled, created_at, password_hash, locked_until
            FROM staff_users WHERE id = \(id)
            """)
        guard let row = rows.first else {
            // Spend the same time as a real check, so timing does not reveal which ids exist.
            _ = await hasher.verify(password, against: Self.decoyHash)
            return .refused
        }
        let user = try Self.user(row)
        if let lockedUntil = try row.decode(Date?.self, column: "locked_until"), lockedUntil > Date() {
            return .locked(until: lockedUntil)
        }
        let stored = try row.decode(String.self, column: "password_hash")
        guard !user.disabled, await hasher.verify(password, against: stored) else {
            try await database.execute("""
                UPDATE staff_users SET
                    failed_logins = failed_logins + 1,
                    locked_until = CASE WHEN failed_logins + 1 >= \(settings.loginMaxFailures)
                        THEN now() + make_interval(secs => \(Self.seconds(settings.loginLockout))) ELSE locked_until END
                WHERE id = \(id)
                """)
            return .refused
        }
        let cookie = SecureRandom.token()
        let sessionID = UUID.v7()
        let expiresAt = Date().addingTimeInterval(Self.seconds(settings.sessionAbsolute))
        try await database.withTransaction { connection in
            try await connection.execute("UPDATE staff_users SET failed_logins = 0, locked_until = NULL WHERE id = \(id)")
            try await connection.execute("""
                INSERT INTO staff_sessions (id, token_hash, user_id, expires_at, client_address, user_agent)
                VALUES (\(sessionID), \(SecureRandom.sha256Hex(cookie)), \(id), \(expiresAt), \(clientAddress), \(userAgent.map { String($0.prefix(200)) }))
                """)
        }
        return .success(sessionID: sessionID, cookie: cookie, user: user, expiresAt: expiresAt)
    }

    /// A valid hash of nothing anyone knows, for the unknown-user path.
    static let decoyHash = "scrypt$10$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

    enum SessionCheck {
        case valid(Caller)
        /// Why the credential is refused, told to the client in its language (and logged in English).
        case invalid(LocalizedText)

        static func invalid(_ reason: String, zh: String) -> SessionCheck { .invalid(LocalizedText(zhCN: zh, en: reason)) }
    }

    /// Resolves a session cookie, enforcing the idle and absolute limits, and marks it used.
    func session(cookie: String) async throws -> SessionCheck {
        let rows = try await database.query("""
            SELECT s.id, s.created_at, s.last_seen_at, s.expires_at, s.revoked_at, u.id AS user_id, u.roles, u.department, u.disabled
            FROM staff_sessions s JOIN staff_users u ON u.id = s.user_id
            WHERE s.token_hash = \(SecureRandom.sha256Hex(cookie))
            """)
        guard let row = rows.first else { return .invalid("the session is unknown; log in again", zh: "会话无效，请重新登录") }
        let id = try row.decode(UUID.self, column: "id")
        let now = Date()
        if try row.decode(Date?.self, column: "revoked_at") != nil { return .invalid("the session was ended; log in again", zh: "会话已结束，请重新登录") }
        if try row.decode(Bool.self, column: "disabled") { return .invalid("the account is disabled", zh: "账号已停用") }
        if try row.decode(Date.self, column: "expires_at") <= now {
            return .invalid("the session reached its \(Int(Self.seconds(settings.sessionAbsolute) / 3600))-hour limit; log in again", zh: "会话已达到 \(Int(Self.seconds(settings.sessionAbsolute) / 3600)) 小时的上限，请重新登录")
        }
        let lastSeen = try row.decode(Date.self, column: "last_seen_at")
        if now.timeIntervalSince(lastSeen) > Self.seconds(settings.sessionIdle) {
            try await database.execute("UPDATE staff_sessions SET revoked_at = now() WHERE id = \(id) AND revoked_at IS NULL")
            return .invalid("the session was idle for more than \(Int(Self.seconds(settings.sessionIdle) / 60)) minutes; log in again", zh: "会话空闲超过 \(Int(Self.seconds(settings.sessionIdle) / 60)) 分钟，请重新登录")
        }
        // One write per quarter of a minute at most keeps busy consoles from writing on every click.
        if now.timeIntervalSince(lastSeen) > min(15, Self.seconds(settings.sessionIdle) / 4) {
            try await database.execute("UPDATE staff_sessions SET last_seen_at = now() WHERE id = \(id)")
        }
        return .valid(Caller(
            credential: .session(id),
            id: try row.decode(String.self, column: "user_id"),
            roles: Set(try row.decode([String].self, column: "roles").compactMap(StaffRole.init(rawValue:))),
            department: try row.decode(String?.self, column: "department")
        ))
    }

    func sessions(of user: String, current: UUID?) async throws -> [SessionView] {
        let rows = try await database.query("""
            SELECT id, created_at, last_seen_at, expires_at, client_address, user_agent FROM staff_sessions
            WHERE user_id = \(user) AND revoked_at IS NULL AND expires_at > now()
              AND last_seen_at > now() - make_interval(secs => \(Self.seconds(settings.sessionIdle)))
            ORDER BY created_at DESC LIMIT 100
            """)
        return try rows.map { row in
            let id = try row.decode(UUID.self, column: "id")
            return SessionView(
                id: id.lowercasedString,
                createdAt: try row.decode(Date.self, column: "created_at"),
                lastSeenAt: try row.decode(Date.self, column: "last_seen_at"),
                expiresAt: try row.decode(Date.self, column: "expires_at"),
                clientAddress: try row.decode(String?.self, column: "client_address"),
                userAgent: try row.decode(String?.self, column: "user_agent"),
                current: id == current
            )
        }
    }

    /// Ends one of the user's own sessions; false when there is no such live session of theirs.
    func revokeSession(_ id: UUID, of user: String) async throws -> Bool {
        try await database.execute("UPDATE staff_sessions SET revoked_at = now() WHERE id = \(id) AND user_id = \(user) AND revoked_at IS NULL") == 1
    }

    // MARK: API tokens

    func createToken(name: String, roles: [StaffRole], department: String?, scopes: [TokenScope], expiresAt: Date?, createdBy: String) async throws -> (token: String, view: TokenView) {
        let token = SecureRandom.token(prefix: "ost_")
        let id = UUID.v7()
        let rows = try await database.query("""
            INSERT INTO api_tokens (id, name, token_hash, prefix, roles, department, scopes, created_by, expires_at)
            VALUES (\(id), \(name), \(SecureRandom.sha256Hex(token)), \(String(token.prefix(10))), \(roles.map(\.rawValue)),
                    \(department), \(scopes.map(\.rawValue)), \(createdBy), \(expiresAt))
            RETURNING \(unsafeRaw: Self.tokenColumns)
            """)
        return (token, try Self.token(rows[0]))
    }

    func tokens() async throws -> [TokenView] {
        try await database.query("SELECT \(unsafeRaw: Self.tokenColumns) FROM api_tokens ORDER BY created_at DESC LIMIT 500").map(Self.token)
    }

    func revokeToken(_ id: UUID) async throws -> Bool {
        try await database.execute("UPDATE api_tokens SET revoked_at = now() WHERE id = \(id) AND revoked_at IS NULL") == 1
    }

    func caller(bearer token: String) async throws -> SessionCheck {
        let rows = try await database.query("""
            UPDATE api_tokens SET last_used_at = now()
            WHERE token_hash = \(SecureRandom.sha256Hex(token)) AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
            RETURNING \(unsafeRaw: Self.tokenColumns)
            """)
        guard let row = rows.first else { return .invalid("the API token is unknown, revoked or expired", zh: "API 令牌无效、已撤销或已过期") }
        let view = try Self.token(row)
        return .valid(Caller(
            credential: .token(UUID(uuidString: view.id)!, scopes: Set(view.scopes)),
            id: "token:\(view.name)",
            roles: Set(view.roles),
            department: view.department
        ))
    }

    static let tokenColumns = "id, name, prefix, roles, department, scopes, created_by, created_at, expires_at, revoked_at, last_used_at"

    private static func token(_ row: PostgresRow) throws -> TokenView {
        TokenView(
            id: try row.decode(UUID.self, column: "id").lowercasedString,
            name: try row.decode(String.self, column: "name"),
            prefix: try row.decode(String.self, column: "prefix"),
            roles: try row.decode([String].self, column: "roles").compactMap(StaffRole.init(rawValue:)),
            department: try row.decode(String?.self, column: "department"),
            scopes: try row.decode([String].self, column: "scopes").compactMap(TokenScope.init(rawValue:)),
            createdBy: try row.decode(String.self, column: "created_by"),
            createdAt: try row.decode(Date.self, column: "created_at"),
            expiresAt: try row.decode(Date?.self, column: "expires_at"),
            revokedAt: try row.decode(Date?.self, column: "revoked_at"),
            lastUsedAt: try row.decode(Date?.self, column: "last_used_at")
        )
    }

    // MARK: Access codes

    /// When the number is locked, until when; otherwise nil.
    func accessCodeLock(trackingNumber: String) async throws -> Date? {
        let rows = try await database.query("""
            SELECT locked_until FROM access_code_attempts WHERE tracking_number = \(trackingNumber) AND locked_until > now()
            """)
        return try rows.first?.decode(Date.self, column: "locked_until")
    }

    /// Counts a wrong code (or an unknown number); locks it after too many in the window.
    func recordAccessCodeFailure(trackingNumber: String) async throws {
        let window = Self.seconds(settings.accessCodeWindow)
        try await database.execute("""
            INSERT INTO access_code_attempts AS a (tracking_number, failures, window_start)
            VALUES (\(trackingNumber), 1, now())
            ON CONFLICT (tracking_number) DO UPDATE SET
                failures = CASE WHEN a.window_start < now() - make_interval(secs => \(window)) THEN 1 ELSE a.failures + 1 END,
                window_start = CASE WHEN a.window_start < now() - make_interval(secs => \(window)) THEN now() ELSE a.window_start END,
                locked_until = CASE
                    WHEN a.window_start >= now() - make_interval(secs => \(window)) AND a.failures + 1 >= \(settings.accessCodeMaxFailures)
                    THEN now() + make_interval(secs => \(window)) ELSE a.locked_until END
            """)
    }

    func clearAccessCodeFailures(trackingNumber: String) async throws {
        try await database.execute("DELETE FROM access_code_attempts WHERE tracking_number = \(trackingNumber) AND locked_until IS NULL")
    }

    // MARK: Audit

    func audit(requestID: String, principal: String, action: String, outcome: String, detail: String) async throws {
        try await database.execute("""
            INSERT INTO access_audit (request_id, principal, action, outcome, detail)
            VALUES (\(requestID), \(principal), \(action), \(outcome), \(String(detail.prefix(500))))
            """)
    }

    struct AuditEntry: Codable, Sendable {
        var id: Int64
        var at: Date
        var requestId: String
        var principal: String
        var action: String
        var outcome: String
        var detail: String
    }

    func auditEntries(before: Int64?, limit: Int) async throws -> [AuditEntry] {
        try await database.query("""
            SELECT id, at, request_id, principal, action, outcome, detail FROM access_audit
            WHERE \(before == nil) OR id < \(before ?? 0) ORDER BY id DESC LIMIT \(limit)
            """).map { row in
            AuditEntry(
                id: try row.decode(Int64.self, column: "id"), at: try row.decode(Date.self, column: "at"),
                requestId: try row.decode(String.self, column: "request_id"), principal: try row.decode(String.self, column: "principal"),
                action: try row.decode(String.self, column: "action"), outcome: try row.decode(String.self, column: "outcome"),
                detail: try row.decode(String.self, column: "detail")
            )
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
