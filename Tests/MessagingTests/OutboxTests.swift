import JSONCoding
import LineProtocol
import Messaging
import Postgres
import Synchronization
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif
import Foundation

@Suite("Outbox and inbox: every message delivered, each effect once, in order per key")
struct OutboxTests {
    @Test func aRelayKilledMidDeliveryLosesAndRepeatsNothing() async throws {
        let fixture = try await MessagingFixture.make()
        let server = try await fixture.startReceiver()
        let port = server.localAddress!.port!
        let count = 400, keys = 20
        try await fixture.enqueue(count, keys: keys)
        let arguments = ["relay", "--database", fixture.senderConfiguration.connectionString, "--destination", "receiver=127.0.0.1:\(port)", "--lease-seconds", "2"]

        let first = try ChildProcess(executable: "messaging-probe", arguments: arguments)
        try await first.waitForOutput("ready")
        #expect(try await waitUntil { try await fixture.receiver.effects().count >= 60 })
        first.kill(SIGKILL)
        await first.waitForExit()
        let deliveredBeforeKill = try await fixture.receiver.effects().count
        #expect(deliveredBeforeKill < count, "the kill must land mid-delivery")

        let second = try ChildProcess(executable: "messaging-probe", arguments: arguments)
        try await second.waitForOutput("ready")
        #expect(try await waitUntil { try await fixture.outboxCounts().delivered == count })
        second.kill(SIGTERM)
        await second.waitForExit()

        #expect(try await fixture.expectExactlyOnceInOrder(count, keys: keys) == [])
        await server.shutdown()
        await fixture.close()
    }

    @Test func aReceiverCrashingAfterCommitBeforeAnsweringGetsNoSecondEffect() async throws {
        let fixture = try await MessagingFixture.make()
        let arguments = ["receiver", "--database", fixture.receiverConfiguration.connectionString]
        let first = try ChildProcess(executable: "messaging-probe", arguments: arguments + ["--crash-after-commit", "40"])
        try await first.waitForOutput("ready port=")
        let port = Int(first.outputSoFar.split(separator: "port=")[1].prefix { $0.isNumber })!
        let count = 200, keys = 10
        try await fixture.enqueue(count, keys: keys)

        try await withRelays([fixture.relay(to: port)]) {
            await first.waitForExit()  // it kills itself after the 40th commit
            #expect(try await fixture.receiver.effects().count >= 40)
            let second = try ChildProcess(executable: "messaging-probe", arguments: arguments + ["--port", "\(port)"])
            try await second.waitForOutput("ready")
            #expect(try await waitUntil { try await fixture.outboxCounts().delivered == count })
            second.kill(SIGTERM)
            await second.waitForExit()
        }
        #expect(try await fixture.expectExactlyOnceInOrder(count, keys: keys) == [])
        let inbox = try await fixture.receiverPool.query("SELECT count(*)::int8 AS n FROM messaging_inbox")
        #expect(try inbox[0].decode(Int64.self, column: "n") == Int64(count))
        await fixture.close()
    }

    @Test func aBacklogDrainsInOrderWhenTheReceiverReturns() async throws {
        let fixture = try await MessagingFixture.make()
        // Held until the receiver returns: a port merely found free was once taken by another
        // test's receiver, which then got this test's messages.
        let down = try RefusingPort()
        let count = 300, keys = 10
        try await withRelays([fixture.relay(to: down.port)]) {
            try await fixture.enqueue(count, keys: keys)
            try await Task.sleep(for: .milliseconds(1500))
            let waiting = try await fixture.outboxCounts()
            #expect(waiting.pending == count, "nothing can be delivered while the receiver is down")
            down.release()
            let server = try await fixture.startReceiver(port: down.port)
            #expect(try await waitUntil { try await fixture.outboxCounts().delivered == count })
            await server.shutdown()
        }
        #expect(try await fixture.expectExactlyOnceInOrder(count, keys: keys) == [])
        await fixture.close()
    }

    @Test func aPollingOnlyRelayIsNotWokenByOtherProcessesCommitsButDeliversAtItsNextPoll() async throws {
        let fixture = try await MessagingFixture.make()
        let server = try await fixture.startReceiver()
        let otherProcess = PostgresPool(configuration: fixture.senderConfiguration, maxConnections: 2, logger: quietLogger)
        let relay = fixture.relay(to: server.localAddress!.port!, pollInterval: .seconds(4), wakesOnNotify: false)
        try await withRelays([relay]) {
            try await Task.sleep(for: .milliseconds(300))  // its first round found nothing; it sleeps
            try await fixture.enqueue(5, keys: 1, through: otherProcess)
            try await Task.sleep(for: .milliseconds(700))
            #expect(try await fixture.outboxCounts().pending == 5, "a relay that does not listen waits for its poll")
            #expect(try await waitUntil(timeout: .seconds(8)) { try await fixture.outboxCounts().delivered == 5 })
        }
        #expect(try await fixture.expectExactlyOnceInOrder(5, keys: 1) == [])
        await otherProcess.close()
        await server.shutdown()
        await fixture.close()
    }

    /// Every transaction that says NOTIFY commits after the one before it, cluster-wide: a writer
    /// whose own process runs a relay on its pool wakes that relay directly and says nothing.
    @Test func aCommitWakesItsOwnProcesssRelayAtOnceWithoutANotify() async throws {
        let fixture = try await MessagingFixture.make()
        let server = try await fixture.startReceiver()
        let listener = PostgresListener(configuration: fixture.senderConfiguration, channels: [Outbox.notifyChannel], logger: quietLogger)
        let notified = Mutex(0)
        let listening = Task {
            for try await note in listener.notifications() where note.kind == .notification {
                notified.withLock { $0 += 1 }
            }
        }
        // Its poll is far longer than the wait below: only a wake can deliver in time. (The wait
        // was 3 s, which a loaded CI machine once needed more than for five deliveries of one key,
        // each a claim, a call and a record one after another.)
        let relay = fixture.relay(to: server.localAddress!.port!, pollInterval: .seconds(120), wakesOnNotify: false)
        try await withRelays([relay]) {
            try await Task.sleep(for: .milliseconds(300))  // its first round found nothing; it sleeps
            try await fixture.enqueue(5, keys: 1)
            #expect(try await waitUntil(timeout: .seconds(30)) { try await fixture.outboxCounts().delivered == 5 }, "woken by its own pool's commit")
            // A writer in another process still says NOTIFY; the listener hears that one only.
            let otherProcess = PostgresPool(configuration: fixture.senderConfiguration, maxConnections: 2, logger: quietLogger)
            try await fixture.enqueue(1, keys: 1, through: otherProcess)
            #expect(try await waitUntil(timeout: .seconds(5)) { notified.withLock { $0 } == 1 })
            await otherProcess.close()
        }
        #expect(notified.withLock { $0 } == 1)
        await listener.close()
        listening.cancel()
        await server.shutdown()
        await fixture.close()
    }

    @Test func twoRelayReplicasNeverDeliverTwiceAndKeepKeyOrder() async throws {
        let fixture = try await MessagingFixture.make()
        let server = try await fixture.startReceiver()
        let port = server.localAddress!.port!
        let count = 500, keys = 25
        try await withRelays([fixture.relay(to: port, batchSize: 8), fixture.relay(to: port, batchSize: 8)]) {
            try await fixture.enqueue(count, keys: keys)
            #expect(try await waitUntil { try await fixture.outboxCounts().delivered == count })
        }
        #expect(try await fixture.expectExactlyOnceInOrder(count, keys: keys) == [])
        // A delivery that timed out under load is sent again (and answered from the inbox), so
        // calls may exceed the count; what must never happen is two relays on one key at once.
        #expect(fixture.receiver.calls >= count)
        #expect(fixture.receiver.concurrentSameKey == 0, "no two relays delivered messages of one key at the same time")
        await server.shutdown()
        await fixture.close()
    }

    @Test func aMessageWhoseSequenceValueCommitsLateIsStillDelivered() async throws {
        let fixture = try await MessagingFixture.make()
        let server = try await fixture.startReceiver()
        let port = server.localAddress!.port!
        let (commitSignal, commit) = AsyncStream<Void>.makeStream()
        let (enqueuedSignal, enqueued) = AsyncStream<Void>.makeStream()
        try await withRelays([fixture.relay(to: port)]) {
            // The first transaction takes the lower id and holds it uncommitted.
            async let early: Void = fixture.sender.withTransaction { connection in
                try await Outbox.enqueue(ProbeApply.self, .init(key: "early", sequence: 0), to: "receiver", aggregateKey: "early", on: connection)
                enqueued.yield()
                for await _ in commitSignal { break }
            }
            // Only once the early row holds its id (a fixed pause is not enough on a busy machine).
            for await _ in enqueuedSignal { break }
            _ = try await fixture.sender.withTransaction { connection in
                try await Outbox.enqueue(ProbeApply.self, .init(key: "late", sequence: 0), to: "receiver", aggregateKey: "late", on: connection)
            }
            #expect(try await waitUntil { try await fixture.receiver.effects().map(\.key) == ["late"] })
            commit.yield()
            try await early
            #expect(try await waitUntil { try await fixture.receiver.effects().map(\.key) == ["late", "early"] })
        }
        let ids = try await fixture.sender.query("SELECT aggregate_key FROM messaging_outbox ORDER BY id").map { try $0.decode(String.self, column: "aggregate_key") }
        #expect(ids == ["early", "late"], "the late-committing message has the lower id")
        await server.shutdown()
        await fixture.close()
    }

    @Test func aNonRetryableAnswerDeadLettersWithTheError() async throws {
        let fixture = try await MessagingFixture.make()
        let server = try await fixture.startReceiver()
        let port = server.localAddress!.port!
        try await fixture.sender.withTransaction { connection in
            try await Outbox.enqueue(destination: "receiver", method: "probe.unknown", params: ["x": 1], aggregateKey: "a", on: connection)
            try await Outbox.enqueue(ProbeApply.self, .init(key: "a", sequence: 1), to: "receiver", aggregateKey: "a", on: connection)
        }
        try await withRelays([fixture.relay(to: port)]) {
            let settled = try await waitUntil { try await fixture.outboxCounts() == (0, 1, 1) }
            #expect(settled)
        }
        let dead = try await fixture.sender.query("SELECT method, last_error FROM messaging_outbox WHERE status = 'dead'")
        #expect(try dead[0].decode(String.self, column: "method") == "probe.unknown")
        #expect(try dead[0].decode(String.self, column: "last_error").contains("Method not found"))
        await server.shutdown()
        await fixture.close()
    }

    @Test func sealedParamsAreStoredUnreadableAndOpenedForDelivery() async throws {
        let fixture = try await MessagingFixture.make()
        let server = try await fixture.startReceiver()
        let port = server.localAddress!.port!
        let sealing = ReversingSealing()
        try await fixture.sender.withTransaction { connection in
            for sequence in 0..<3 {
                try await Outbox.enqueue(ProbeApply.self, .init(key: "secret-key", sequence: sequence), to: "receiver", aggregateKey: "k0", sealedWith: sealing, on: connection)
            }
        }
        let stored = try await fixture.sender.query("SELECT params::text AS p FROM messaging_outbox").map { try $0.decode(String.self, column: "p") }
        #expect(stored.count == 3)
        #expect(stored.allSatisfy { $0.contains("$sealed") && $0.contains("test-key") && !$0.contains("secret-key") })
        try await withRelays([fixture.relay(to: port, sealing: sealing)]) {
            let delivered = try await waitUntil { try await fixture.outboxCounts().delivered == 3 }
            #expect(delivered)
        }
        #expect(try await fixture.expectExactlyOnceInOrder(3, keys: 1) == [])
        #expect(try await fixture.receiver.effects().allSatisfy { $0.key == "secret-key" })
        await server.shutdown()
        await fixture.close()
    }

    @Test func aRelayWithoutTheKeyDeadLettersSealedParamsAndSaysWhy() async throws {
        let fixture = try await MessagingFixture.make()
        let server = try await fixture.startReceiver()
        let port = server.localAddress!.port!
        try await fixture.sender.withTransaction { connection in
            try await Outbox.enqueue(ProbeApply.self, .init(key: "a", sequence: 0), to: "receiver", aggregateKey: "a", sealedWith: ReversingSealing(), on: connection)
            try await Outbox.enqueue(ProbeApply.self, .init(key: "b", sequence: 0), to: "receiver", aggregateKey: "b", on: connection)
        }
        try await withRelays([fixture.relay(to: port)]) {
            let settled = try await waitUntil { try await fixture.outboxCounts() == (0, 1, 1) }
            #expect(settled)
        }
        let dead = try await fixture.sender.query("SELECT last_error FROM messaging_outbox WHERE status = 'dead'")
        #expect(try dead[0].decode(String.self, column: "last_error").contains("sealed with key \"test-key\", but this relay was given no key"))
        #expect(try await fixture.receiver.effects().map(\.key) == ["b"])
        await server.shutdown()
        await fixture.close()
    }

    @Test func deadLettersAfterTheRetryBudgetAreReplayedByOperations() async throws {
        let fixture = try await MessagingFixture.make()
        // Held, never listening: nothing else can take the port while the relay fails against it.
        let down = try RefusingPort()
        try await fixture.enqueue(6, keys: 3)
        let operations = MessagingOperations(database: fixture.sender)
        try await withRelays([fixture.relay(to: down.port, maxAttempts: 2)]) {
            // The head of each key dies first; the next of the key then fails in turn.
            #expect(try await waitUntil(timeout: .seconds(60)) { try await fixture.outboxCounts().dead == 6 })
            let letters = try await operations.deadLetters()
            #expect(letters.count == 6)
            #expect(letters.allSatisfy { $0.attempts == 2 && ($0.lastError ?? "").contains("receiver") })
            #expect(try await operations.backlog().dead == 6)
        }
        // The receiver is back (on a port of its own) and operations replay the dead letters.
        let server = try await fixture.startReceiver()
        try await withRelays([fixture.relay(to: server.localAddress!.port!, maxAttempts: 2)]) {
            let replayed = try await operations.replayDeadLetters(ids: nil)
            #expect(replayed == 6)
            #expect(try await waitUntil { try await fixture.outboxCounts().delivered == 6 })
        }
        await server.shutdown()
        #expect(try await fixture.expectExactlyOnceInOrder(6, keys: 3) == [])
        await fixture.close()
    }

    @Test func deliveredRowsArePurgedAfterRetention() async throws {
        let fixture = try await MessagingFixture.make()
        try await fixture.enqueue(10, keys: 2)
        try await fixture.sender.execute("UPDATE messaging_outbox SET status = 'delivered', delivered_at = now() - interval '8 days' WHERE id % 2 = 0")
        await fixture.relay(to: 1).purge()
        let counts = try await fixture.outboxCounts()
        #expect(counts.delivered == 0)
        #expect(counts.pending == 5)
        await fixture.close()
    }

    @Test func inboxAnswersARepeatWithTheOriginalOutcome() async throws {
        let fixture = try await MessagingFixture.make()
        let inbox = Inbox(database: fixture.receiverPool)
        let context = RPCContext(method: "probe.apply", meta: RPCMeta(messageId: "m-1"), caller: nil, logger: quietLogger)
        let first = try await inbox.receive(context) { connection in
            try await connection.query("INSERT INTO probe_effects (message_id, key, sequence) VALUES ('m-1', 'k', 1) RETURNING id")[0].decode(Int64.self, column: "id")
        }
        let second = try await inbox.receive(context) { _ -> Int64 in
            Issue.record("a repeat must not run its effect")
            return -1
        }
        #expect(first == second)

        // A final error is recorded too: the repeat gets the same error and no effect.
        let failing = RPCContext(method: "probe.apply", meta: RPCMeta(messageId: "m-2"), caller: nil, logger: quietLogger)
        let refused = RPCError.invalidState("case is closed")
        await #expect(throws: refused) {
            _ = try await inbox.receive(failing) { connection -> Int in
                try await connection.execute("INSERT INTO probe_effects (message_id, key, sequence) VALUES ('m-2', 'k', 2)")
                throw refused
            }
        }
        await #expect(throws: refused) {
            _ = try await inbox.receive(failing) { _ -> Int in
                Issue.record("a repeat of a refused message must not run its effect")
                return -1
            }
        }
        #expect(try await fixture.receiver.effects().count == 1, "the refused effect is rolled back")
        await fixture.close()
    }
}

/// Stands in for a cipher: the relay's part is to store what the sealing returns and to open it
/// before delivery; the cipher itself (AES-GCM) is tested where it lives, in intake.
struct ReversingSealing: OutboxSealing {
    func sealOutboxParams(_ plaintext: Data) throws -> (keyID: String, box: Data) {
        ("test-key", Data(plaintext.reversed()))
    }

    func openOutboxParams(_ box: Data, keyID: String) throws -> Data {
        Data(box.reversed())
    }
}
