#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation
import LineProtocol
import ServiceKit

/// The gateway's own settings, from the environment (see the README's configuration table).
struct GatewaySettings: Sendable {
    /// `ONESTOP_GATEWAY_HTTP_HOST` / `ONESTOP_GATEWAY_HTTP_PORT`: the public HTTP listener.
    var httpHost: String
    var httpPort: Int
    /// `ONESTOP_GATEWAY_BOOTSTRAP_ADMIN` / `ONESTOP_GATEWAY_BOOTSTRAP_PASSWORD`: the first
    /// administrator, created at start when no user of that name exists (never overwritten).
    var bootstrapAdmin: (user: String, password: String)?
    /// scrypt cost (N = 2^cost). 14 (16 MiB) in production; tests lower it.
    var passwordCost: Int
    var sessionIdle: Duration
    var sessionAbsolute: Duration
    /// `ONESTOP_GATEWAY_TLS_CERT_FILE` / `ONESTOP_GATEWAY_TLS_KEY_FILE`: HTTPS on the public
    /// listener; nil serves plain HTTP (TLS ends in front of the gateway).
    var tls: RPCServerTLS?
    /// `ONESTOP_GATEWAY_SECURE_COOKIES`: mark cookies Secure. On by default with HTTPS (and
    /// cannot be turned off then); set it when TLS ends in front of the gateway.
    var secureCookies: Bool
    /// Access-code guessing: this many failures within the window lock the number for the window.
    var accessCodeMaxFailures: Int
    var accessCodeWindow: Duration
    /// Staff password guessing: this many failures lock the account for `loginLockout`.
    var loginMaxFailures: Int
    var loginLockout: Duration
    /// Token buckets per client (address, session user or API token): requests per second and burst.
    var rateLimitPerSecond: Double
    var rateLimitBurst: Double
    var maxBodyBytes: Int
    var maxJSONDepth: Int
    /// `ONESTOP_GATEWAY_MAX_CONNECTIONS`: open HTTP connections; past it a new connection's
    /// request is answered 503 and the connection closed.
    var maxConnections: Int
    /// `ONESTOP_GATEWAY_READ_TIMEOUT_MS`: a request must arrive whole within this time of the
    /// connection opening or of the previous answer (slow senders, idle keep-alive connections).
    var readTimeout: Duration
    /// How long the gateway waits for a service before answering 504.
    var serviceTimeout: Duration
    /// `ONESTOP_GATEWAY_TIME_ZONE`: the hall's zone, for due days given as times (Open311).
    var timeZone: TimeZone

    init(environment: [String: String]) throws {
        var env = EnvironmentReader(environment)
        httpHost = env.string("ONESTOP_GATEWAY_HTTP_HOST", default: "127.0.0.1")
        httpPort = env.port("ONESTOP_GATEWAY_HTTP_PORT", default: 8080)
        let admin = env.optionalString("ONESTOP_GATEWAY_BOOTSTRAP_ADMIN")
        let password = env.optionalString("ONESTOP_GATEWAY_BOOTSTRAP_PASSWORD")
        if let admin, let password {
            env.require(password.count >= 12, "ONESTOP_GATEWAY_BOOTSTRAP_PASSWORD must have at least 12 characters")
            env.require(StaffUserID.isValid(admin), "ONESTOP_GATEWAY_BOOTSTRAP_ADMIN: \(StaffUserID.rule.en)")
            bootstrapAdmin = (admin, password)
        } else {
            env.require(admin == nil && password == nil, "set both ONESTOP_GATEWAY_BOOTSTRAP_ADMIN and ONESTOP_GATEWAY_BOOTSTRAP_PASSWORD, or neither")
            bootstrapAdmin = nil
        }
        passwordCost = env.integer("ONESTOP_GATEWAY_PASSWORD_COST", default: 14, range: 4...20)
        sessionIdle = .seconds(env.integer("ONESTOP_GATEWAY_SESSION_IDLE_SECONDS", default: 30 * 60, range: 1...86_400))
        sessionAbsolute = .seconds(env.integer("ONESTOP_GATEWAY_SESSION_ABSOLUTE_SECONDS", default: 12 * 3600, range: 1...7 * 86_400))
        let https = env.variables["ONESTOP_GATEWAY_TLS_CERT_FILE"] != nil || env.variables["ONESTOP_GATEWAY_TLS_KEY_FILE"] != nil
        tls = env.tlsIdentity(certificate: "ONESTOP_GATEWAY_TLS_CERT_FILE", key: "ONESTOP_GATEWAY_TLS_KEY_FILE").flatMap { try? RPCServerTLS(identity: $0) }
        secureCookies = env.integer("ONESTOP_GATEWAY_SECURE_COOKIES", default: https ? 1 : 0, range: 0...1) == 1
        env.require(
            secureCookies || !https,
            "ONESTOP_GATEWAY_SECURE_COOKIES=0 cannot be used with ONESTOP_GATEWAY_TLS_CERT_FILE: a session cookie served over HTTPS is always Secure; unset it"
        )
        accessCodeMaxFailures = env.integer("ONESTOP_GATEWAY_ACCESS_CODE_MAX_FAILURES", default: 5, range: 1...1000)
        accessCodeWindow = .seconds(env.integer("ONESTOP_GATEWAY_ACCESS_CODE_WINDOW_SECONDS", default: 15 * 60, range: 1...86_400))
        loginMaxFailures = env.integer("ONESTOP_GATEWAY_LOGIN_MAX_FAILURES", default: 10, range: 1...1000)
        loginLockout = .seconds(env.integer("ONESTOP_GATEWAY_LOGIN_LOCKOUT_SECONDS", default: 15 * 60, range: 1...86_400))
        rateLimitPerSecond = Double(env.integer("ONESTOP_GATEWAY_RATE_LIMIT_PER_SECOND", default: 50, range: 1...1_000_000))
        rateLimitBurst = Double(env.integer("ONESTOP_GATEWAY_RATE_LIMIT_BURST", default: 100, range: 1...1_000_000))
        maxBodyBytes = env.integer("ONESTOP_GATEWAY_MAX_BODY_BYTES", default: 1 << 20, range: 1024...(64 << 20))
        maxJSONDepth = env.integer("ONESTOP_GATEWAY_MAX_JSON_DEPTH", default: 32, range: 2...256)
        maxConnections = env.integer("ONESTOP_GATEWAY_MAX_CONNECTIONS", default: 4096, range: 1...1_000_000)
        readTimeout = .milliseconds(env.integer("ONESTOP_GATEWAY_READ_TIMEOUT_MS", default: 30_000, range: 100...3_600_000))
        serviceTimeout = .milliseconds(env.integer("ONESTOP_GATEWAY_SERVICE_TIMEOUT_MS", default: 5_000, range: 50...120_000))
        let zone = env.string("ONESTOP_GATEWAY_TIME_ZONE", default: "Asia/Shanghai")
        timeZone = TimeZone(identifier: zone) ?? .gmt
        env.require(TimeZone(identifier: zone) != nil, "ONESTOP_GATEWAY_TIME_ZONE: unknown time zone \(zone)")
        if !env.problems.isEmpty { throw ConfigurationError(problems: env.problems) }
    }
}
