import Contracts
import LineProtocol
import Postgres
import RoutingService
import ServiceKit
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

@Suite("The test-only sped-up clock (ONESTOP_ROUTING_CLOCK_SPEED)")
struct ClockTests {
    @Test func aSpedUpClockRunsFromItsOriginAndLeavesEarlierInstantsAlone() {
        let origin = isoDate("2026-11-23T02:00:00Z")
        let clock = RoutingClock(origin: origin, speed: 86_400)
        #expect(clock.instant(at: origin.addingTimeInterval(1)) == isoDate("2026-11-24T02:00:00Z"))
        #expect(clock.instant(at: origin.addingTimeInterval(-60)) == origin.addingTimeInterval(-60))
        #expect(RoutingClock(origin: origin).instant(at: origin.addingTimeInterval(5)) == origin.addingTimeInterval(5))
    }

    @Test(arguments: ["0", "-3", "fast", "1.5", "", "99999999999"])
    func aBadClockSpeedIsRefusedByName(_ value: String) {
        #expect {
            try RoutingSettings.fromEnvironment(["ONESTOP_ROUTING_CLOCK_SPEED": value])
        } throws: { error in
            "\(error)".contains("ONESTOP_ROUTING_CLOCK_SPEED")
        }
    }

    @Test func theDefaultClockIsRealTime() throws {
        let settings = try RoutingSettings.fromEnvironment([:])
        let real = Date()
        #expect(abs(settings.now().timeIntervalSince(real)) < 5)
        #expect(settings.instant(real) == real)
    }

    /// What an end-to-end test relies on: a case with a 1-working-day limit, dispatched now,
    /// escalated to its head by the service's own monitor within seconds.
    @Test func aFreshCaseIsEscalatedWithinSecondsUnderASpedUpClock() async throws {
        let environment = [
            "ONESTOP_ROUTING_CLOCK_SPEED": "172800",     // two days a second
            "ONESTOP_ROUTING_SLA_INTERVAL_MS": "200",
        ]
        try await RoutingFixture.run(environment: environment) { f in
            try await f.createDepartments()
            try await f.addHandler("c-1", department: "civil")
            let started = ContinuousClock.now
            _ = try await f.call(RoutingDispatch.self, .init(
                caseId: "fast", trackingNumber: "SQ-fast", serviceType: "marriage", serviceName: "Marriage",
                priority: .regular, confidentiality: .normal, department: "civil", timeLimitWorkingDays: 1,
                acceptedAt: Date(), approvedBy: StaffRef(id: "reviewer-1", role: "reviewer")
            ))
            var levels: [String] = []
            // The longest run of non-working days in the bundled calendar is 8 (National Day):
            // at two days a second that is 5 s to the due date and 1 more past it.
            while levels.isEmpty, ContinuousClock.now - started < .seconds(20) {
                try await Task.sleep(for: .milliseconds(100))
                levels = try await f.database.query("SELECT level FROM routing_escalations ORDER BY at")
                    .map { try $0.decode(String.self, column: "level") }
            }
            let took = ContinuousClock.now - started
            #expect(levels.first == "department_head")
            #expect(took < .seconds(10))
            #expect(try await f.progress(of: "fast").map(\.event).prefix(3) == [.routed, .overdue, .escalated])
        }
    }
}
