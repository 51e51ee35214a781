import Contracts
import LineProtocol
import Postgres
@testable import ReviewService
import TestSupport
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

@Suite("Assignment", .timeLimit(.minutes(3)))
struct AssignmentTests {
    @Test func aHundredTasksSpreadOverFourReviewersWithinOneAndUrgentFirst() async throws {
        try await ReviewHarness.run(settings: ReviewHarness.settings(concurrency: 0)) { h in
            for id in ["a", "b", "c", "d"] { try await h.addReviewer(id) }
            try await h.addReviewer("unqualified", types: ["passport"])
            try await h.addReviewer("off", onDuty: false)
            var urgent: Set<String> = []
            for index in 0..<100 {
                let priority: CasePriority = index % 5 == 4 ? .urgent : .regular
                let submitted = try await h.submit(submission(priority: priority))
                if priority == .urgent { urgent.insert(submitted.taskId) }
            }
            // One worker, one job at a time: the queue hands out urgent checks first.
            try await h.withWorkers(ReviewHarness.settings(concurrency: 1)) {
                let done = try await waitUntil(timeout: .seconds(60)) {
                    try await h.count("SELECT count(*)::int8 AS n FROM review_tasks WHERE state = 'assigned'") == 100
                }
                try #require(done)
            }
            var counts: [Int] = []
            for id in ["a", "b", "c", "d"] {
                let queue = try await h.queue(of: id)
                counts.append(queue.tasks.count)
                let ranks = queue.tasks.map(\.priority.rank)
                #expect(ranks == ranks.sorted(by: >), "urgent first in \(id)'s queue")
            }
            #expect(counts.reduce(0, +) == 100)
            #expect(counts.max()! - counts.min()! <= 1, "spread \(counts)")
            #expect(try await h.queue(of: "unqualified").tasks.isEmpty)
            #expect(try await h.queue(of: "off").tasks.isEmpty)
            // Every urgent task was assigned before any regular one.
            let order = try await h.pool.query("SELECT id FROM review_tasks ORDER BY assigned_at, id")
            let ids = try order.map { try $0.decode(UUID.self, column: "id").uuidString.lowercased() }
            #expect(Set(ids.prefix(urgent.count)) == urgent)
        }
    }

    @Test func aQueueIsPagedWithACursorWithoutGapsOrRepeats() async throws {
        try await ReviewHarness.run { h in
            try await h.addReviewer("solo")
            var ids: Set<String> = []
            for index in 0..<7 {
                ids.insert(try await h.submit(submission(priority: index.isMultiple(of: 3) ? .urgent : .regular)).taskId)
            }
            let all = try await waitUntil { try await h.count("SELECT count(*)::int8 AS n FROM review_tasks WHERE state = 'assigned'") == 7 }
            try #require(all)
            var seen: [ReviewTaskSummary] = []
            var cursor: String?
            repeat {
                let page = try await h.queue(of: "solo", limit: 3, after: cursor)
                seen += page.tasks
                cursor = page.nextCursor
            } while cursor != nil
            #expect(seen.count == 7)
            #expect(Set(seen.map(\.taskId)) == ids)
            #expect(seen.map(\.priority.rank) == seen.map(\.priority.rank).sorted(by: >))
            let bad = await errorKind { _ = try await h.queue(of: "solo", after: "garbage") }
            #expect(bad == .invalidParams)
        }
    }

    @Test func aReviewerGoingOffDutyHasTheirOpenTasksRedistributed() async throws {
        try await ReviewHarness.run { h in
            for id in ["a", "b", "c"] { try await h.addReviewer(id) }
            var cases: [String] = []
            for _ in 0..<9 {
                let params = submission()
                cases.append(params.caseId)
                _ = try await h.submit(params)
            }
            let all = try await waitUntil { try await h.count("SELECT count(*)::int8 AS n FROM review_tasks WHERE state = 'assigned'") == 9 }
            try #require(all)
            let before = try await h.queue(of: "a").tasks
            #expect(before.count == 3)

            let result = try await h.client.call(ReviewSetOnDuty.self, .init(reviewerId: "a", onDuty: false))
            #expect(result.redistributed == 3)
            #expect(try await h.queue(of: "a").tasks.isEmpty)
            let b = try await h.queue(of: "b").tasks.count
            let c = try await h.queue(of: "c").tasks.count
            #expect(b + c == 9)
            #expect(abs(b - c) <= 1)
            // Intake hears of each new assignment.
            let moved = Set(before.map(\.caseId))
            let told = try await waitUntil {
                moved.allSatisfy { caseId in h.peers.progress(of: caseId).filter { $0.event == .reviewAssigned }.count == 2 }
            }
            #expect(told)
            #expect(try await h.count("SELECT count(*)::int8 AS n FROM review_audit WHERE action = 'off_duty'") == 1)

            // With nobody qualified on duty, tasks wait; the first reviewer back picks them up.
            _ = try await h.client.call(ReviewSetOnDuty.self, .init(reviewerId: "b", onDuty: false))
            _ = try await h.client.call(ReviewSetOnDuty.self, .init(reviewerId: "c", onDuty: false))
            #expect(try await h.count("SELECT count(*)::int8 AS n FROM review_tasks WHERE state = 'awaiting_decision'") == 9)
            let back = try await h.client.call(ReviewSetOnDuty.self, .init(reviewerId: "a", onDuty: true))
            #expect(back.assignedFromWaiting == 9)
            #expect(try await h.queue(of: "a").tasks.count == 9)

            let unknown = await errorKind { _ = try await h.client.call(ReviewSetOnDuty.self, .init(reviewerId: "nobody", onDuty: false)) }
            #expect(unknown == .notFound)
        }
    }
}
