import Contracts
import LineProtocol
import Postgres
import Prometheus
import RoutingService
import ServiceKit
import Testing

@Suite("SLA monitor: the at-risk warning at 80% of the time and the per-department gauges")
struct AtRiskTests {
    @Test func aCaseAt80PercentOfItsTimeWarnsItsHandlerOnceEvenWithTwoMonitors() async throws {
        try await RoutingFixture.run { f in
            try await f.createDepartments()
            try await f.addHandler("c-1", department: "civil", capacity: 10)
            // Accepted Mon 23 Nov, 5 working days: due Mon 30 Nov, 80% = 4 days used on Fri 27.
            for id in ["r-1", "r-2", "r-3"] {
                #expect(try await f.dispatch(id, limit: 5).dueDate == "2026-11-30")
            }
            let one = SLAMonitor(database: f.database, settings: f.settings, logger: quietLogger)
            let two = SLAMonitor(database: f.database, settings: f.settings, logger: quietLogger)
            // Thu 26: 3 of 5 days used, and the due date is outside the 1-day near window.
            #expect(try await one.scan(now: isoDate("2026-11-26T02:00:00Z")) == SLAScanReport())

            let friday = isoDate("2026-11-27T02:00:00Z")
            async let a = one.scan(now: friday)
            async let b = two.scan(now: friday)
            let reports = try await [a, b]
            #expect(reports.map(\.atRisk).reduce(0, +) == 3)
            // The near warning (due within a day) would fall on the same day: one message only.
            #expect(reports.map(\.warned).reduce(0, +) == 0)
            #expect(try await one.scan(now: isoDate("2026-11-27T08:00:00Z")) == SLAScanReport())

            let notices = try await f.database.query("""
                SELECT a.case_id, n.kind, n.sent_to, n.due_date::text AS due FROM routing_sla_notices n
                JOIN routing_assignments a ON a.id = n.assignment_id ORDER BY a.case_id
                """).map { "\(try $0.decode(String.self, column: "case_id"))/\(try $0.decode(String.self, column: "kind"))/\(try $0.decode(String.self, column: "sent_to"))/\(try $0.decode(String.self, column: "due"))" }
            #expect(notices == ["r-1/at_risk/c-1/2026-11-30", "r-2/at_risk/c-1/2026-11-30", "r-3/at_risk/c-1/2026-11-30"])
            let sends = try await f.notifications().filter { $0.template == .staffDeadlineNear }
            #expect(sends.map(\.key).sorted() == ["routing/r-1/at_risk/2026-11-30", "routing/r-2/at_risk/2026-11-30", "routing/r-3/at_risk/2026-11-30"])
            #expect(sends.allSatisfy { $0.recipients.first?.email == "c-1@hall.example" })
            for send in sends { #expect(Set(send.variables.keys) == Set(send.template.requiredVariables)) }
            let audited = try await f.database.query("SELECT count(*)::int8 AS n FROM routing_audit WHERE action = 'assignment.at_risk_warning'")
            #expect(try audited.first?.decode(Int.self, column: "n") == 3)
            // A warning is for the handler, not the customer: nothing new goes to intake.
            #expect(try await f.progress(of: "r-1").map(\.event) == [.routed])
        }
    }

    @Test func pausedTimeDoesNotCountTowardsTheAtRiskShare() async throws {
        try await RoutingFixture.run { f in
            try await f.createDepartments()
            try await f.addHandler("c-1", department: "civil")
            #expect(try await f.dispatch("p", limit: 5).dueDate == "2026-11-30")
            _ = try await f.call(RoutingAccept.self, .init(caseId: "p"), as: Staff.person("c-1"))
            f.clock.set("2026-11-24T02:00:00Z")
            _ = try await f.call(RoutingRequestInfo.self, .init(caseId: "p", question: "?"), as: Staff.person("c-1"))
            f.clock.set("2026-11-26T02:00:00Z")
            // Paused Tue 24 → Thu 26: 2 working days; due Wed 2 Dec, 4 days used on Tue 1 Dec.
            #expect(try await f.call(RoutingProvideInfo.self, .init(caseId: "p"), as: Staff.person("c-1")).dueDate == "2026-12-02")
            let monitor = SLAMonitor(database: f.database, settings: f.settings, logger: quietLogger)
            // Mon 30: 5 calendar working days since acceptance, but only 3 of them on the clock.
            #expect(try await monitor.scan(now: isoDate("2026-11-30T02:00:00Z")).atRisk == 0)
            #expect(try await monitor.scan(now: isoDate("2026-12-01T02:00:00Z")).atRisk == 1)
        }
    }

    @Test func theGaugesCarryOpenAtRiskAndOverdueCasesPerDepartment() async throws {
        try await RoutingFixture.run { f in
            try await f.createDepartments()
            try await f.addHandler("c-1", department: "civil", capacity: 10)
            try await f.addHandler("p-1", department: "permits", capacity: 10)
            try await f.dispatch("late", limit: 2)                  // due Wed 25: overdue on Thu 26
            try await f.dispatch("risky", limit: 3)                 // due Thu 26, 3 of 3 used on Thu 26
            try await f.dispatch("fresh", limit: 10)                // due 7 Dec
            try await f.dispatch("done", limit: 10)
            _ = try await f.call(RoutingAccept.self, .init(caseId: "done"), as: Staff.person("c-1"))
            _ = try await f.call(RoutingComplete.self, .init(caseId: "done", result: "ok"), as: Staff.person("c-1"))
            try await f.dispatch("old", department: "permits", limit: 1, acceptedAt: "2026-11-02T02:00:00Z")
            // Paused on Mon 23, before its due date (Tue 24): not overdue while it waits.
            try await f.dispatch("waiting", department: "permits", limit: 1)
            _ = try await f.call(RoutingAccept.self, .init(caseId: "waiting"), as: Staff.person("p-1"))
            _ = try await f.call(RoutingRequestInfo.self, .init(caseId: "waiting", question: "?"), as: Staff.person("p-1"))

            let registry = PrometheusCollectorRegistry()
            let monitor = SLAMonitor(database: f.database, settings: f.settings, logger: quietLogger, metrics: PrometheusMetricsFactory(registry: registry))
            _ = try await monitor.scan(now: isoDate("2026-11-26T02:00:00Z"))
            let text = registry.emitToString()
            #expect(Self.gauges(text) == [
                "routing_cases_at_risk{department=\"civil\"} 1.0", "routing_cases_at_risk{department=\"permits\"} 0.0",
                "routing_cases_open{department=\"civil\"} 3.0", "routing_cases_open{department=\"permits\"} 2.0",
                "routing_cases_overdue{department=\"civil\"} 1.0", "routing_cases_overdue{department=\"permits\"} 1.0",
            ])

            // Completing the overdue permits case and the paused one leaves permits empty: 0, not
            // its last count.
            _ = try await f.call(RoutingAccept.self, .init(caseId: "old"), as: Staff.person("p-1"))
            _ = try await f.call(RoutingComplete.self, .init(caseId: "old", result: "ok"), as: Staff.person("p-1"))
            _ = try await f.call(RoutingProvideInfo.self, .init(caseId: "waiting"), as: Staff.person("p-1"))
            _ = try await f.call(RoutingComplete.self, .init(caseId: "waiting", result: "ok"), as: Staff.person("p-1"))
            let loads = try await monitor.refreshGauges(today: try #require(LocalDate("2026-11-26")))
            #expect(loads["permits"] == SLADepartmentLoad(open: 0, atRisk: 0, overdue: 0))
            #expect(loads["civil"] == SLADepartmentLoad(open: 3, atRisk: 1, overdue: 1))
            #expect(Self.gauges(registry.emitToString()).contains("routing_cases_open{department=\"permits\"} 0.0"))
        }
    }

    /// The sample lines of routing's case gauges, sorted.
    static func gauges(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { $0.hasPrefix("routing_cases_") }.sorted()
    }
}
