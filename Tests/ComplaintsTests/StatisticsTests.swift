import ComplaintsService
import Contracts
import LineProtocol
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

@Suite("Statistics by service type and the complaint rate per 1,000 cases")
struct StatisticsTests {
    static let rude = "The officer at window 3 was rude and shouted at me."

    @Test func complaintsAreCountedByTheirCaseServiceTypeInParetoOrderWithNoneAndUnknownBuckets() async throws {
        let routed = [
            FakeRouting.routed("SQ20261101000101"), FakeRouting.routed("SQ20261101000102"),
            FakeRouting.routed("SQ20261101000103", serviceType: "business_licence"),
            FakeRouting.routed("SQ20261101000104", serviceType: nil),
        ]
        try await ComplaintsHarness.run(routedCases: routed) { h in
            let first = try await h.call(ComplaintsFile.self, .sample(phone: "13900000301", email: nil, caseTrackingNumber: "SQ20261101000101"))
            #expect(first.caseServiceType == "residence_permit")
            _ = try await h.call(ComplaintsFile.self, .sample(phone: "13900000302", email: nil, caseTrackingNumber: "SQ20261101000102"))
            _ = try await h.call(ComplaintsFile.self, .sample(phone: "13900000303", email: nil, caseTrackingNumber: "SQ20261101000103"))
            // Routing did not say the service type; routing never held the case.
            _ = try await h.call(ComplaintsFile.self, .sample(phone: "13900000304", email: nil, caseTrackingNumber: "SQ20261101000104"))
            let unknown = try await h.call(ComplaintsFile.self, .sample(phone: "13900000305", email: nil, caseTrackingNumber: "SQ20261101000199", department: "tax"))
            #expect(unknown.caseServiceType == nil)
            // No case at all: counted under "none", not dropped.
            _ = try await h.call(ComplaintsFile.self, .sample(phone: "13900000306", email: nil, department: "tax"))
            #expect(try await h.count("SELECT count(*) FROM complaints WHERE case_service_type = 'residence_permit'") == 2)

            let stats = try await h.call(ComplaintsStats.self, .init())
            #expect(stats.total == 6)
            #expect(stats.byServiceType.map(\.key) == ["residence_permit", "unknown", "business_licence", "none"])
            #expect(stats.byServiceType.map(\.count) == [2, 2, 1, 1])
            let shares: [Double] = [2, 4, 5, 6].map { Double($0) / 6 }
            #expect(stats.byServiceType.map(\.cumulativeShare) == shares)
            #expect(stats.byServiceType.reduce(0) { $0 + $1.count } == stats.total)
        }
    }

    @Test func theRateIsComplaintsPerThousandCasesIntakeRegisteredInTheSamePeriodOverallAndPerServiceType() async throws {
        let routed = [
            FakeRouting.routed("SQ20261101000111"), FakeRouting.routed("SQ20261101000112"),
            FakeRouting.routed("SQ20261101000113", serviceType: "business_licence"),
        ]
        try await ComplaintsHarness.run(routedCases: routed) { h in
            h.intake.setCounts(["residence_permit": 400, "business_licence": 100, "marriage": 500])
            for (index, tracking) in ["SQ20261101000111", "SQ20261101000112", "SQ20261101000113"].enumerated() {
                _ = try await h.call(ComplaintsFile.self, .sample(phone: "1390000031\(index)", email: nil, caseTrackingNumber: tracking))
            }
            _ = try await h.call(ComplaintsFile.self, .sample(phone: "13900000319", email: nil, department: "tax"))

            let from = Date(timeIntervalSinceNow: -86_400)
            let before = Date(timeIntervalSinceNow: 86_400)
            let stats = try await h.call(ComplaintsStats.self, .init(from: from, before: before))
            let rate = stats.complaintRate
            #expect(rate.unavailableReason == nil)
            #expect(rate.casesRegistered == 1000)
            #expect(rate.per1000Cases == 4.0, "4 complaints over 1,000 cases")
            #expect(rate.byServiceType == [
                ComplaintsStats.ServiceTypeRate(serviceType: "business_licence", complaints: 1, cases: 100, per1000Cases: 10.0),
                ComplaintsStats.ServiceTypeRate(serviceType: "residence_permit", complaints: 2, cases: 400, per1000Cases: 5.0),
                ComplaintsStats.ServiceTypeRate(serviceType: "marriage", complaints: 0, cases: 500, per1000Cases: 0),
            ])
            // Intake was asked for the same period, as the complaints service (no staff actor).
            let asked = try #require(h.intake.statsCalls.last)
            #expect(asked.caller == "complaints" && asked.actorId == nil)
            #expect(asked.params.from.map { abs($0.timeIntervalSince(from)) < 0.01 } == true)
            #expect(asked.params.before.map { abs($0.timeIntervalSince(before)) < 0.01 } == true)
            #expect(asked.params.department == nil)

            // A service type complained about with no case registered in the period has no rate.
            h.intake.setCounts(["marriage": 10])
            let later = try await h.call(ComplaintsStats.self, .init())
            #expect(later.complaintRate.per1000Cases == 400.0)
            #expect(later.complaintRate.byServiceType.last == ComplaintsStats.ServiceTypeRate(serviceType: "business_licence", complaints: 1, cases: 0, per1000Cases: nil))
            // No case at all in the period: no rate, but not "unavailable" either.
            h.intake.setCounts([:])
            let empty = try await h.call(ComplaintsStats.self, .init())
            #expect(empty.complaintRate.casesRegistered == 0 && empty.complaintRate.per1000Cases == nil)
            #expect(empty.complaintRate.unavailableReason == nil)
        }
    }

    @Test func whenIntakeIsUnreachableTheRateIsMarkedUnavailableWithTheReasonAndTheOtherFiguresAreAnswered() async throws {
        // The default 2 s for peer calls: with 300 ms, a loaded CI machine's routing lookups at
        // filing timed out too, and the service types came back "unknown".
        try await ComplaintsHarness.run(routedCases: [FakeRouting.routed("SQ20261101000121")], intake: .down) { h in
            _ = try await h.call(ComplaintsFile.self, .sample(phone: "13900000321", email: nil, caseTrackingNumber: "SQ20261101000121"))
            _ = try await h.call(ComplaintsFile.self, .sample(phone: "13900000322", email: nil, department: "tax"))
            let stats = try await h.call(ComplaintsStats.self, .init())
            #expect(stats.total == 2)
            #expect(stats.byServiceType.map(\.key) == ["none", "residence_permit"])
            #expect(stats.byDepartment.map(\.key) == ["civil_affairs", "tax"])
            #expect(stats.complaintRate.per1000Cases == nil && stats.complaintRate.casesRegistered == nil)
            #expect(stats.complaintRate.byServiceType.isEmpty)
            let reason = try #require(stats.complaintRate.unavailableReason)
            #expect(reason.contains("intake could not be asked"))
        }
    }

    @Test func oneDepartmentsFiguresAndRateComeFromItsComplaintsAndItsCases() async throws {
        try await ComplaintsHarness.run(routedCases: [FakeRouting.routed("SQ20261101000131", department: "tax")]) { h in
            h.intake.setCounts(["residence_permit": 200])
            _ = try await h.call(ComplaintsFile.self, .sample(phone: "13900000331", email: nil, caseTrackingNumber: "SQ20261101000131"))
            _ = try await h.call(ComplaintsFile.self, .sample(phone: "13900000332", email: nil, department: "civil_affairs"))
            _ = try await h.call(ComplaintsRate.self, .init(trackingNumber: "SQ20261101000131", score: 4, department: "tax", serviceType: "residence_permit"))
            _ = try await h.call(ComplaintsRate.self, .init(trackingNumber: "SQ20261101000132", score: 5, department: "civil_affairs"))

            let tax = try await h.call(ComplaintsStats.self, .init(department: "tax"))
            #expect(tax.total == 1)
            #expect(tax.byDepartment.map(\.key) == ["tax"])
            #expect(tax.complaintRate.per1000Cases == 5.0)
            #expect(h.intake.statsCalls.last?.params.department == "tax")
            #expect(tax.satisfactionByDepartment.map(\.department) == ["tax"])

            // Bad inputs are refused with the field named.
            let empty = await h.failure(ComplaintsStats.self, .init(department: " "))
            #expect(empty?.kind == .invalidParams && empty?.message.contains("department") == true)
            let long = await h.failure(ComplaintsStats.self, .init(department: String(repeating: "d", count: 65)))
            #expect(long?.kind == .invalidParams)
        }
    }

    @Test func satisfactionIsBrokenDownByServiceTypeWithRatingsOfNoTypeUnderUnknown() async throws {
        try await ComplaintsHarness.run { h in
            _ = try await h.call(ComplaintsRate.self, .init(trackingNumber: "SQ20261101000141", score: 5, department: "tax", serviceType: "residence_permit"))
            _ = try await h.call(ComplaintsRate.self, .init(trackingNumber: "SQ20261101000142", score: 3, department: "tax", serviceType: "residence_permit"))
            _ = try await h.call(ComplaintsRate.self, .init(trackingNumber: "SQ20261101000143", score: 4, department: "civil_affairs"))

            let stats = try await h.call(ComplaintsStats.self, .init())
            #expect(stats.satisfactionByServiceType == [
                ComplaintsStats.KeyedSatisfaction(key: "residence_permit", ratings: 2, average: 4, distribution: [0, 0, 1, 0, 1]),
                ComplaintsStats.KeyedSatisfaction(key: "unknown", ratings: 1, average: 4, distribution: [0, 0, 0, 1, 0]),
            ])
            #expect(stats.satisfactionByDepartment.map(\.department) == ["civil_affairs", "tax"])
            #expect(stats.satisfactionAverage == 4)
        }
    }
}
