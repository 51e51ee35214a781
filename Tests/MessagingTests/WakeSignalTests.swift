@testable import Messaging
import Testing

@Suite("Wake signal: the relay's and workers' sleep between rounds")
struct WakeSignalTests {
    @Test("a wait ended by a signal leaves nothing behind: the next wait sleeps its full time")
    func aSignalledWaitLeavesNoSpuriousWakeUp() async throws {
        let wake = WakeSignal()
        let waiting = Task {
            let started = ContinuousClock.now
            await wake.wait(upTo: .seconds(30))
            return ContinuousClock.now - started
        }
        try await Task.sleep(for: .milliseconds(50))
        wake.signal()
        #expect(await waiting.value < .seconds(10), "the signal ends the wait")

        let started = ContinuousClock.now
        await wake.wait(upTo: .milliseconds(300))
        #expect(ContinuousClock.now - started >= .milliseconds(280), "a stale wake-up would return at once and make the loop spin")
    }

    @Test("a signal sent while nobody waits is kept for the next wait, once")
    func aSignalWhileBusyIsKeptOnce() async {
        let wake = WakeSignal()
        wake.signal()
        wake.signal()
        let started = ContinuousClock.now
        await wake.wait(upTo: .seconds(30))
        #expect(ContinuousClock.now - started < .seconds(10))
        let second = ContinuousClock.now
        await wake.wait(upTo: .milliseconds(200))
        #expect(ContinuousClock.now - second >= .milliseconds(180), "two signals before a wait wake it once")
    }

    @Test("the timeout ends a wait nobody signals, and cancelling the waiting task ends it at once")
    func timeoutAndCancellation() async {
        let wake = WakeSignal()
        let started = ContinuousClock.now
        await wake.wait(upTo: .milliseconds(100))
        #expect(ContinuousClock.now - started >= .milliseconds(90))

        let waiting = Task { await wake.wait(upTo: .seconds(60)) }
        try? await Task.sleep(for: .milliseconds(50))
        let cancelled = ContinuousClock.now
        waiting.cancel()
        await waiting.value
        #expect(ContinuousClock.now - cancelled < .seconds(10))
    }
}
