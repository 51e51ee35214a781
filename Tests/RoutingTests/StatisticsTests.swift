import Contracts
import LineProtocol
import Testing

@Suite("Routing: statistics for the KPIs")
struct StatisticsTests {
    @Test func completedOnTimeLateOverdueAndReopenedAreCountedPerDepartment() async throws {
        try await RoutingFixture.run { f in
            try await f.createDepartments()
            try await f.addHandler("c-1", department: "civil", capacity: 10)
            for id in ["on-time", "late", "still-open"] { try await f.dispatch(id, limit: 2) }
            for id in ["on-time", "late"] {
                _ = try await f.call(RoutingAccept.self, .init(caseId: id), as: Staff.person("c-1"))
            }
            _ = try await f.call(RoutingComplete.self, .init(caseId: "on-time", result: "done"), as: Staff.person("c-1"))
            f.clock.set("2026-11-27T02:00:00Z")
            _ = try await f.call(RoutingComplete.self, .init(caseId: "late", result: "done"), as: Staff.person("c-1"))
            _ = try await f.call(RoutingReopen.self, .init(caseId: "late", reason: "objection upheld"), as: Staff.officer)
            f.clock.set("2026-12-10T02:00:00Z")

            let stats = try await f.call(RoutingStats.self, .init(), as: Staff.officer)
            let civil = try #require(stats.departments.first { $0.department == "civil" })
            #expect(civil.completed == 1, "the reopened case is open again")
            #expect(civil.completedOnTime == 1)
            #expect(civil.open == 2)
            #expect(civil.overdue == 2, "\(civil)")
            #expect(civil.reopened == 1)

            let other = try await f.call(RoutingStats.self, .init(department: "nowhere"), as: Staff.officer)
            #expect(other.departments.isEmpty)
            #expect(await f.failure(RoutingStats.self, .init(), as: Staff.person("c-1")) == .forbidden)
        }
    }
}
