import SystemHarness
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The short chaos run: about 150 cases through the gateway while every service and a review
/// worker are SIGKILLed in turn, Postgres is stopped, notification is frozen and the routing →
/// notification link is cut, each briefly; then every case is accounted for. The long run is
/// `make chaos`. Runs on a system (and a Postgres cluster) of its own.
@Suite("End to end: chaos run")
struct ChaosTests {
    @Test(.timeLimit(.minutes(5)))
    func casesSubmittedThroughEveryKindOfFaultAreNeitherLostNorDuplicated() async throws {
        let report = try await ChaosRun(.short).run()
        print(report)
        fflush(nil)
        #expect(report.account.lost.isEmpty, "lost: \(report.account.lost.prefix(10))")
        #expect(report.account.duplicated.isEmpty, "duplicated: \(report.account.duplicated.prefix(10))")
        #expect(report.account.unexpected.isEmpty, "unexpected: \(report.account.unexpected.prefix(10))")
        #expect(report.account.recoveredIncomplete.isEmpty, "found but incomplete: \(report.account.recoveredIncomplete.prefix(10))")
        #expect(report.account.acknowledged > 0)
        #expect(report.faults.allSatisfy { $0.problem == nil }, "\(report.faults.compactMap(\.problem))")
    }
}
