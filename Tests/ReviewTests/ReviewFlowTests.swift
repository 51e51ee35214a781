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

/// Submission, checks against real peers, automatic approval and the human path.
@Suite("Review flow", .timeLimit(.minutes(3)))
struct ReviewFlowTests {
    @Test func aCleanCaseTheCatalogAllowsIsApprovedAutomaticallyAndDispatched() async throws {
        try await ReviewHarness.run { h in
            let params = submission(autoApproval: true)
            let submitted = try await h.submit(params)
            #expect(submitted.created)
            #expect(try await h.checked(submitted.taskId) == .approvedAutomatically)
            let task = try await h.task(submitted.taskId)
            #expect(task.decision?.decidedBy == "system")
            #expect(task.decision?.automatic == true)
            #expect(task.checks.allSatisfy { $0.outcome == .passed && $0.checkedAt != nil })
            #expect(Set(task.checks.map(\.ruleId)).isSuperset(of: [
                "identity.document", "fields.required", "materials.count", "duplicate.open_case",
                "risk.amount.high", "risk.watchlist", "risk.rejections.repeated",
            ]))
            #expect(!task.applicantIdMasked.contains(validID))
            // The clear ID number is stored nowhere.
            #expect(try await h.count("SELECT count(*)::int8 AS n FROM review_tasks WHERE submission::text LIKE \("%" + validID + "%")") == 0)
            let delivered = try await waitUntil {
                !h.peers.dispatches(of: params.caseId).isEmpty && h.peers.progress(of: params.caseId).contains { $0.event == .reviewApproved }
            }
            #expect(delivered)
            #expect(h.peers.dispatches(of: params.caseId).first?.approvedBy.id == "system")
        }
    }

    @Test(arguments: [
        ("identity.document", submission(idNumber: "110105194912310021")),
        ("materials.count", submission(materials: [MaterialItem(code: "id_card")])),
        ("fields.required", submission(description: "")),
        ("risk.amount.high", submission(amount: 25_000)),
        ("risk.watchlist", submission(customerKey: "ck-watched")),
    ])
    func aFlaggedCheckSendsTheCaseToAPersonWithTheRuleRecorded(rule: String, params: ReviewSubmit.Params) async throws {
        try await ReviewHarness.run { h in
            try await h.addReviewer("r1")
            var params = params
            params.autoApprovalAllowed = true
            params.caseId = UUID().uuidString
            let submitted = try await h.submit(params)
            #expect(try await h.checked(submitted.taskId) == .assigned)
            let task = try await h.task(submitted.taskId)
            #expect(task.checks.first { $0.ruleId == rule }?.outcome == .flagged)
            #expect(task.checks.filter { $0.outcome != .passed }.map(\.ruleId) == [rule])
            #expect(task.task.assignedReviewer == "r1")
            let told = try await waitUntil { h.peers.progress(of: params.caseId).contains { $0.event == .reviewAssigned && $0.actor == "r1" } }
            #expect(told)
            let stats = try await h.client.call(ReviewStats.self, ReviewStats.Params())
            #expect(stats.flagsByRule.first { $0.ruleId == rule }?.flagged == 1)
            #expect(stats.tasksByState["assigned"] == 1)
        }
    }

    @Test func maskedNumbersAreFetchedFromIntakeAtCheckTimeAndNeverStored() async throws {
        try await ReviewHarness.run { h in
            try await h.addReviewer("r1")
            var good = submission(autoApproval: true, idNumber: "110***********002X")
            h.peers.log.identities.withLock { $0[good.caseId] = .init(name: "Zhang San", idType: "resident_id", idNumber: validID, customerKey: good.applicant.customerKey) }
            good.round = 1
            let approved = try await h.submit(good)
            #expect(try await h.checked(approved.taskId) == .approvedAutomatically)
            #expect(try await h.task(approved.taskId).checks.first { $0.ruleId == "identity.document" }?.outcome == .passed)
            let again = try await h.submit(good)
            #expect(again.taskId == approved.taskId)
            #expect(!again.created)

            // Intake cannot say (unknown case): identity could not be verified, a person decides.
            let unknown = submission(autoApproval: true, idNumber: "110***********002X")
            let waiting = try await h.submit(unknown)
            #expect(try await h.checked(waiting.taskId) == .assigned)
            #expect(try await h.task(waiting.taskId).checks.first { $0.ruleId == "identity.document" }?.outcome == .couldNotVerify)
            let clear = try await h.count("SELECT count(*)::int8 AS n FROM review_tasks WHERE submission::text LIKE \("%" + validID + "%")")
            #expect(clear == 0)
        }
    }

    @Test func anotherOpenCaseOfTheSameCustomerAndTypeIsFlaggedAsDuplicate() async throws {
        try await ReviewHarness.run { h in
            try await h.addReviewer("r1")
            h.peers.log.openCases.withLock {
                $0["ck-dup"] = [.init(caseId: "other-case", trackingNumber: "SQ-OTHER", status: .inReview)]
            }
            let submitted = try await h.submit(submission(autoApproval: true, customerKey: "ck-dup"))
            #expect(try await h.checked(submitted.taskId) == .assigned)
            let check = try await h.task(submitted.taskId).checks.first { $0.ruleId == "duplicate.open_case" }
            #expect(check?.outcome == .flagged)
            #expect(check?.detail.contains("SQ-OTHER") == true)
        }
    }

    @Test func whenIntakeIsUnreachableTheDuplicateCheckCouldNotVerifyAndAPersonDecides() async throws {
        try await ReviewHarness.run(intakeReachable: false) { h in
            try await h.addReviewer("r1")
            let submitted = try await h.submit(submission(autoApproval: true))
            #expect(try await h.checked(submitted.taskId) == .assigned)
            let check = try await h.task(submitted.taskId).checks.first { $0.ruleId == "duplicate.open_case" }
            #expect(check?.outcome == .couldNotVerify)
        }
    }

    @Test func repeatedRejectionsOfTheSameCustomerAreFlagged() async throws {
        try await ReviewHarness.run { h in
            try await h.addReviewer("r1")
            for _ in 0..<2 {
                let earlier = try await h.submit(submission(customerKey: "ck-repeat"))
                #expect(try await h.checked(earlier.taskId) == .assigned)
                _ = try await h.decide(.init(taskId: earlier.taskId, decision: .reject, reasons: ["forged form"]), as: "r1")
            }
            let third = try await h.submit(submission(autoApproval: true, customerKey: "ck-repeat"))
            #expect(try await h.checked(third.taskId) == .assigned)
            let check = try await h.task(third.taskId).checks.first { $0.ruleId == "risk.rejections.repeated" }
            #expect(check?.outcome == .flagged)
            let stats = try await h.client.call(ReviewStats.self, ReviewStats.Params())
            #expect(stats.reviewers.first { $0.reviewerId == "r1" }?.rejected == 2)
        }
    }

    @Test func aRedeliveredSubmitMakesNoSecondTask() async throws {
        try await ReviewHarness.run(settings: ReviewHarness.settings(concurrency: 0)) { h in
            let params = submission()
            let first = try await h.submit(params, messageId: "m-1")
            let again = try await h.submit(params, messageId: "m-1")
            let other = try await h.submit(params, messageId: "m-2")
            let direct = try await h.submit(params, messageId: nil)
            #expect(first.created)
            #expect(again.taskId == first.taskId)
            #expect(again.created, "a redelivery gets the first answer")
            #expect(other.taskId == first.taskId)
            #expect(!other.created)
            #expect(direct.taskId == first.taskId)
            #expect(try await h.count("SELECT count(*)::int8 AS n FROM review_tasks") == 1)
            #expect(try await h.count("SELECT count(*)::int8 AS n FROM messaging_jobs WHERE queue = 'review.check'") == 1)
        }
    }

    @Test func aSubmitWithoutACaseIdIsRefusedAndChangesNothing() async throws {
        try await ReviewHarness.run(settings: ReviewHarness.settings(concurrency: 0)) { h in
            let kind = await errorKind { _ = try await h.submit(submission(caseId: " ")) }
            #expect(kind == .invalidParams)
            let tasks = try await h.count("SELECT count(*)::int8 AS n FROM review_tasks")
            #expect(tasks == 0)
        }
    }

    @Test func aReviewerWithoutANameOrServiceTypesIsRefusedWithEachProblemInEnglishAndChinese() async throws {
        try await ReviewHarness.run(settings: ReviewHarness.settings(concurrency: 0)) { h in
            var refusal: RPCError?
            do {
                _ = try await h.client.call(
                    ReviewUpsertReviewer.self, ReviewReviewer(id: "r-nameless", name: " ", serviceTypes: []),
                    meta: RPCMeta(actor: RPCActor(id: "admin", roles: ["administrator"]))
                )
            } catch let error as RPCError {
                refusal = error
            }
            let error = try #require(refusal)
            #expect(error.kind == .invalidParams)
            #expect(error.problems == ["params.name: 1 to 200 characters", "params.serviceTypes: at least one service type (or `*`)"])
            #expect(error.problems(in: RPCError.chinese) == ["params.name：1 至 200 个字符", "params.serviceTypes：至少一个事项（或 `*`）"])
            #expect(error.message(in: RPCError.chinese) == "params.name：1 至 200 个字符；params.serviceTypes：至少一个事项（或 `*`）")
            #expect(try await h.count("SELECT count(*)::int8 AS n FROM review_reviewers WHERE id = 'r-nameless'") == 0)
        }
    }

    @Test func aSubmissionsProblemsAreListedInEnglishAndChinese() throws {
        var params = submission(caseId: " ")
        params.round = 0
        #expect {
            try ReviewHandlers.validate(params)
        } throws: { error in
            guard let error = error as? RPCError else { return false }
            return error.problems == ["params.caseId: required", "params.round: 1 or more"]
                && error.problems(in: RPCError.chinese) == ["params.caseId：必填", "params.round：须不小于 1"]
                && error.message(in: RPCError.chinese) == "params.caseId：必填；params.round：须不小于 1"
        }
    }

    @Test func aReturnedCaseComesBackInANewRound() async throws {
        try await ReviewHarness.run { h in
            try await h.addReviewer("r1")
            let params = submission()
            let first = try await h.submit(params)
            #expect(try await h.checked(first.taskId) == .assigned)
            _ = try await h.decide(.init(taskId: first.taskId, decision: .return, items: ["a signed form"]), as: "r1")
            let second = try await h.submit(params)
            #expect(second.created)
            #expect(second.taskId != first.taskId)
            #expect(try await h.checked(second.taskId) == .assigned)
            let told = try await waitUntil { h.peers.progress(of: params.caseId).contains { $0.event == .reviewReturned } }
            #expect(told)
        }
    }
}
