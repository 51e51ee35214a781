import ComplaintsService
import Contracts
import LineProtocol
import Postgres
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

@Suite("Bad input to any method: a clear error and no change")
struct BadInputTests {
    static let officer = RPCMeta(actor: RPCActor(id: "officer-7", roles: ["complaint_officer"]))

    @Test func badHandlingCallsAreRefusedWithTheFieldNamedAndChangeNothing() async throws {
        try await ComplaintsHarness.run { h in
            let complaint = try await h.call(ComplaintsFile.self, .sample(department: "civil_affairs"))
            _ = try await h.call(ComplaintsAcknowledge.self, .init(complaintId: complaint.id), meta: Self.officer)
            _ = try await h.call(ComplaintsInvestigate.self, .init(complaintId: complaint.id, note: "first look"), meta: Self.officer)
            let id = complaint.id
            let long = String(repeating: "x", count: 4001)
            let before = try await h.snapshot()
            let refusals: [(String, RPCError?)] = [
                ("give a category", await h.failure(ComplaintsClassify.self, .init(complaintId: id), meta: Self.officer)),
                ("department", await h.failure(ComplaintsClassify.self, .init(complaintId: id, department: "tax\nfinance"), meta: Self.officer)),
                ("complaintId", await h.failure(ComplaintsClassify.self, .init(complaintId: "42", department: "tax"), meta: Self.officer)),
                ("note", await h.failure(ComplaintsAcknowledge.self, .init(complaintId: id, note: long), meta: Self.officer)),
                ("note", await h.failure(ComplaintsInvestigate.self, .init(complaintId: id, note: "   "), meta: Self.officer)),
                ("evidenceRefs", await h.failure(
                    ComplaintsInvestigate.self, .init(complaintId: id, note: "n", evidenceRefs: (0...50).map { "ref-\($0)" }), meta: Self.officer
                )),
                ("evidenceRefs", await h.failure(ComplaintsInvestigate.self, .init(complaintId: id, note: "n", evidenceRefs: [""]), meta: Self.officer)),
                ("investigator", await h.failure(ComplaintsInvestigate.self, .init(complaintId: id, note: "n"))),
                ("resolution", await h.failure(
                    ComplaintsResolve.self, .init(complaintId: id, outcome: .upheld, resolution: " ", rootCause: "training"), meta: Self.officer
                )),
                ("remedy", await h.failure(
                    ComplaintsResolve.self,
                    .init(complaintId: id, outcome: .upheld, resolution: "r", remedy: String(repeating: "y", count: 1001), rootCause: "training"),
                    meta: Self.officer
                )),
                ("rootCause", await h.failure(
                    ComplaintsResolve.self, .init(complaintId: id, outcome: .upheld, resolution: "r", rootCause: "fate"), meta: Self.officer
                )),
                ("reason", await h.failure(ComplaintsReopen.self, .init(complaintId: id, reason: ""))),
                ("note", await h.failure(ComplaintsClose.self, .init(complaintId: id, note: long), meta: Self.officer)),
            ]
            for (field, error) in refusals {
                #expect(error?.kind == .invalidParams, "\(field): \(String(describing: error))")
                #expect(error?.message.contains(field) == true, "\(field): \(error?.message ?? "no error")")
            }
            #expect(try await h.snapshot() == before)
        }
    }

    @Test func badReadsAreRefusedWithAClearError() async throws {
        try await ComplaintsHarness.run { h in
            let before = try await h.snapshot()
            #expect(await h.failure(ComplaintsGet.self, .init())?.kind == .invalidParams)
            #expect(await h.failure(ComplaintsGet.self, .init(complaintNumber: "TS202611230999"))?.kind == .notFound)
            #expect(await h.failure(ComplaintsList.self, .init(limit: 201))?.kind == .invalidParams)
            #expect(await h.failure(ComplaintsList.self, .init(cursor: "page-2"))?.message.contains("cursor") == true)
            let now = Date()
            #expect(await h.failure(ComplaintsStats.self, .init(from: now, before: now))?.kind == .invalidParams)
            #expect(try await h.snapshot() == before)
        }
    }

    @Test func badRatingsAreRefusedAndChangeNothing() async throws {
        try await ComplaintsHarness.run { h in
            let before = try await h.snapshot()
            let refusals: [(String, RPCError?)] = [
                ("score", await h.failure(ComplaintsRate.self, .init(trackingNumber: "SQ20261101000061", score: 0))),
                ("timeliness", await h.failure(ComplaintsRate.self, .init(trackingNumber: "SQ20261101000061", score: 4, timeliness: 6))),
                ("clarity", await h.failure(ComplaintsRate.self, .init(trackingNumber: "SQ20261101000061", score: 4, clarity: 0))),
                ("trackingNumber", await h.failure(ComplaintsRate.self, .init(trackingNumber: " ", score: 4))),
                ("comment", await h.failure(
                    ComplaintsRate.self, .init(trackingNumber: "SQ20261101000061", score: 4, comment: String(repeating: "z", count: 2001))
                )),
                ("customer.phone", await h.failure(
                    ComplaintsRate.self, .init(trackingNumber: "SQ20261101000061", score: 1, customer: ComplainantInput(name: "A", phone: "123"))
                )),
                ("accessCode", await h.failure(ComplaintsRate.self, .init(trackingNumber: "SQ20261101000061", accessCode: " ", score: 4))),
            ]
            for (field, error) in refusals {
                #expect(error?.kind == .invalidParams, "\(field): \(String(describing: error))")
                #expect(error?.message.contains(field) == true, "\(field): \(error?.message ?? "no error")")
            }
            #expect(h.intake.calls == 0)
            #expect(try await h.snapshot() == before)
        }
    }

    @Test func aRatingWithTheWrongAccessCodeIsRefusedAndChangesNothing() async throws {
        try await ComplaintsHarness.run { h in
            h.intake.add("SQ20261101000062", accessCode: "K7Q2M9", department: "civil_affairs", serviceType: "residence_permit")
            let before = try await h.snapshot()
            let wrong = await h.failure(ComplaintsRate.self, .init(trackingNumber: "SQ20261101000062", accessCode: "AAAAAA", score: 1))
            #expect(wrong?.kind == .notFound)
            #expect(wrong?.message.contains("access code") == true)
            let unknownCase = await h.failure(ComplaintsRate.self, .init(trackingNumber: "SQ20261101000063", accessCode: "K7Q2M9", score: 5))
            #expect(unknownCase?.kind == .notFound)
            #expect(try await h.snapshot() == before)

            // The right code: rated, with intake's department rather than the caller's.
            let rated = try await h.call(
                ComplaintsRate.self, .init(trackingNumber: "SQ20261101000062", accessCode: "K7Q2M9", score: 5, department: "made-up")
            )
            #expect(rated.followUpComplaint == nil)
            #expect(try await h.count("SELECT count(*) FROM satisfaction_ratings WHERE department = 'civil_affairs' AND service_type = 'residence_permit'") == 1)
            #expect(h.intake.calls == 3)
        }
    }
}
