import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Wakes work in this process when a transaction that wrote for it commits, without a NOTIFY.
///
/// PostgreSQL serialises the commits of all transactions that NOTIFY, cluster-wide, behind one
/// lock held through the WAL flush: with a NOTIFY in each message-writing transaction, those
/// commits queued one behind another and capped the whole system's rate. A consumer in the
/// same process as the writer (the service's own outbox relay, its queue workers) listens here
/// instead; a writer calls `PostgresConnection.wakeAfterCommit(_:)` and says NOTIFY only when
/// nobody in its process listens.
public final class CommitSignals: Sendable {
    private let listeners = Mutex<[String: [UUID: @Sendable () -> Void]]>([:])

    public init() {}

    /// Calls `wake` after each commit of a transaction that asked for `channel`, until the
    /// registration is cancelled.
    public func listen(_ channel: String, _ wake: @escaping @Sendable () -> Void) -> Registration {
        let id = UUID()
        listeners.withLock { $0[channel, default: [:]][id] = wake }
        return Registration { [weak self] in
            self?.listeners.withLock { all in
                all[channel]?[id] = nil
                if all[channel]?.isEmpty == true { all[channel] = nil }
            }
        }
    }

    /// A listener's place; `cancel()` when the listener stops.
    public struct Registration: Sendable {
        fileprivate let remove: @Sendable () -> Void
        public func cancel() { remove() }
    }

    func isListened(_ channel: String) -> Bool {
        listeners.withLock { $0[channel] != nil }
    }

    func fire(_ channels: Set<String>) {
        let wakes = listeners.withLock { all in channels.flatMap { all[$0].map { Array($0.values) } ?? [] } }
        for wake in wakes { wake() }
    }
}
