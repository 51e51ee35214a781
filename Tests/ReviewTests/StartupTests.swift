import ReviewService
import ServiceKit
import TestSupport
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

@Suite("Review start-up")
struct StartupTests {
    /// A worker process whose rules file cannot be read must not run on without workers (a
    /// process that looks alive and checks nothing): it stops at start and names the file.
    @Test("a rules file that cannot be read stops a review worker at start, with the file named")
    func anUnreadableRulesFileStopsTheWorker() async throws {
        let database = try await PostgresCluster.shared().createDatabase(prefix: "reviewstart")
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("onestop-no-such-rules-\(UUID().uuidString).json")
        let settings = ReviewSettings(workerConcurrency: 2, rulesFile: missing)
        let configuration = ServiceConfiguration.forTesting(service: .review, databaseURL: database.connectionString)
        let app = ServiceApp(definition: ReviewService.workerDefinition(settings: settings), configuration: configuration, logger: quietLogger)
        switch await app.outcomeOfStart() {
        case .returned: Issue.record("the worker ran and returned without an error")
        case .stillRunning: Issue.record("the worker still ran after 60 s")
        case .failed(let error):
            #expect(String(describing: error).contains(missing.lastPathComponent), "\(error)")
        }
    }
}
