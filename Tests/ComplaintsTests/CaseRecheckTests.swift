import ComplaintsService
import Contracts
import LineProtocol
import Postgres
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

@Suite("An upheld complaint about a decision asks routing to re-check the case, once")
struct CaseRecheckTests {
    static let officer = RPCMeta(actor: RPCActor(id: "officer-7", roles: ["complaint_officer"]))
    static let wrongDecision = "My application was wrongly rejected although every document was there."

    /// Files a complaint and brings it to investigation.
    static func investigated(_ h: ComplaintsHarness, _ params: ComplaintsFile.Params) async throws -> ComplaintView {
        let complaint = try await h.call(ComplaintsFile.self, params)
        _ = try await h.call(ComplaintsAcknowledge.self, .init(complaintId: complaint.id), meta: officer)
        _ = try await h.call(ComplaintsInvestigate.self, .init(complaintId: complaint.id, note: "file reviewed"), meta: officer)
        return complaint
    }

    static func resolve(_ complaint: ComplaintView, _ outcome: ComplaintOutcome) -> ComplaintsResolve.Params {
        .init(complaintId: complaint.id, outcome: outcome, resolution: "The refusal overlooked the lease you supplied.", rootCause: "training")
    }

    /// The routing.reopen messages in the outbox.
    static func reopens(_ h: ComplaintsHarness) async throws -> [(params: RoutingReopen.Params, key: String)] {
        try await h.database.query("""
            SELECT params, aggregate_key FROM messaging_outbox WHERE destination = 'routing' AND method = 'routing.reopen' ORDER BY id
            """).map { row in
            (try row.decode(PostgresJSONB.self, column: "params").decode(RoutingReopen.Params.self), try row.decode(String.self, column: "aggregate_key"))
        }
    }

    @Test func anUpheldComplaintAboutADecisionEnqueuesOneReopenThatRoutingReceivesFromTheSystem() async throws {
        let tracking = "SQ20261101000031"
        try await ComplaintsHarness.run(routedCases: [FakeRouting.routed(tracking)]) { h in
            let complaint = try await Self.investigated(h, .sample(content: Self.wrongDecision, caseTrackingNumber: tracking))
            #expect(complaint.category == "wrong_decision")
            let meta = RPCMeta(actor: Self.officer.actor, messageId: "resolve-\(complaint.id)")
            let resolved = try await h.call(ComplaintsResolve.self, Self.resolve(complaint, .upheld), meta: meta)
            #expect(resolved.status == .resolved)
            // The same call again (a redelivery): the same answer, nothing more enqueued.
            let again = try await h.call(ComplaintsResolve.self, Self.resolve(complaint, .upheld), meta: meta)
            #expect(again == resolved)

            let queued = try await Self.reopens(h)
            #expect(queued.count == 1)
            #expect(queued.first?.params.caseId == "case-\(tracking)")
            #expect(queued.first?.params.reason.contains(complaint.number) == true)
            #expect(queued.first?.params.complaintNumber == complaint.number)
            #expect(queued.first?.key == "case/case-\(tracking)")
            #expect(try await h.count("SELECT count(*) FROM complaint_case_rechecks WHERE outcome = 'upheld'") == 1)
            let details = try await h.call(ComplaintsGet.self, .init(complaintId: complaint.id))
            #expect(details.history.map(\.action).suffix(2) == ["case_recheck_requested", "resolve"])

            // A reopening and a second upheld resolution ask for nothing more.
            _ = try await h.call(ComplaintsReopen.self, .init(complaintId: complaint.id, reason: "the case is still closed"))
            _ = try await h.call(ComplaintsInvestigate.self, .init(complaintId: complaint.id, note: "asked routing"), meta: Self.officer)
            _ = try await h.call(ComplaintsResolve.self, Self.resolve(complaint, .upheld), meta: Self.officer)
            #expect(try await Self.reopens(h).count == 1)

            // The relay delivers it to routing as the complaints service with no actor, which
            // routing.reopen accepts as the system.
            var received: [FakeRouting.Reopen] = []
            for _ in 0..<100 where received.isEmpty {
                received = h.routing.reopens
                if received.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(received.count == 1)
            #expect(received.first?.caseId == "case-\(tracking)")
            #expect(received.first?.caller == "complaints")
            #expect(received.first?.actorId == nil)
            #expect(received.first?.messageId != nil)
            #expect(received.first?.complaintNumber == complaint.number)
        }
    }

    @Test(arguments: [(ComplaintOutcome.upheld, 1), (.partlyUpheld, 1), (.notUpheld, 0)])
    func onlyAnUpheldOrPartlyUpheldFindingAsksForARecheck(outcome: ComplaintOutcome, expected: Int) async throws {
        let tracking = "SQ20261101000032"
        try await ComplaintsHarness.run(routedCases: [FakeRouting.routed(tracking)]) { h in
            let complaint = try await Self.investigated(h, .sample(content: Self.wrongDecision, caseTrackingNumber: tracking))
            _ = try await h.call(ComplaintsResolve.self, Self.resolve(complaint, outcome), meta: Self.officer)
            #expect(try await Self.reopens(h).count == expected)
            #expect(try await h.count("SELECT count(*) FROM complaint_case_rechecks") == expected)
        }
    }

    @Test func withoutALinkedCaseOrAboutSomethingElseNothingIsEnqueued() async throws {
        let tracking = "SQ20261101000033"
        try await ComplaintsHarness.run(routedCases: [FakeRouting.routed(tracking)]) { h in
            let noCase = try await Self.investigated(h, .sample(content: Self.wrongDecision, phone: "13900000051", email: nil, department: "civil_affairs"))
            #expect(noCase.category == "wrong_decision")
            _ = try await h.call(ComplaintsResolve.self, Self.resolve(noCase, .upheld), meta: Self.officer)
            let rude = try await Self.investigated(h, .sample(phone: "13900000052", email: nil, caseTrackingNumber: tracking))
            #expect(rude.category == "attitude")
            _ = try await h.call(ComplaintsResolve.self, Self.resolve(rude, .upheld), meta: Self.officer)
            #expect(try await Self.reopens(h).isEmpty)
            #expect(try await h.count("SELECT count(*) FROM complaint_case_rechecks") == 0)
        }
    }

    @Test func aCaseRoutedAfterFilingIsLookedUpWhenTheComplaintIsUpheld() async throws {
        let tracking = "SQ20261101000034"
        try await ComplaintsHarness.run { h in
            let complaint = try await Self.investigated(h, .sample(content: Self.wrongDecision, caseTrackingNumber: tracking, department: "civil_affairs"))
            h.routing.add(FakeRouting.routed(tracking))
            _ = try await h.call(ComplaintsResolve.self, Self.resolve(complaint, .partlyUpheld), meta: Self.officer)
            #expect(try await Self.reopens(h).map(\.params.caseId) == ["case-\(tracking)"])
        }
    }

    @Test func aCaseRoutingNeverHeldIsNotedAndNothingIsEnqueued() async throws {
        let tracking = "SQ20261101000035"
        try await ComplaintsHarness.run { h in
            let complaint = try await Self.investigated(h, .sample(content: Self.wrongDecision, caseTrackingNumber: tracking, department: "civil_affairs"))
            let resolved = try await h.call(ComplaintsResolve.self, Self.resolve(complaint, .upheld), meta: Self.officer)
            #expect(resolved.status == .resolved)
            #expect(try await Self.reopens(h).isEmpty)
            let details = try await h.call(ComplaintsGet.self, .init(complaintId: complaint.id))
            #expect(details.notes.contains { $0.note.contains("no re-check of case \(tracking)") })
        }
    }

    @Test func whenRoutingCannotBeAskedForTheCaseTheResolutionIsRefusedAndChangesNothing() async throws {
        let tracking = "SQ20261101000036"
        try await ComplaintsHarness.run(configure: { $0.routingTimeout = .milliseconds(300) }, routing: .down) { h in
            let complaint = try await Self.investigated(h, .sample(content: Self.wrongDecision, caseTrackingNumber: tracking, department: "civil_affairs"))
            let before = try await h.snapshot()
            let error = await h.failure(ComplaintsResolve.self, Self.resolve(complaint, .upheld), meta: Self.officer)
            #expect(error?.kind == .unavailable)
            #expect(error?.isRetryable == true)
            #expect(error?.message.contains("resolve again") == true)
            #expect(try await h.snapshot() == before)
            // A finding that asks for no re-check does not need routing.
            let resolved = try await h.call(ComplaintsResolve.self, Self.resolve(complaint, .notUpheld), meta: Self.officer)
            #expect(resolved.status == .resolved)
        }
    }
}
