#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation
import LineProtocol

// The notification service's own methods (`notification.send` is in Notification.swift).

/// `notification.status`: a message's deliveries and every attempt, by key or message id.
public enum NotificationStatus: RPCMethod {
    public static let name = "notification.status"
    public static let isIdempotent = true
    public static let summary = "A message's deliveries (one per recipient and channel) and their attempts, by key or messageId."

    public struct Params: Codable, Sendable {
        public var key: String?
        public var messageId: String?
        public init(key: String? = nil, messageId: String? = nil) {
            self.key = key
            self.messageId = messageId
        }
    }

    public struct Attempt: Codable, Sendable, Hashable {
        public var attempt: Int
        /// `sent`, `retry`, `failed`, `dead`, `suppressed` or `deferred` (quiet hours).
        public var outcome: String
        /// A short machine reason: `timeout`, `connection`, `smtp_4xx`, `smtp_5xx`, `http_429`, ...
        public var reason: String?
        public var detail: String?
        public var providerStatus: Int?
        public var latencyMs: Int?
        public var at: Date
        public init(attempt: Int, outcome: String, reason: String?, detail: String?, providerStatus: Int?, latencyMs: Int?, at: Date) {
            self.attempt = attempt
            self.outcome = outcome
            self.reason = reason
            self.detail = detail
            self.providerStatus = providerStatus
            self.latencyMs = latencyMs
            self.at = at
        }
    }

    public struct Delivery: Codable, Sendable, Hashable {
        public var id: String
        public var channel: NotificationChannel
        /// Masked, e.g. `+86138****5678`, `z***@example.org`.
        public var address: String
        /// `pending`, `retrying`, `sent`, `failed` (permanent), `dead` (retry budget spent) or `suppressed`.
        public var status: String
        public var attempts: Int
        public var providerId: String?
        public var lastError: String?
        public var nextAttemptAt: Date?
        public var sentAt: Date?
        public var history: [Attempt]
        public init(id: String, channel: NotificationChannel, address: String, status: String, attempts: Int, providerId: String?,
                    lastError: String?, nextAttemptAt: Date?, sentAt: Date?, history: [Attempt]) {
            self.id = id
            self.channel = channel
            self.address = address
            self.status = status
            self.attempts = attempts
            self.providerId = providerId
            self.lastError = lastError
            self.nextAttemptAt = nextAttemptAt
            self.sentAt = sentAt
            self.history = history
        }
    }

    public struct Result: Codable, Sendable {
        public var messageId: String
        public var key: String
        public var template: NotificationTemplate
        public var locale: CustomerLocale
        public var createdAt: Date
        public var deliveries: [Delivery]
        public init(messageId: String, key: String, template: NotificationTemplate, locale: CustomerLocale, createdAt: Date, deliveries: [Delivery]) {
            self.messageId = messageId
            self.key = key
            self.template = template
            self.locale = locale
            self.createdAt = createdAt
            self.deliveries = deliveries
        }
    }
}

/// `notification.suppress`: never send to an address again (an opt-out or a known bad address),
/// or lift that (`remove: true`).
public enum NotificationSuppress: RPCMethod {
    public static let name = "notification.suppress"
    public static let isIdempotent = true
    public static let summary = "Add an address to the suppression list (opt-out, hard bounce) or remove it."

    public struct Params: Codable, Sendable {
        public var channel: NotificationChannel
        public var address: String
        public var reason: String?
        public var remove: Bool?
        public init(channel: NotificationChannel, address: String, reason: String? = nil, remove: Bool? = nil) {
            self.channel = channel
            self.address = address
            self.reason = reason
            self.remove = remove
        }
    }

    public struct Result: Codable, Sendable {
        /// Whether the list changed.
        public var changed: Bool
        public init(changed: Bool) { self.changed = changed }
    }
}
