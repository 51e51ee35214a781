import Contracts
import Metrics

/// The service's own metrics (queue depth is `messaging_queue_depth{queue="notification.delivery"}`).
struct NotificationMetrics: Sendable {
    func sent(_ channel: NotificationChannel) {
        Counter(label: "notification_sends_total", dimensions: [("channel", channel.rawValue), ("outcome", "sent")]).increment()
    }

    func outcome(_ channel: NotificationChannel, _ outcome: String) {
        Counter(label: "notification_sends_total", dimensions: [("channel", channel.rawValue), ("outcome", outcome)]).increment()
    }

    func failure(_ channel: NotificationChannel, reason: String) {
        Counter(label: "notification_failures_total", dimensions: [("channel", channel.rawValue), ("reason", reason)]).increment()
    }

    func retry(_ channel: NotificationChannel) {
        Counter(label: "notification_retries_total", dimensions: [("channel", channel.rawValue)]).increment()
    }

    func latency(_ provider: String, _ elapsed: Duration) {
        Metrics.Timer(label: "notification_provider_latency_seconds", dimensions: [("provider", provider)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}
