import Foundation
import Postgres
import TestSupport
import Testing

@Suite("LISTEN/NOTIFY")
struct ListenerTests {
    /// Starts consuming `listener` in the background and waits for LISTEN to be active.
    private func consume(_ listener: PostgresListener) async throws -> (Collector<PostgresNotification>, Task<Void, any Error>) {
        let collector = Collector<PostgresNotification>()
        let stream = listener.notifications()
        let task = Task {
            defer { collector.finish() }
            for try await notification in stream { collector.append(notification) }
        }
        let listening = try await eventually { collector.elements.contains { $0.kind == .listening } }
        #expect(listening)
        return (collector, task)
    }

    @Test func committedNotifiesArriveAndRolledBackOnesDoNot() async throws {
        let (pool, configuration) = try await makePool()
        let listener = PostgresListener(configuration: configuration, channels: ["case_events"], logger: quietLogger)
        let (collector, _) = try await consume(listener)

        await #expect(throws: ExpectedFailure.self) {
            try await pool.withTransaction { connection in
                try await connection.query("SELECT pg_notify('case_events', \("rolled back"))")
                throw ExpectedFailure()
            }
        }
        try await pool.withTransaction { connection in
            try await connection.query("SELECT pg_notify('case_events', \("committed 中文"))")
        }
        try await pool.query("NOTIFY case_events, 'after'")

        #expect(try await eventually { collector.elements.filter { $0.kind == .notification }.count >= 2 })
        let messages = collector.elements.filter { $0.kind == .notification }
        #expect(messages == [
            PostgresNotification(channel: "case_events", payload: "committed 中文"),
            PostgresNotification(channel: "case_events", payload: "after"),
        ])
        await listener.close()
        await pool.close()
    }

    @Test func closeEndsTheStreamAndTheSession() async throws {
        let (pool, base) = try await makePool()
        var configuration = base
        configuration.applicationName = "listener-close-\(UUID().uuidString.prefix(8))"
        let listener = PostgresListener(configuration: configuration, channels: ["a"], logger: quietLogger)
        let (collector, task) = try await consume(listener)

        let started = ContinuousClock.now
        await listener.close()
        try await task.value
        #expect(collector.isFinished)
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(try await sessionGone(applicationName: configuration.applicationName!, pool: pool))
        await pool.close()
    }

    @Test func cancellingTheConsumerEndsTheSession() async throws {
        let (pool, base) = try await makePool()
        var configuration = base
        configuration.applicationName = "listener-cancel-\(UUID().uuidString.prefix(8))"
        let listener = PostgresListener(configuration: configuration, channels: ["a"], logger: quietLogger)
        let (collector, task) = try await consume(listener)

        task.cancel()
        _ = try? await task.value
        #expect(try await eventually(timeout: .seconds(2)) { collector.isFinished })
        #expect(try await sessionGone(applicationName: configuration.applicationName!, pool: pool))
        await pool.close()
    }

    @Test func lostSessionIsReopenedAndMarked() async throws {
        let (pool, base) = try await makePool()
        var configuration = base
        configuration.applicationName = "listener-lost-\(UUID().uuidString.prefix(8))"
        let listener = PostgresListener(configuration: configuration, channels: ["jobs"], logger: quietLogger)
        let (collector, _) = try await consume(listener)

        let pids = try await pool.query("SELECT pid FROM pg_stat_activity WHERE application_name = \(configuration.applicationName!)")
        let pid = try #require(pids.first).decode(Int32.self, column: "pid")
        try await pool.query("SELECT pg_terminate_backend(\(pid))")

        #expect(try await eventually { collector.elements.contains { $0.kind == .reconnected } })
        try await pool.query("NOTIFY jobs, 'after reconnect'")
        #expect(try await eventually { collector.elements.contains { $0.payload == "after reconnect" } })
        await listener.close()
        await pool.close()
    }

    private func sessionGone(applicationName: String, pool: PostgresPool) async throws -> Bool {
        try await eventually(timeout: .seconds(5)) {
            try await pool.query("SELECT 1 FROM pg_stat_activity WHERE application_name = \(applicationName)").isEmpty
        }
    }
}
