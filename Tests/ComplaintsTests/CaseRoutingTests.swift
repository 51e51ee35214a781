import ComplaintsService
import Contracts
import LineProtocol
import Postgres
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

@Suite("Complaints ask routing about the case they name; filing never fails because of routing")
struct CaseRoutingTests {
    static let officer = RPCMeta(actor: RPCActor(id: "officer-7", roles: ["complaint_officer"]))

    @Test func aComplaintAboutAnOverdueRoutedCaseTakesItsDepartmentAndHandlerAndRisesALevel() async throws {
        try await ComplaintsHarness.run(routedCases: [FakeRouting.routed("SQ1", department: "civil_affairs", handler: "h-9", overdue: true)]) { h in
            let complaint = try await h.call(ComplaintsFile.self, .sample(caseTrackingNumber: "SQ1"))
            #expect(complaint.department == "civil_affairs" && complaint.departmentSource == "routing")
            #expect(complaint.departmentMissingReason == nil)
            #expect(complaint.caseOverdue && complaint.severity == .major && complaint.escalated)
            #expect(complaint.classificationReasons.contains("rises a level: the case complained about is overdue"))
            #expect(complaint.classificationReasons.contains { $0.hasPrefix("routing: case SQ1 is with civil_affairs") })
            #expect(h.routing.calls == 1)

            // The case's handler, learnt from routing, may not investigate.
            _ = try await h.call(ComplaintsAcknowledge.self, .init(complaintId: complaint.id), meta: Self.officer)
            let refused = await h.failure(ComplaintsInvestigate.self, .init(complaintId: complaint.id, investigator: StaffRef(id: "h-9"), note: "n"), meta: Self.officer)
            #expect(refused?.kind == .forbidden)
        }
    }

    @Test func routingsAnswerWinsOverWhatTheFilerSaid() async throws {
        try await ComplaintsHarness.run(routedCases: [FakeRouting.routed("SQ2", department: "taxation", overdue: false)]) { h in
            let complaint = try await h.call(ComplaintsFile.self, .sample(caseTrackingNumber: "SQ2", caseOverdue: true, department: "civil_affairs"))
            #expect(complaint.department == "taxation" && complaint.departmentSource == "routing")
            #expect(!complaint.caseOverdue && complaint.severity == .general && !complaint.escalated)
            // A general complaint with a department gets its resolution due date at once.
            #expect(complaint.resolutionDueDate != nil)
        }
    }

    @Test func whenRoutingIsDownTheComplaintIsFiledAnywayWithTheReasonItHasNoDepartment() async throws {
        try await ComplaintsHarness.run(configure: { $0.routingTimeout = .milliseconds(500) }, routing: .down) { h in
            let started = ContinuousClock.now
            let complaint = try await h.call(ComplaintsFile.self, .sample(caseTrackingNumber: "SQ3", caseOverdue: true))
            #expect(ContinuousClock.now - started < .seconds(5))
            #expect(complaint.status == .filed && complaint.department == nil && complaint.departmentSource == nil)
            #expect(complaint.departmentMissingReason?.hasPrefix("routing could not be asked about case SQ3") == true)
            // Without routing's answer the filer's word on the overdue case counts.
            #expect(complaint.caseOverdue && complaint.severity == .major)
            #expect(try await h.notifications().contains { $0.template == NotificationTemplate.complaintAcknowledged.rawValue })

            // The officer sets the department; the reason it was missing goes.
            let classified = try await h.call(ComplaintsClassify.self, .init(complaintId: complaint.id, department: "civil_affairs"), meta: Self.officer)
            #expect(classified.department == "civil_affairs" && classified.departmentSource == "officer")
            #expect(classified.departmentMissingReason == nil)
        }
    }

    @Test func anUnknownCaseIsFiledWithTheFilersDepartmentOrTheReasonThereIsNone() async throws {
        try await ComplaintsHarness.run { h in
            let without = try await h.call(ComplaintsFile.self, .sample(phone: "13900000021", email: nil, caseTrackingNumber: "SQ-UNKNOWN"))
            #expect(without.department == nil)
            #expect(without.departmentMissingReason?.hasPrefix("routing holds no case SQ-UNKNOWN") == true)
            #expect(without.severity == .general)

            let with = try await h.call(ComplaintsFile.self, .sample(phone: "13900000022", email: nil, caseTrackingNumber: "SQ-UNKNOWN", department: "taxation"))
            #expect(with.department == "taxation" && with.departmentSource == "filing" && with.departmentMissingReason == nil)
            #expect(h.routing.calls == 2)
        }
    }

    @Test func routingIsAskedOnlyWhenACaseIsNamedAndNotForBadInput() async throws {
        try await ComplaintsHarness.run { h in
            let plain = try await h.call(ComplaintsFile.self, .sample())
            #expect(plain.department == nil && plain.departmentMissingReason != nil)
            let before = try await h.snapshot()
            let bad = await h.failure(ComplaintsFile.self, .sample(content: "bad", caseTrackingNumber: "SQ1"))
            #expect(bad?.kind == .invalidParams)
            #expect(h.routing.calls == 0)
            #expect(try await h.snapshot() == before)
        }
    }

    @Test func aLowRatingFollowUpTakesTheDepartmentFromRouting() async throws {
        try await ComplaintsHarness.run(routedCases: [FakeRouting.routed("SQ5", department: "housing_fund", handler: "h-5")]) { h in
            let rated = try await h.call(ComplaintsRate.self, .init(trackingNumber: "SQ5", score: 1, comment: "slow"))
            let followUp = try #require(rated.followUpComplaint)
            #expect(followUp.department == "housing_fund" && followUp.departmentSource == "routing")
        }
    }
}
