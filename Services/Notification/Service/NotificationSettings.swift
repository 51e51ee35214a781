import Sealing
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// How SMTP negotiates TLS on a plain `smtp://` URL (`smtps://` is TLS from the first byte).
public enum STARTTLSMode: String, Sendable, CaseIterable {
    /// Refuse to send unless the server upgrades to TLS.
    case required
    /// Upgrade when the server offers it, send in clear otherwise (refused with SMTP AUTH: a
    /// stripped STARTTLS offer would expose the password).
    case optional
    /// Never upgrade (a local sink).
    case off
}

/// The SMS gateway's API shape.
public enum SMSProvider: String, Sendable, CaseIterable {
    /// POST of a JSON body built from a template, with an auth header and an idempotency key header.
    case webhook
    /// Twilio-style: form-encoded `To`, `From`, `Body` with HTTP basic auth (account SID and token).
    case twilio
}

/// What to do with an SMS longer than one segment.
public enum SMSLongTextPolicy: String, Sendable, CaseIterable {
    /// One request; the provider sends it as a concatenated SMS of up to `maxSegments` parts.
    case concatenate
    /// Several one-segment SMS, sent in order, each with its own idempotency key.
    case split
    /// Refuse at send time (`invalid_params`) when the text needs more than one segment.
    case refuse
}

/// Quiet hours in a fixed UTC offset: non-urgent SMS wait until they end.
public struct QuietHours: Sendable, Hashable {
    /// Minutes after local midnight.
    public var start: Int
    public var end: Int
    /// Local time = UTC + offset.
    public var utcOffsetMinutes: Int

    public init(start: Int, end: Int, utcOffsetMinutes: Int) {
        self.start = start
        self.end = end
        self.utcOffsetMinutes = utcOffsetMinutes
    }

    /// Parses `HH:MM-HH:MM`; nil for `off`.
    public static func parse(_ text: String, utcOffsetMinutes: Int) -> QuietHours?? {
        if text.lowercased() == "off" { return .some(nil) }
        let parts = text.split(separator: "-")
        guard parts.count == 2, let start = minutes(parts[0]), let end = minutes(parts[1]), start != end else { return nil }
        return .some(QuietHours(start: start, end: end, utcOffsetMinutes: utcOffsetMinutes))
    }

    static func minutes(_ text: Substring) -> Int? {
        let hm = text.trimmingCharacters(in: .whitespaces).split(separator: ":")
        guard hm.count == 2, let h = Int(hm[0]), let m = Int(hm[1]), (0..<24).contains(h), (0..<60).contains(m) else { return nil }
        return h * 60 + m
    }

    /// When the quiet period containing `instant` ends, or nil when `instant` is not quiet.
    public func end(after instant: Date) -> Date? {
        let localSeconds = Int(instant.timeIntervalSince1970.rounded(.down)) + utcOffsetMinutes * 60
        let dayStart = localSeconds - ((localSeconds % 86_400) + 86_400) % 86_400
        let minute = (localSeconds - dayStart) / 60
        let quiet = start < end ? (minute >= start && minute < end) : (minute >= start || minute < end)
        guard quiet else { return nil }
        var endLocal = dayStart + end * 60
        if endLocal <= localSeconds { endLocal += 86_400 }
        return Date(timeIntervalSince1970: TimeInterval(endLocal - utcOffsetMinutes * 60))
    }
}

/// The notification service's own settings, from `ONESTOP_SMTP_*`, `ONESTOP_MAIL_*`,
/// `ONESTOP_SMS_*`, `ONESTOP_NOTIFY_*` and `ONESTOP_QUIET_HOURS*`. Defaults fit `make run`:
/// a mail sink on 127.0.0.1:2525 and an SMS sink on 127.0.0.1:2580; when nothing listens
/// there, deliveries retry.
public struct NotificationSettings: Sendable {
    // MARK: Email
    public var smtpURL: String
    public var smtpUser: String?
    public var smtpPassword: String?
    public var starttls: STARTTLSMode
    public var mailFrom: String
    public var mailFromName: String?
    public var replyTo: String?
    /// Verify the server's certificate (off only for test servers with self-signed certificates).
    public var tlsVerify: Bool
    /// `ONESTOP_SMTP_CA_FILE`: a PEM bundle of the CAs that may sign the mail server's certificate
    /// (libcurl's `CURLOPT_CAINFO`), so a private CA is trusted with verification still on.
    /// nil = the system's CA store.
    public var smtpCAFile: String?

    // MARK: SMS
    public var smsProvider: SMSProvider
    public var smsURL: String
    /// A whole header line, e.g. `Authorization: Bearer ...`.
    public var smsAuthHeader: String?
    /// The webhook's JSON body with `{{to}}`, `{{text}}`, `{{from}}`, `{{key}}` placeholders (JSON-escaped).
    public var smsBodyTemplate: String
    /// The header carrying our idempotency key; empty for none.
    public var smsIdempotencyHeader: String
    public var smsFrom: String
    /// Twilio-style basic auth.
    public var smsAccountSID: String?
    public var smsAuthToken: String?
    public var smsLongText: SMSLongTextPolicy
    public var smsMaxSegments: Int

    // MARK: Delivery
    public var concurrency: Int
    public var connectTimeout: Duration
    public var transferTimeout: Duration
    /// Attempts per delivery before it is dead.
    public var maxAttempts: Int
    public var initialBackoff: Duration
    public var maxBackoff: Duration
    /// The longest Retry-After honoured (a provider asking for more is capped).
    public var maxRetryAfter: Duration
    public var lease: Duration
    public var pollInterval: Duration
    /// Sends per second per provider (token bucket refill) and the burst.
    public var smtpRatePerSecond: Double
    public var smsRatePerSecond: Double
    public var rateBurst: Int
    public var quietHours: QuietHours?

    // MARK: Personal data at rest
    /// `ONESTOP_NOTIFY_DATA_KEYS` (`keyId:base64-32-bytes[,older…]`): recipients' addresses and
    /// names, the rendered messages and a send's variables are sealed with the first (AES-GCM);
    /// the others still open older rows.
    public var dataKeys: [(id: String, key: Data)]
    /// `ONESTOP_NOTIFY_LOOKUP_KEY` (base64, at least 16 bytes): the HMAC key of the address hashes
    /// (suppression list, one delivery per address and channel).
    public var lookupKey: Data
    /// Either key is the built-in development one (the service warns at start).
    public var usesDevelopmentKeys: Bool

    /// Used when `ONESTOP_NOTIFY_DATA_KEYS` / `ONESTOP_NOTIFY_LOOKUP_KEY` are not set (local runs and tests only).
    public static let developmentDataKey = Data(repeating: 0x4E, count: 32)
    public static let developmentLookupKey = Data(repeating: 0x6E, count: 32)

    public init(environment: [String: String]) throws {
        var env = EnvironmentReader(environment)
        smtpURL = env.string("ONESTOP_SMTP_URL", default: "smtp://127.0.0.1:2525")
        env.require(smtpURL.hasPrefix("smtp://") || smtpURL.hasPrefix("smtps://"), "ONESTOP_SMTP_URL must start with smtp:// or smtps://")
        smtpUser = env.optionalString("ONESTOP_SMTP_USER")
        smtpPassword = env.optionalString("ONESTOP_SMTP_PASSWORD")
        env.require((smtpUser == nil) == (smtpPassword == nil), "ONESTOP_SMTP_USER and ONESTOP_SMTP_PASSWORD go together")
        starttls = env.choice("ONESTOP_SMTP_STARTTLS", default: STARTTLSMode.optional)
        // With `optional`, whoever sits between us and the server can strip the STARTTLS offer
        // and read the password libcurl then sends in clear.
        env.require(
            smtpUser == nil || smtpURL.hasPrefix("smtps://") || starttls == .required,
            "ONESTOP_SMTP_USER is set but ONESTOP_SMTP_STARTTLS=\(starttls.rawValue) on an smtp:// URL could send the password in clear; set ONESTOP_SMTP_STARTTLS=required or use smtps://"
        )
        mailFrom = env.string("ONESTOP_MAIL_FROM", default: "noreply@onestop.local")
        env.require(Self.isPlainAddress(mailFrom), "ONESTOP_MAIL_FROM must be a bare address like noreply@example.org")
        mailFromName = env.optionalString("ONESTOP_MAIL_FROM_NAME") ?? "OneStop Service Hall"
        replyTo = env.optionalString("ONESTOP_MAIL_REPLY_TO")
        if let replyTo { env.require(Self.isPlainAddress(replyTo), "ONESTOP_MAIL_REPLY_TO must be a bare address") }
        let verify = env.string("ONESTOP_SMTP_TLS_VERIFY", default: "on")
        env.require(verify == "on" || verify == "off", "ONESTOP_SMTP_TLS_VERIFY=\(verify.prefix(20)) must be on or off")
        tlsVerify = verify != "off"
        smtpCAFile = env.optionalString("ONESTOP_SMTP_CA_FILE")
        if let path = smtpCAFile, let problem = Self.caFileProblem(path) {
            env.require(false, "ONESTOP_SMTP_CA_FILE=\(path.prefix(200)) \(problem)")
        }

        smsProvider = env.choice("ONESTOP_SMS_PROVIDER", default: SMSProvider.webhook)
        smsURL = env.string("ONESTOP_SMS_URL", default: "http://127.0.0.1:2580/sms")
        env.require(smsURL.hasPrefix("http://") || smsURL.hasPrefix("https://"), "ONESTOP_SMS_URL must be an http:// or https:// URL")
        smsAuthHeader = env.optionalString("ONESTOP_SMS_AUTH_HEADER")
        if let header = smsAuthHeader { env.require(header.contains(":") && !header.contains("\n"), "ONESTOP_SMS_AUTH_HEADER must be one header line `Name: value`") }
        smsBodyTemplate = env.string("ONESTOP_SMS_BODY_TEMPLATE", default: #"{"to":"{{to}}","from":"{{from}}","text":"{{text}}","reference":"{{key}}"}"#)
        // Twilio has no idempotency header for sends; a generic gateway usually takes Idempotency-Key.
        smsIdempotencyHeader = environment["ONESTOP_SMS_IDEMPOTENCY_HEADER"] ?? (smsProvider == .webhook ? "Idempotency-Key" : "")
        smsFrom = env.string("ONESTOP_SMS_FROM", default: "OneStop")
        smsAccountSID = env.optionalString("ONESTOP_SMS_ACCOUNT_SID")
        smsAuthToken = env.optionalString("ONESTOP_SMS_AUTH_TOKEN")
        if smsProvider == .twilio {
            env.require(smsAccountSID != nil && smsAuthToken != nil, "ONESTOP_SMS_PROVIDER=twilio needs ONESTOP_SMS_ACCOUNT_SID and ONESTOP_SMS_AUTH_TOKEN")
        }
        smsLongText = env.choice("ONESTOP_SMS_LONG_TEXT", default: SMSLongTextPolicy.concatenate)
        smsMaxSegments = env.integer("ONESTOP_SMS_MAX_SEGMENTS", default: 6, range: 1...20)

        concurrency = env.integer("ONESTOP_NOTIFY_CONCURRENCY", default: 16, range: 1...256)
        connectTimeout = .seconds(env.integer("ONESTOP_NOTIFY_CONNECT_TIMEOUT_SECONDS", default: 10, range: 1...300))
        transferTimeout = .seconds(env.integer("ONESTOP_NOTIFY_TIMEOUT_SECONDS", default: 30, range: 1...600))
        maxAttempts = env.integer("ONESTOP_NOTIFY_MAX_ATTEMPTS", default: 8, range: 1...100)
        initialBackoff = .milliseconds(env.integer("ONESTOP_NOTIFY_BACKOFF_MS", default: 2_000, range: 1...3_600_000))
        maxBackoff = .milliseconds(env.integer("ONESTOP_NOTIFY_MAX_BACKOFF_MS", default: 600_000, range: 1...86_400_000))
        maxRetryAfter = .seconds(env.integer("ONESTOP_NOTIFY_MAX_RETRY_AFTER_SECONDS", default: 3_600, range: 0...86_400))
        lease = .seconds(env.integer("ONESTOP_NOTIFY_LEASE_SECONDS", default: 60, range: 1...3_600))
        env.require(
            lease > transferTimeout,
            "ONESTOP_NOTIFY_LEASE_SECONDS must be longer than ONESTOP_NOTIFY_TIMEOUT_SECONDS: a delivery's lease is renewed just before its transfer, and must outlast it"
        )
        pollInterval = .milliseconds(env.integer("ONESTOP_NOTIFY_POLL_MS", default: 1_000, range: 10...60_000))
        smtpRatePerSecond = Double(env.integer("ONESTOP_SMTP_RATE_PER_SECOND", default: 1_000, range: 1...1_000_000))
        smsRatePerSecond = Double(env.integer("ONESTOP_SMS_RATE_PER_SECOND", default: 1_000, range: 1...1_000_000))
        rateBurst = env.integer("ONESTOP_NOTIFY_RATE_BURST", default: 50, range: 1...100_000)

        let offsetText = env.string("ONESTOP_QUIET_HOURS_UTC_OFFSET", default: "+08:00")
        let offset = Self.parseOffset(offsetText)
        env.require(offset != nil, "ONESTOP_QUIET_HOURS_UTC_OFFSET=\(offsetText.prefix(20)) must look like +08:00 or -05:30")
        let quietText = env.string("ONESTOP_QUIET_HOURS", default: "22:00-08:00")
        if let parsed = QuietHours.parse(quietText, utcOffsetMinutes: offset ?? 0) {
            quietHours = parsed
        } else {
            quietHours = nil
            env.require(false, "ONESTOP_QUIET_HOURS=\(quietText.prefix(20)) must be HH:MM-HH:MM or off")
        }

        dataKeys = [("dev", Self.developmentDataKey)]
        if let text = env.optionalString("ONESTOP_NOTIFY_DATA_KEYS") {
            switch DataSealer.parseKeys(text) {
            case .success(let keys): dataKeys = keys
            case .failure(let error): env.require(false, "ONESTOP_NOTIFY_DATA_KEYS: \(error)")
            }
        }
        lookupKey = Self.developmentLookupKey
        if let text = env.optionalString("ONESTOP_NOTIFY_LOOKUP_KEY") {
            if let key = Data(base64Encoded: text), key.count >= 16 {
                lookupKey = key
            } else {
                env.require(false, "ONESTOP_NOTIFY_LOOKUP_KEY: base64 of at least 16 random bytes (e.g. $(openssl rand -base64 32))")
            }
        }
        usesDevelopmentKeys = env.optionalString("ONESTOP_NOTIFY_DATA_KEYS") == nil || env.optionalString("ONESTOP_NOTIFY_LOOKUP_KEY") == nil
        if !env.problems.isEmpty { throw ConfigurationError(problems: env.problems) }
    }

    /// Settings for tests: the given sinks, quick retries, no quiet hours.
    public static func forTesting(smtpURL: String, smsURL: String, extra: [String: String] = [:]) -> NotificationSettings {
        try! NotificationSettings(environment: [
            "ONESTOP_SMTP_URL": smtpURL,
            "ONESTOP_SMS_URL": smsURL,
            "ONESTOP_SMTP_STARTTLS": "off",
            "ONESTOP_QUIET_HOURS": "off",
            "ONESTOP_NOTIFY_BACKOFF_MS": "100",
            "ONESTOP_NOTIFY_MAX_BACKOFF_MS": "1000",
            "ONESTOP_NOTIFY_POLL_MS": "100",
            "ONESTOP_NOTIFY_CONNECT_TIMEOUT_SECONDS": "2",
            "ONESTOP_NOTIFY_TIMEOUT_SECONDS": "2",
            "ONESTOP_MAIL_REPLY_TO": "help@onestop.local",
        ].merging(extra) { $1 })
    }

    static func isPlainAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !text.contains(where: { $0 == " " || $0 == "<" || $0 == ">" || $0 == "\r" || $0 == "\n" })
    }

    /// Why `path` cannot serve as a CA bundle, or nil when it can: libcurl would only say so at
    /// the first send, as a TLS failure retried until the delivery is dead.
    static func caFileProblem(_ path: String) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return "does not exist" }
        guard !isDirectory.boolValue else { return "is a directory; give the PEM file of the CA certificates" }
        guard let contents = FileManager.default.contents(atPath: path) else { return "cannot be read by this process" }
        guard String(decoding: contents, as: UTF8.self).contains("-----BEGIN CERTIFICATE-----") else {
            return "holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        }
        return nil
    }

    static func parseOffset(_ text: String) -> Int? {
        guard let sign = text.first, sign == "+" || sign == "-" else { return nil }
        guard let minutes = QuietHours.minutes(text.dropFirst()) else { return nil }
        return sign == "-" ? -minutes : minutes
    }

    /// The domain of the From address, for Message-IDs.
    var mailDomain: String { String(mailFrom.split(separator: "@").last ?? "onestop.local") }
}
