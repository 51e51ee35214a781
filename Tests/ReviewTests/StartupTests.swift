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
        let outcome = await Task {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask { try await app.run(); return true }
                group.addTask {
                    // Still running: stop it, so the test fails instead of waiting for ever.
                    try await Task.sleep(for: .seconds(60))
                    await app.triggerGracefulShutdown()
                    return false
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
        }.result
        switch outcome {
        case .success(let returned):
            Issue.record(returned ? "the worker ran and returned without an error" : "the worker still ran after 60 s")
        case .failure(let error):
            #expect(String(describing: error).contains(missing.lastPathComponent), "\(error)")
        }
    }
}
