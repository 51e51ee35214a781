import JSONCoding
import RPCTesting
import Testing

@Suite("Gateway: logins, sessions, users and API tokens")
struct SessionTests {
    @Test("a login sets a HttpOnly SameSite cookie; a wrong password and an unknown user get the same answer")
    func login() async throws {
        try await GatewayFixture.with { gateway in
            let wrong = try await gateway.request("POST", "/v1/auth/login", json: #"{"user": "admin", "password": "not the password"}"#)
            let unknown = try await gateway.request("POST", "/v1/auth/login", json: #"{"user": "nobody", "password": "not the password"}"#)
            #expect(wrong.status == 401)
            #expect(unknown.status == 401)
            #expect(try json(wrong.body)["detail"] == json(unknown.body)["detail"])

            let response = try await gateway.request("POST", "/v1/auth/login", json: #"{"user": "admin", "password": "\#(GatewayFixture.adminPassword)"}"#)
            #expect(response.status == 200)
            let cookie = try #require(response.setCookies.first)
            #expect(cookie.contains("HttpOnly"))
            #expect(cookie.contains("SameSite=Strict"))
            #expect(!cookie.contains("Secure"), "not Secure unless ONESTOP_GATEWAY_SECURE_COOKIES=1")
            // The password is stored as a scrypt hash, never as given.
            let stored = try await gateway.database.query("SELECT password_hash FROM staff_users WHERE id = 'admin'")[0].decode(String.self, column: "password_hash")
            #expect(stored.hasPrefix("scrypt$"))
            #expect(!stored.contains(GatewayFixture.adminPassword))
            // The cookie value is stored only as a hash.
            let value = String(cookie.dropFirst("onestop_session=".count).prefix { $0 != ";" })
            #expect(try await gateway.count("SELECT count(*)::int8 AS n FROM staff_sessions WHERE token_hash = \(value)") == 0)

            let me = try await gateway.request("GET", "/v1/auth/me", cookie: value)
            #expect(me.status == 200)
            #expect(try json(me.body)["roles"] == ["administrator"])
        }
    }

    @Test("logout ends the session at once")
    func logout() async throws {
        try await GatewayFixture.with { gateway in
            let session = try await gateway.adminSession()
            #expect(try await gateway.request("POST", "/v1/auth/logout", cookie: session).status == 204)
            let after = try await gateway.request("GET", "/v1/auth/me", cookie: session)
            #expect(after.status == 401)
            #expect(try json(after.body)["detail"]?.stringValue?.contains("ended") == true, "\(after.body)")
        }
    }

    @Test("a session idle for longer than the limit is refused")
    func idleExpiry() async throws {
        try await GatewayFixture.with(environment: ["ONESTOP_GATEWAY_SESSION_IDLE_SECONDS": "4"]) { gateway in
            let session = try await gateway.adminSession()
            #expect(try await gateway.request("GET", "/v1/auth/me", cookie: session).status == 200)
            try await Task.sleep(for: .milliseconds(4500))
            let after = try await gateway.request("GET", "/v1/auth/me", cookie: session)
            #expect(after.status == 401)
            #expect(try json(after.body)["detail"]?.stringValue?.contains("idle") == true, "\(after.body)")
        }
    }

    @Test("a session past its absolute limit is refused even while in use")
    func absoluteExpiry() async throws {
        try await GatewayFixture.with(environment: ["ONESTOP_GATEWAY_SESSION_ABSOLUTE_SECONDS": "6", "ONESTOP_GATEWAY_SESSION_IDLE_SECONDS": "3"]) { gateway in
            let session = try await gateway.adminSession()
            let loggedIn = ContinuousClock.now
            // In use (never idle for 3 s) until well inside the 6-second limit…
            while ContinuousClock.now - loggedIn < .seconds(4) {
                #expect(try await gateway.request("GET", "/v1/auth/me", cookie: session).status == 200)
                try await Task.sleep(for: .milliseconds(700))
            }
            // …and then refused once the limit has passed, though it was used a moment ago.
            while ContinuousClock.now - loggedIn < .milliseconds(6500) {
                _ = try await gateway.request("GET", "/v1/auth/me", cookie: session)
                try await Task.sleep(for: .milliseconds(700))
            }
            let after = try await gateway.request("GET", "/v1/auth/me", cookie: session)
            #expect(after.status == 401)
            #expect(try json(after.body)["detail"]?.stringValue?.contains("limit") == true, "\(after.body)")
        }
    }

    @Test("I see my sessions and can end another one of them, not someone else's")
    func revoke() async throws {
        try await GatewayFixture.with { gateway in
            let first = try await gateway.adminSession()
            let second = try await gateway.adminSession()
            let list = try json(try await gateway.request("GET", "/v1/auth/sessions", cookie: first).body)
            let sessions = try #require(list["sessions"]?.arrayValue)
            #expect(sessions.count == 2)
            let other = try #require(sessions.first { $0["current"] == false }?["id"]?.stringValue)

            let clerk = try await gateway.staff("clerk", roles: ["intake_officer"], admin: first)
            #expect(try await gateway.request("DELETE", "/v1/auth/sessions/\(other)", cookie: clerk).status == 404)
            #expect(try await gateway.request("GET", "/v1/auth/me", cookie: second).status == 200)

            #expect(try await gateway.request("DELETE", "/v1/auth/sessions/\(other)", cookie: first).status == 204)
            #expect(try await gateway.request("GET", "/v1/auth/me", cookie: second).status == 401)
            #expect(try await gateway.request("GET", "/v1/auth/me", cookie: first).status == 200)
        }
    }

    @Test("too many wrong passwords lock the account for a while")
    func loginLockout() async throws {
        try await GatewayFixture.with(environment: ["ONESTOP_GATEWAY_LOGIN_MAX_FAILURES": "3"]) { gateway in
            for _ in 0..<3 {
                #expect(try await gateway.request("POST", "/v1/auth/login", json: #"{"user": "admin", "password": "guess guess guess"}"#).status == 401)
            }
            let locked = try await gateway.request("POST", "/v1/auth/login", json: #"{"user": "admin", "password": "\#(GatewayFixture.adminPassword)"}"#)
            #expect(locked.status == 429)
            #expect(locked.headers["retry-after"] != nil)
        }
    }

    @Test("a bad user is refused with every problem listed, and nothing is created")
    func badUser() async throws {
        try await GatewayFixture.with { gateway in
            let admin = try await gateway.adminSession()
            let response = try await gateway.request("POST", "/v1/users", json: #"{"id": "X!", "displayName": "", "roles": ["boss"], "password": "short"}"#, cookie: admin)
            #expect(response.status == 400)
            let problems = try #require(try json(response.body)["problems"]?.arrayValue)
            #expect(problems.count >= 4, "\(problems)")
            #expect(try await gateway.count("SELECT count(*)::int8 AS n FROM staff_users") == 1)
        }
    }

    @Test("changing a user's roles or password ends their sessions; a disabled user cannot log in")
    func changeUser() async throws {
        try await GatewayFixture.with { gateway in
            let admin = try await gateway.adminSession()
            let clerk = try await gateway.staff("clerk", roles: ["intake_officer"], admin: admin)
            let changed = try await gateway.request("PATCH", "/v1/users/clerk", json: #"{"roles": ["reviewer"]}"#, cookie: admin)
            #expect(changed.status == 200, "\(changed.body)")
            #expect(try await gateway.request("GET", "/v1/auth/me", cookie: clerk).status == 401)
            let again = try await gateway.login("clerk", "password-of-clerk")
            #expect(try json(try await gateway.request("GET", "/v1/auth/me", cookie: again).body)["roles"] == ["reviewer"])
            #expect(try await gateway.request("PATCH", "/v1/users/clerk", json: #"{"disabled": true}"#, cookie: admin).status == 200)
            #expect(try await gateway.request("POST", "/v1/auth/login", json: #"{"user": "clerk", "password": "password-of-clerk"}"#).status == 401)
            // Administrators cannot lock themselves out.
            #expect(try await gateway.request("PATCH", "/v1/users/admin", json: #"{"disabled": true}"#, cookie: admin).status == 409)
        }
    }

    @Test("an API token works within its scopes and roles, is stored hashed, and stops when revoked")
    func apiTokens() async throws {
        try await GatewayFixture.with { gateway in
            let admin = try await gateway.adminSession()
            let created = try await gateway.request("POST", "/v1/tokens", json: #"{"name": "kiosk", "roles": ["intake_officer"], "scopes": ["cases:read"]}"#, cookie: admin)
            #expect(created.status == 201, "\(created.body)")
            let body = try json(created.body)
            let token = try #require(body["token"]?.stringValue)
            let id = try #require(body["details"]?["id"]?.stringValue)
            #expect(try await gateway.count("SELECT count(*)::int8 AS n FROM api_tokens WHERE token_hash = \(token)") == 0)

            let found = try await gateway.request("GET", "/v1/cases?limit=5", token: token)
            #expect(found.status == 200, "\(found.body)")
            #expect(try json(found.body)["actor"] == "token:kiosk")
            // Registering needs cases:write, which this token lacks (its role would allow it).
            let refused = try await gateway.request("POST", "/v1/cases", json: #"{"channel": "counter"}"#, token: token)
            #expect(refused.status == 403)
            #expect(try json(refused.body)["detail"]?.stringValue?.contains("cases:write") == true)
            // Sessions belong to people.
            #expect(try await gateway.request("GET", "/v1/auth/sessions", token: token).status == 403)

            #expect(try await gateway.request("DELETE", "/v1/tokens/\(id)", cookie: admin).status == 204)
            #expect(try await gateway.request("GET", "/v1/cases", token: token).status == 401)
            #expect(try await gateway.request("GET", "/v1/cases", token: "ost_made-up").status == 401)
        }
    }
}
