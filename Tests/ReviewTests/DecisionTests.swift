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

@Suite("Decisions", .timeLimit(.minutes(3)))
struct DecisionTests {
    /// An assigned task of `r1`.
    static func assignedTask(_ h: ReviewHarness) async throws -> (taskId: String, caseId: String) {
        let params = submission()
        let submitted = try await h.submit(params)
        #expect(try await h.checked(submitted.taskId) == .assigned)
        return (submitted.taskId, params.caseId)
    }

    @Test func anApprovalGoesToRoutingAndIntake() async throws {
        try await ReviewHarness.run { h in
            try await h.addReviewer("r1")
            let (taskId, caseId) = try await Self.assignedTask(h)
            let result = try await h.decide(.init(taskId: taskId, decision: .approve, opinion: "all in order"), as: "r1")
            #expect(result.state == .decided)
            #expect(result.decision.decidedBy == "r1")
            let delivered = try await waitUntil {
                h.peers.dispatches(of: caseId).count == 1 && h.peers.progress(of: caseId).contains { $0.event == .reviewApproved }
            }
            #expect(delivered)
            #expect(h.peers.dispatches(of: caseId).first?.opinion == "all in order")
            let task = try await h.task(taskId)
            #expect(task.decision?.opinion == "all in order")
            #expect(try await h.queue(of: "r1").tasks.isEmpty)
            let stats = try await h.client.call(ReviewStats.self, ReviewStats.Params())
            #expect(stats.tasksByState["decided"] == 1)
            #expect(stats.humanDecisionSecondsP50 != nil)
            #expect(stats.autoApprovalRate == 0)
        }
    }

    @Test func twoConcurrentDecisionsOnOneTaskHaveExactlyOneWinner() async throws {
        try await ReviewHarness.run { h in
            try await h.addReviewer("r1")
            try await h.addReviewer("boss", types: ["passport"], isSupervisor: true)
            for _ in 0..<5 {
                let (taskId, caseId) = try await Self.assignedTask(h)
                async let approve = errorKind { _ = try await h.decide(.init(taskId: taskId, decision: .approve, opinion: "fine"), as: "r1") }
                async let reject = errorKind {
                    _ = try await h.decide(.init(taskId: taskId, decision: .reject, reasons: ["incomplete"]), as: "boss", roles: ["supervisor"])
                }
                let outcomes = await [approve, reject]
                #expect(outcomes.filter { $0 == nil }.count == 1, "\(outcomes)")
                #expect(outcomes.filter { $0 == .conflict }.count == 1, "\(outcomes)")
                let id = UUID(uuidString: taskId)!
                #expect(try await h.count("SELECT count(*)::int8 AS n FROM review_decisions WHERE task_id = \(id)") == 1)
                #expect(try await h.count("""
                    SELECT count(*)::int8 AS n FROM messaging_outbox
                    WHERE aggregate_key = \(caseId) AND params->>'event' IN ('review_approved', 'review_rejected')
                    """) == 1)
            }
        }
    }

    @Test func badDecisionsGetClearErrorsAndChangeNothing() async throws {
        try await ReviewHarness.run { h in
            try await h.addReviewer("r1")
            try await h.addReviewer("r2")
            let (taskId, _) = try await Self.assignedTask(h)
            let assignee = try await h.task(taskId).task.assignedReviewer!
            let other = assignee == "r1" ? "r2" : "r1"
            let snapshot: () async throws -> [Int] = {
                [
                    try await h.count("SELECT count(*)::int8 AS n FROM review_decisions"),
                    try await h.count("SELECT count(*)::int8 AS n FROM review_audit"),
                    try await h.count("SELECT count(*)::int8 AS n FROM messaging_outbox"),
                    try await h.count("SELECT count(*)::int8 AS n FROM review_tasks WHERE state = 'assigned'"),
                ]
            }
            let before = try await snapshot()

            #expect(await errorKind { _ = try await h.decide(.init(taskId: taskId, decision: .reject), as: assignee) } == .invalidParams)
            #expect(await errorKind { _ = try await h.decide(.init(taskId: taskId, decision: .reject, reasons: ["  "]), as: assignee) } == .invalidParams)
            #expect(await errorKind { _ = try await h.decide(.init(taskId: taskId, decision: .return), as: assignee) } == .invalidParams)
            #expect(await errorKind { _ = try await h.decide(.init(taskId: taskId, decision: .approve), as: assignee) } == .invalidParams)
            #expect(await errorKind { _ = try await h.decide(.init(taskId: "not-a-task", decision: .approve, opinion: "x"), as: assignee) } == .invalidParams)
            #expect(await errorKind { _ = try await h.decide(.init(taskId: UUID().uuidString, decision: .approve, opinion: "x"), as: assignee) } == .notFound)
            #expect(await errorKind { _ = try await h.decide(.init(taskId: taskId, decision: .approve, opinion: "x"), as: other) } == .forbidden)
            let anonymous = await errorKind {
                _ = try await h.client.call(ReviewDecide.self, .init(taskId: taskId, decision: .approve, opinion: "x"))
            }
            #expect(anonymous == .unauthenticated)
            #expect(try await snapshot() == before)

            _ = try await h.decide(.init(taskId: taskId, decision: .reject, reasons: ["forged stamp"]), as: assignee)
            let again = await errorKind { _ = try await h.decide(.init(taskId: taskId, decision: .approve, opinion: "x"), as: assignee) }
            #expect(again == .conflict)
            #expect(try await h.count("SELECT count(*)::int8 AS n FROM review_decisions") == 1)
        }
    }

    @Test func aSupervisorOfTheReviewerMayDecideTheirTask() async throws {
        try await ReviewHarness.run { h in
            try await h.addReviewer("boss", types: ["passport"], team: "t9", isSupervisor: true)
            try await h.addReviewer("r1", team: "t1", supervisor: "boss")
            let (taskId, _) = try await Self.assignedTask(h)
            let team = try await h.queue(of: "boss", scope: .team)
            #expect(team.tasks.map(\.taskId) == [taskId])
            let result = try await h.decide(.init(taskId: taskId, decision: .return, items: ["the lease contract"]), as: "boss")
            #expect(result.decision.items == ["the lease contract"])
            #expect(try await h.count("SELECT count(*)::int8 AS n FROM review_decisions WHERE decided_role = 'supervisor'") == 1)
        }
    }

    @Test func aWithdrawnCaseLeavesTheQueueAndCannotBeDecided() async throws {
        try await ReviewHarness.run { h in
            try await h.addReviewer("r1")
            let (taskId, caseId) = try await Self.assignedTask(h)
            #expect(try await h.queue(of: "r1").tasks.map(\.taskId) == [taskId])
            let cancelled = try await h.client.call(ReviewCancel.self, .init(caseId: caseId, reason: "no longer needed"), meta: RPCMeta(messageId: "cancel-1"))
            #expect(cancelled.outcome == .withdrawn && cancelled.taskId == taskId && cancelled.state == .withdrawn)
            #expect(try await h.queue(of: "r1").tasks.isEmpty)
            #expect(await errorKind { _ = try await h.decide(.init(taskId: taskId, decision: .approve, opinion: "fine"), as: "r1") } == .invalidState)
            // Redelivered, or sent again under a new id: the same answer, one audit row.
            let again = try await h.client.call(ReviewCancel.self, .init(caseId: caseId), meta: RPCMeta(messageId: "cancel-1"))
            let other = try await h.client.call(ReviewCancel.self, .init(caseId: caseId), meta: RPCMeta(messageId: "cancel-2"))
            #expect(again.outcome == .withdrawn && other.outcome == .withdrawn)
            #expect(try await h.count("SELECT count(*)::int8 AS n FROM review_audit WHERE action = 'withdrawn'") == 1)
            #expect(h.peers.dispatches(of: caseId).isEmpty)
            let stats = try await h.client.call(ReviewStats.self, ReviewStats.Params())
            #expect(stats.tasksByState["withdrawn"] == 1)
        }
    }

    @Test func aWithdrawalAfterTheDecisionLeavesItAndACaseNeverSubmittedIsNotHeld() async throws {
        try await ReviewHarness.run { h in
            try await h.addReviewer("r1")
            let (taskId, caseId) = try await Self.assignedTask(h)
            _ = try await h.decide(.init(taskId: taskId, decision: .approve, opinion: "all in order"), as: "r1")
            let late = try await h.client.call(ReviewCancel.self, .init(caseId: caseId))
            #expect(late.outcome == .alreadyDecided && late.state == .decided)
            #expect(try await h.state(of: taskId) == .decided)
            let unknown = try await h.client.call(ReviewCancel.self, .init(caseId: "never-submitted"))
            #expect(unknown.outcome == .notHeld && unknown.taskId == nil)
            #expect(await errorKind { _ = try await h.client.call(ReviewCancel.self, .init(caseId: "")) } == .invalidParams)
        }
    }
}
