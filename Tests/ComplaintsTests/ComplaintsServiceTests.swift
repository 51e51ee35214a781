import ComplaintsService
import Contracts
import LineProtocol
import Postgres
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

@Suite("Complaints service over the line protocol")
struct ComplaintsServiceTests {
    static let officer = RPCMeta(actor: RPCActor(id: "officer-7", roles: ["complaint_officer"]))

    // MARK: Filing

    @Test func filingGivesANumberADueTimeAndAnAcknowledgement() async throws {
        try await ComplaintsHarness.run { h in
            let complaint = try await h.call(ComplaintsFile.self, .sample())
            #expect(complaint.number.wholeMatch(of: /TS\d{8}\d{4}/) != nil)
            #expect(complaint.status == .filed)
            #expect(complaint.category == "attitude")
            #expect(complaint.severity == .general)
            #expect(abs(complaint.firstResponseDueAt.timeIntervalSince(complaint.filedAt) - 24 * 3600) < 1)
            #expect(complaint.phoneMasked != nil && !complaint.phoneMasked!.contains("12345678"))
            #expect(complaint.emailMasked == "l***@example.com")

            let sent = try await h.notifications()
            #expect(sent.count == 1)
            let ack = try #require(sent.first)
            #expect(ack.template == NotificationTemplate.complaintAcknowledged.rawValue)
            #expect(ack.key == "complaints/\(complaint.id)/acknowledged")
            #expect(Set(ack.variables.keys) == Set(NotificationTemplate.complaintAcknowledged.requiredVariables))
            #expect(ack.variables["complaintNumber"] == complaint.number)
            #expect(ack.variables["complainantName"] == "Li Na")
            #expect(ack.recipients.first?.phone == "+8613812345678")

            let second = try await h.call(ComplaintsFile.self, .sample(phone: "13900000001", email: nil))
            #expect(second.number.suffix(4) == "0002")
        }
    }

    @Test func aSuggestionBoxComplaintMayBeAnonymousAndGetsNoAcknowledgement() async throws {
        try await ComplaintsHarness.run { h in
            let complaint = try await h.call(ComplaintsFile.self, .sample(phone: nil, email: nil, channel: .suggestionBox))
            #expect(complaint.channel == .suggestionBox)
            #expect(try await h.notifications().isEmpty)
        }
    }

    @Test func badFilingsAreRefusedAndChangeNothing() async throws {
        try await ComplaintsHarness.run { h in
            let before = try await h.snapshot()
            let cases: [ComplaintsFile.Params] = [
                .sample(phone: "12345", email: nil),
                .sample(phone: nil, email: "not-an-email"),
                .sample(phone: nil, email: nil, channel: .phone),
                .sample(content: "bad"),
                .sample(content: String(repeating: "x", count: 4001)),
                ComplaintsFile.Params(complainant: ComplainantInput(name: "  ", phone: "13812345678"), channel: .online, content: "A valid complaint text"),
            ]
            for params in cases {
                let error = await h.failure(ComplaintsFile.self, params)
                #expect(error?.kind == .invalidParams, "\(String(describing: error))")
            }
            #expect(try await h.snapshot() == before)
        }
    }

    @Test func aRedeliveredFilingOrARepeatedClientKeyMakesOneComplaint() async throws {
        try await ComplaintsHarness.run { h in
            let meta = RPCMeta(messageId: "intake-outbox-42")
            let first = try await h.call(ComplaintsFile.self, .sample(), meta: meta)
            let again = try await h.call(ComplaintsFile.self, .sample(), meta: meta)
            #expect(first.id == again.id)

            let keyed = try await h.call(ComplaintsFile.self, .sample(phone: "13900000002", email: nil, idempotencyKey: "web-form-7"))
            let keyedAgain = try await h.call(ComplaintsFile.self, .sample(phone: "13900000002", email: nil, idempotencyKey: "web-form-7"))
            #expect(keyed.id == keyedAgain.id)

            #expect(try await h.count("SELECT count(*) FROM complaints") == 2)
            #expect(try await h.notifications().count == 2)
        }
    }

    // MARK: Classification and escalation

    @Test func aMajorComplaintIsEscalatedAtOnceAndOnlyOnce() async throws {
        try await ComplaintsHarness.run(configure: { $0.supervisor = .init(id: "sup-1", name: "Wang Qiang", email: "wang@hall.example") }) { h in
            let complaint = try await h.call(ComplaintsFile.self, .sample(content: "My personal data was shown to the next customer"))
            #expect(complaint.category == "data_protection")
            #expect(complaint.severity == .major)
            #expect(complaint.escalated)
            #expect(complaint.assigneeId == "sup-1")
            #expect(complaint.resolutionDueDate != nil)

            // More officer changes do not escalate again.
            _ = try await h.call(ComplaintsClassify.self, .init(complaintId: complaint.id, department: "civil_affairs"), meta: Self.officer)
            _ = try await h.call(ComplaintsClassify.self, .init(complaintId: complaint.id, category: "data_protection", severity: .major, reason: "confirmed"), meta: Self.officer)

            #expect(try await h.count("SELECT count(*) FROM complaint_escalations") == 1)
            let escalations = try await h.notifications().filter { $0.template == NotificationTemplate.staffEscalation.rawValue }
            #expect(escalations.count == 1)
            let escalation = try #require(escalations.first)
            #expect(Set(escalation.variables.keys) == Set(NotificationTemplate.staffEscalation.requiredVariables))
            #expect(escalation.variables["staffName"] == "Wang Qiang")
            #expect(escalation.variables["reference"] == complaint.number)
            #expect(escalation.recipients.first?.email == "wang@hall.example")
            #expect(escalation.key == "complaints/\(complaint.id)/escalation/1")
        }
    }

    @Test func overdueVulnerableAndRepeatedComplaintsRiseALevel() async throws {
        try await ComplaintsHarness.run { h in
            let overdue = try await h.call(ComplaintsFile.self, .sample(phone: "13900000011", email: nil, caseTrackingNumber: "SQ20261101000017", caseOverdue: true))
            #expect(overdue.severity == .major)
            #expect(overdue.classificationReasons.contains("rises a level: the case complained about is overdue"))

            let vulnerable = try await h.call(ComplaintsFile.self, .sample(phone: "13900000012", email: nil, vulnerable: true))
            #expect(vulnerable.severity == .major)

            let first = try await h.call(ComplaintsFile.self, .sample(phone: "13900000013", email: nil))
            #expect(first.severity == .general)
            // Same person, written differently: the hash is of the normalised number.
            let repeated = try await h.call(ComplaintsFile.self, .sample(phone: "+86 139-0000-0013", email: nil))
            #expect(repeated.severity == .major)
            #expect(repeated.classificationReasons.contains("rises a level: a repeated complaint within 30 days"))
            #expect(repeated.escalated)
        }
    }

    @Test func anOfficerOverrideNeedsAReasonAndIsRecorded() async throws {
        try await ComplaintsHarness.run { h in
            let complaint = try await h.call(ComplaintsFile.self, .sample())
            let before = try await h.snapshot()
            let noReason = await h.failure(ComplaintsClassify.self, .init(complaintId: complaint.id, severity: .major), meta: Self.officer)
            #expect(noReason?.kind == .invalidParams)
            #expect(noReason?.message.contains("reason") == true)
            let badCategory = await h.failure(ComplaintsClassify.self, .init(complaintId: complaint.id, category: "weather", reason: "x"), meta: Self.officer)
            #expect(badCategory?.kind == .invalidParams)
            #expect(try await h.snapshot() == before)

            let changed = try await h.call(
                ComplaintsClassify.self,
                .init(complaintId: complaint.id, category: "process", severity: .major, reason: "the same desk failed three customers"),
                meta: Self.officer
            )
            #expect(changed.category == "process")
            #expect(changed.severity == .major)
            #expect(changed.escalated)

            let details = try await h.call(ComplaintsGet.self, .init(complaintId: complaint.id))
            #expect(details.classifications.map(\.source) == ["rules", "officer"])
            #expect(details.classifications.last?.reason == "the same desk failed three customers")
            #expect(details.classifications.last?.by == "officer-7")
            #expect(details.history.map(\.action).contains("classify"))
            #expect(details.history.map(\.action).contains("escalated"))
        }
    }

    // MARK: Handling

    @Test func aComplaintGoesThroughItsWholeLifecycle() async throws {
        try await ComplaintsHarness.run { h in
            let filed = try await h.call(ComplaintsFile.self, .sample(caseTrackingNumber: "SQ20261101000020", department: "civil_affairs"))
            #expect(filed.resolutionDueDate != nil)
            let acknowledged = try await h.call(ComplaintsAcknowledge.self, .init(complaintId: filed.id, note: "called back"), meta: Self.officer)
            #expect(acknowledged.status == .acknowledged)
            #expect(acknowledged.firstResponseAt != nil)
            let investigating = try await h.call(
                ComplaintsInvestigate.self,
                .init(complaintId: filed.id, note: "CCTV reviewed", evidenceRefs: ["cctv/2026-11-20/window3.mp4"]),
                meta: Self.officer
            )
            #expect(investigating.status == .investigating)
            let resolved = try await h.call(
                ComplaintsResolve.self,
                .init(complaintId: filed.id, outcome: .upheld, resolution: "We apologise; the officer has been coached.", remedy: "apology", rootCause: "staff_conduct"),
                meta: Self.officer
            )
            #expect(resolved.status == .resolved)
            #expect(resolved.rootCause == "staff_conduct")
            let reopened = try await h.call(ComplaintsReopen.self, .init(complaintId: filed.id, reason: "no one called me"))
            #expect(reopened.status == .reopened)
            #expect(reopened.reopenCount == 1)
            _ = try await h.call(ComplaintsInvestigate.self, .init(complaintId: filed.id, note: "called the complainant"), meta: Self.officer)
            _ = try await h.call(
                ComplaintsResolve.self,
                .init(complaintId: filed.id, outcome: .partlyUpheld, resolution: "A supervisor called you on 24 Nov.", rootCause: "communication"),
                meta: Self.officer
            )
            let accepted = try await h.call(ComplaintsAccept.self, .init(complaintId: filed.id))
            #expect(accepted.status == .accepted)
            let closed = try await h.call(ComplaintsClose.self, .init(complaintId: filed.id), meta: Self.officer)
            #expect(closed.status == .closed)
            #expect(closed.closedAt != nil)

            let resolvedNotes = try await h.notifications().filter { $0.template == NotificationTemplate.complaintResolved.rawValue }
            #expect(resolvedNotes.map(\.key) == ["complaints/\(filed.id)/resolved/0", "complaints/\(filed.id)/resolved/1"])
            for note in resolvedNotes {
                #expect(Set(note.variables.keys) == Set(NotificationTemplate.complaintResolved.requiredVariables))
            }
            #expect(resolvedNotes.last?.variables["resolution"] == "A supervisor called you on 24 Nov.")

            let details = try await h.call(ComplaintsGet.self, .init(complaintNumber: filed.number))
            #expect(details.history.map(\.action) == [
                "filed", "assigned", "acknowledge", "investigate", "resolve", "reopen", "investigate", "resolve", "accept", "close",
            ])
            #expect(details.notes.contains { $0.evidenceRefs == ["cctv/2026-11-20/window3.mp4"] && $0.investigatorId == "officer-7" })
            #expect(try await h.count("SELECT count(*) FROM complaint_audit WHERE complaint_id IS NOT NULL") == 10)
        }
    }

    @Test func moveOutOfOrderIsRefusedAndChangesNothing() async throws {
        try await ComplaintsHarness.run { h in
            let complaint = try await h.call(ComplaintsFile.self, .sample(department: "civil_affairs"))
            let before = try await h.snapshot()
            let refused: [RPCError?] = [
                await h.failure(ComplaintsInvestigate.self, .init(complaintId: complaint.id, investigator: StaffRef(id: "o1"), note: "n")),
                await h.failure(ComplaintsResolve.self, .init(complaintId: complaint.id, outcome: .upheld, resolution: "r", rootCause: "training")),
                await h.failure(ComplaintsAccept.self, .init(complaintId: complaint.id)),
                await h.failure(ComplaintsReopen.self, .init(complaintId: complaint.id, reason: "again")),
                await h.failure(ComplaintsClose.self, .init(complaintId: complaint.id)),
            ]
            for error in refused {
                #expect(error?.kind == .invalidState, "\(String(describing: error))")
                #expect(error?.message.contains("\(complaint.number) is filed") == true)
            }
            #expect(try await h.snapshot() == before)

            let unknown = await h.failure(ComplaintsAcknowledge.self, .init(complaintId: "0190f0e0-0000-7000-8000-000000000000"))
            #expect(unknown?.kind == .notFound)
            let garbled = await h.failure(ComplaintsAcknowledge.self, .init(complaintId: "TS-1"))
            #expect(garbled?.kind == .invalidParams)
            #expect(try await h.snapshot() == before)
        }
    }

    @Test func anUnassignedComplaintCannotBeResolved() async throws {
        try await ComplaintsHarness.run { h in
            let complaint = try await h.call(ComplaintsFile.self, .sample())
            _ = try await h.call(ComplaintsAcknowledge.self, .init(complaintId: complaint.id), meta: Self.officer)
            _ = try await h.call(ComplaintsInvestigate.self, .init(complaintId: complaint.id, note: "looked"), meta: Self.officer)
            let before = try await h.snapshot()
            let error = await h.failure(
                ComplaintsResolve.self, .init(complaintId: complaint.id, outcome: .notUpheld, resolution: "r", rootCause: "no_fault"), meta: Self.officer
            )
            #expect(error?.kind == .invalidState)
            #expect(error?.message.contains("not assigned") == true)
            let badCause = await h.failure(
                ComplaintsResolve.self, .init(complaintId: complaint.id, outcome: .notUpheld, resolution: "r", rootCause: "bad_luck"), meta: Self.officer
            )
            #expect(badCause?.kind == .invalidParams)
            #expect(try await h.snapshot() == before)
        }
    }

    @Test func theCaseHandlerCannotInvestigateTheComplaint() async throws {
        try await ComplaintsHarness.run { h in
            let complaint = try await h.call(ComplaintsFile.self, .sample(department: "civil_affairs", caseHandlerId: "handler-3"))
            _ = try await h.call(ComplaintsAcknowledge.self, .init(complaintId: complaint.id), meta: Self.officer)
            let before = try await h.snapshot()
            let error = await h.failure(ComplaintsInvestigate.self, .init(complaintId: complaint.id, investigator: StaffRef(id: "handler-3"), note: "it was fine"))
            #expect(error?.kind == .forbidden)
            #expect(try await h.snapshot() == before)
            let other = try await h.call(ComplaintsInvestigate.self, .init(complaintId: complaint.id, investigator: StaffRef(id: "quality-1"), note: "checked"))
            #expect(other.status == .investigating)
        }
    }

    @Test func reopeningBeyondTheLimitIsRefused() async throws {
        try await ComplaintsHarness.run(configure: { $0.maxReopens = 1 }) { h in
            let complaint = try await h.call(ComplaintsFile.self, .sample(department: "civil_affairs"))
            let resolve = ComplaintsResolve.Params(complaintId: complaint.id, outcome: .notUpheld, resolution: "r", rootCause: "no_fault")
            _ = try await h.call(ComplaintsAcknowledge.self, .init(complaintId: complaint.id), meta: Self.officer)
            _ = try await h.call(ComplaintsInvestigate.self, .init(complaintId: complaint.id, note: "n"), meta: Self.officer)
            _ = try await h.call(ComplaintsResolve.self, resolve, meta: Self.officer)
            _ = try await h.call(ComplaintsReopen.self, .init(complaintId: complaint.id, reason: "not happy"))
            _ = try await h.call(ComplaintsInvestigate.self, .init(complaintId: complaint.id, note: "n2"), meta: Self.officer)
            _ = try await h.call(ComplaintsResolve.self, resolve, meta: Self.officer)
            let before = try await h.snapshot()
            let error = await h.failure(ComplaintsReopen.self, .init(complaintId: complaint.id, reason: "still not happy"))
            #expect(error?.kind == .invalidState)
            #expect(error?.message.contains("most allowed (1)") == true)
            #expect(try await h.snapshot() == before)
        }
    }

    // MARK: Satisfaction

    @Test func aSecondRatingOfACaseIsAConflict() async throws {
        try await ComplaintsHarness.run { h in
            let first = try await h.call(ComplaintsRate.self, .init(trackingNumber: "SQ20261101000031", score: 5, department: "civil_affairs"))
            #expect(first.followUpComplaint == nil)
            let before = try await h.snapshot()
            let error = await h.failure(ComplaintsRate.self, .init(trackingNumber: "SQ20261101000031", score: 1))
            #expect(error?.kind == .conflict)
            let badScore = await h.failure(ComplaintsRate.self, .init(trackingNumber: "SQ20261101000032", score: 6))
            #expect(badScore?.kind == .invalidParams)
            #expect(try await h.snapshot() == before)
        }
    }

    @Test func aLowRatingOpensOneFollowUpComplaintEvenWhenDeliveredTwice() async throws {
        try await ComplaintsHarness.run { h in
            let meta = RPCMeta(messageId: "intake-survey-9")
            let params = ComplaintsRate.Params(
                trackingNumber: "SQ20261101000040", score: 2, comment: "Nobody told me the result", department: "tax",
                customer: ComplainantInput(name: "Zhao Lei", phone: "13712345678")
            )
            let rated = try await h.call(ComplaintsRate.self, params, meta: meta)
            let again = try await h.call(ComplaintsRate.self, params, meta: meta)
            let followUp = try #require(rated.followUpComplaint)
            #expect(again.ratingId == rated.ratingId)
            #expect(again.followUpComplaint?.id == followUp.id)
            #expect(followUp.sourceRatingId == rated.ratingId)
            #expect(followUp.caseTrackingNumber == "SQ20261101000040")
            #expect(followUp.department == "tax")
            #expect(followUp.content.contains("Nobody told me the result"))
            #expect(try await h.count("SELECT count(*) FROM complaints") == 1)
            #expect(try await h.count("SELECT count(*) FROM satisfaction_ratings WHERE follow_up_complaint_id IS NOT NULL") == 1)
            #expect(try await h.notifications().filter { $0.template == NotificationTemplate.complaintAcknowledged.rawValue }.count == 1)

            let fine = try await h.call(ComplaintsRate.self, .init(trackingNumber: "SQ20261101000041", score: 3))
            #expect(fine.followUpComplaint == nil)
        }
    }

    // MARK: Reading

    @Test func listingPagesThroughEveryComplaintOnceWithFilters() async throws {
        try await ComplaintsHarness.run { h in
            var ids: [String] = []
            for index in 0..<5 {
                let complaint = try await h.call(ComplaintsFile.self, .sample(phone: "1390000010\(index)", email: nil, department: index.isMultiple(of: 2) ? "tax" : "civil_affairs"))
                ids.append(complaint.id)
            }
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await h.call(ComplaintsList.self, .init(limit: 2, cursor: cursor))
                #expect(page.items.count <= 2)
                seen += page.items.map(\.id)
                cursor = page.nextCursor
            } while cursor != nil
            #expect(seen == ids.reversed())
            let tax = try await h.call(ComplaintsList.self, .init(department: "tax"))
            #expect(tax.items.count == 3)
            #expect(tax.nextCursor == nil)
            let badLimit = await h.failure(ComplaintsList.self, .init(limit: 0))
            #expect(badLimit?.kind == .invalidParams)
        }
    }

    @Test func statisticsCountCausesTimesAndSatisfaction() async throws {
        try await ComplaintsHarness.run { h in
            let a = try await h.call(ComplaintsFile.self, .sample(phone: "13900000201", email: nil, department: "tax"))
            _ = try await h.call(ComplaintsFile.self, .sample(content: "The clerk was impolite again", phone: "13900000202", email: nil, department: "tax"))
            _ = try await h.call(ComplaintsFile.self, .sample(content: "No seats in the waiting area", phone: "13900000203", email: nil))
            _ = try await h.call(ComplaintsAcknowledge.self, .init(complaintId: a.id), meta: Self.officer)
            _ = try await h.call(ComplaintsInvestigate.self, .init(complaintId: a.id, note: "n"), meta: Self.officer)
            _ = try await h.call(ComplaintsResolve.self, .init(complaintId: a.id, outcome: .upheld, resolution: "sorry", rootCause: "training"), meta: Self.officer)
            _ = try await h.call(ComplaintsRate.self, .init(trackingNumber: "SQ1", score: 5, department: "tax"))
            _ = try await h.call(ComplaintsRate.self, .init(trackingNumber: "SQ2", score: 4, department: "tax"))
            _ = try await h.call(ComplaintsRate.self, .init(trackingNumber: "SQ3", score: 3, department: "civil_affairs"))

            let stats = try await h.call(ComplaintsStats.self, .init())
            #expect(stats.total == 3)
            #expect(stats.byCategory.first == ComplaintsStats.Count(key: "attitude", count: 2, cumulativeShare: 2.0 / 3.0))
            #expect(stats.byCategory.last?.cumulativeShare == 1)
            #expect(stats.byRootCause.map(\.key) == ["training"])
            #expect(stats.byDepartment.first?.key == "tax")
            #expect(stats.firstResponseSecondsP50 != nil)
            #expect(abs(stats.resolutionRate - 1.0 / 3.0) < 1e-9)
            #expect(stats.reopenRate == 0)
            #expect(stats.satisfactionAverage == 4)
            #expect(stats.satisfactionDistribution == [0, 0, 1, 1, 1])
            let tax = try #require(stats.satisfactionByDepartment.first { $0.department == "tax" })
            #expect(tax.average == 4.5)
            #expect(tax.distribution == [0, 0, 0, 1, 1])
        }
    }
}
