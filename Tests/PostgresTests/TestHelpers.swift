import Foundation
import Logging
import Postgres
import Synchronization
import TestSupport

let quietLogger = Logger(label: "onestop.postgres.tests") { _ in SwiftLogNoOpLogHandler() }

/// A pool on a fresh database of the shared test cluster.
func makePool(
    maxConnections: Int = 4, acquireTimeout: Duration = .seconds(5), prefix: String = "t"
) async throws -> (PostgresPool, PostgresConfiguration) {
    let configuration = try await PostgresCluster.shared().createDatabase(prefix: prefix)
    let pool = PostgresPool(
        configuration: configuration, maxConnections: maxConnections, acquireTimeout: acquireTimeout, logger: quietLogger
    )
    return (pool, configuration)
}

/// Waits until `condition` holds, checking every 20 ms, for at most `timeout`.
func eventually(
    timeout: Duration = .seconds(10), _ condition: () async throws -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// Terminates every backend whose application_name is `name` (or the given pid) and waits until they are gone.
func terminateBackends(using pool: PostgresPool, pid: Int32) async throws {
    try await pool.query("SELECT pg_terminate_backend(\(pid))")
    _ = try await eventually {
        try await pool.query("SELECT 1 FROM pg_stat_activity WHERE pid = \(pid)").isEmpty
    }
    // The backend leaves pg_stat_activity just before its socket closes.
    try await Task.sleep(for: .milliseconds(100))
}

/// Collects a stream's elements in the background.
final class Collector<Element: Sendable>: Sendable {
    private let items = Mutex<[Element]>([])
    private let finished = Atomic<Bool>(false)

    func append(_ element: Element) { items.withLock { $0.append(element) } }
    func finish() { finished.store(true, ordering: .relaxed) }
    var elements: [Element] { items.withLock { $0 } }
    var isFinished: Bool { finished.load(ordering: .relaxed) }
}

struct ExpectedFailure: Error {}

/// Shared mutable state for concurrent test tasks.
final class LockedBox<Value: Sendable>: Sendable {
    private let value: Mutex<Value>

    init(_ value: Value) { self.value = Mutex(value) }

    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { value.withLock { body(&$0) } }
    var current: Value { value.withLock { $0 } }
}
