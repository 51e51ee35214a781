import Contracts
import LineProtocol
import Postgres
import RoutingService
import ServiceKit
import Testing

@Suite("SLA monitor: warn before the due date, escalate overdue cases once")
struct SLAMonitorTests {
    @Test func anOverdueCaseIsEscalatedToTheHeadExactlyOnceEvenWithTwoMonitors() async throws {
        try await RoutingFixture.run { f in
            try await f.createDepartments()
            try await f.addHandler("c-1", department: "civil")
            // Accepted Mon 23 Nov with 2 working days: due Wed 25 Nov.
            #expect(try await f.dispatch("late", limit: 2).dueDate == "2026-11-25")
            #expect(try await f.dispatch("paused", limit: 2).dueDate == "2026-11-25")
            _ = try await f.call(RoutingAccept.self, .init(caseId: "paused"), as: Staff.person("c-1"))
            _ = try await f.call(RoutingRequestInfo.self, .init(caseId: "paused", question: "?"), as: Staff.person("c-1"))
            let outboxBefore = try await f.outbox().count

            let one = SLAMonitor(database: f.database, settings: f.settings, logger: quietLogger)
            let two = SLAMonitor(database: f.database, settings: f.settings, logger: quietLogger)
            // On the due date itself: not overdue.
            #expect(try await one.scan(now: isoDate("2026-11-25T09:00:00Z")).escalated == 0)
            // Thursday: overdue. Two replicas scan at once.
            let thursday = isoDate("2026-11-26T02:00:00Z")
            async let a = one.scan(now: thursday)
            async let b = two.scan(now: thursday)
            let reports = try await [a, b]
            #expect(reports.map(\.escalated).reduce(0, +) == 1)
            #expect(try await one.scan(now: isoDate("2026-11-27T02:00:00Z")).escalated == 0)

            #expect(try await f.count("routing_escalations") == 1)
            let escalation = try await f.database.query("SELECT level, escalated_to, due_date::text AS due FROM routing_escalations").first!
            #expect(try escalation.decode(String.self, column: "level") == "department_head")
            #expect(try escalation.decode(String.self, column: "escalated_to") == "head-civil")
            #expect(try escalation.decode(String.self, column: "due") == "2026-11-25")

            // To intake: overdue then escalated; to staff: the handler's deadline-passed (after the
            // at-risk warning of the first scan: 2 of 2 days used) and the head's escalation, each
            // with its variables.
            let events = try await f.progress(of: "late").map(\.event)
            #expect(events == [.routed, .overdue, .escalated])
            #expect(try await f.progress(of: "paused").map(\.event) == [.routed, .processingAccepted, .infoRequested])
            let sends = try await f.notifications().filter { $0.subjectId == "late" && $0.template != .staffAssignment }
            #expect(sends.map(\.template) == [.staffDeadlineNear, .staffDeadlinePassed, .staffEscalation])
            for send in sends {
                #expect(Set(send.variables.keys) == Set(send.template.requiredVariables))
            }
            #expect(sends.map(\.key) == [
                "routing/late/at_risk/2026-11-25", "routing/late/deadline_passed/2026-11-25",
                "routing/late/escalation/department_head/2026-11-25",
            ])
            #expect(sends[2].recipients.first?.email == "head.civil@hall.example" && sends[1].recipients.first?.email == "c-1@hall.example")
            #expect(try await f.outbox().count == outboxBefore + 5)
        }
    }

    @Test func aCaseNearItsDueDateIsWarnedOnceAndAgainAfterItsDueDateMoves() async throws {
        try await RoutingFixture.run(maxExtensionDays: 5) { f in
            try await f.createDepartments()
            try await f.addHandler("c-1", department: "civil")
            #expect(try await f.dispatch("soon", limit: 3).dueDate == "2026-11-26")
            let monitor = SLAMonitor(database: f.database, settings: f.settings, logger: quietLogger)
            // Monday: Thursday is 3 working days away, outside the 1-day window.
            #expect(try await monitor.scan(now: isoDate("2026-11-23T02:00:00Z")) == SLAScanReport(warned: 0, escalated: 0))
            // Wednesday: due tomorrow → warned, once.
            #expect(try await monitor.scan(now: isoDate("2026-11-25T02:00:00Z")).warned == 1)
            #expect(try await monitor.scan(now: isoDate("2026-11-25T05:00:00Z")).warned == 0)
            // An approved extension gives a new due date; nearing it warns again, here first by the
            // at-risk rule (Fri 27 = 4 of 5 working days used), which stands for the near warning.
            _ = try await f.call(RoutingAccept.self, .init(caseId: "soon"), as: Staff.person("c-1"))
            _ = try await f.call(RoutingExtend.self, .init(caseId: "soon", reason: "r", newDueDate: "2026-11-30"), as: Staff.person("c-1"))
            _ = try await f.call(RoutingApproveExtension.self, .init(caseId: "soon"), as: Staff.person("head-civil"))
            #expect(try await monitor.scan(now: isoDate("2026-11-27T02:00:00Z")) == SLAScanReport(warned: 0, atRisk: 1))
            let near = try await f.notifications().filter { $0.template == .staffDeadlineNear }.map(\.key)
            #expect(near == ["routing/soon/deadline_near/2026-11-26", "routing/soon/at_risk/2026-11-30"])
        }
    }

    @Test func aCaseOverdueByMoreThanTheMarginIsEscalatedToTheSupervisorOnceEvenWithTwoMonitors() async throws {
        try await RoutingFixture.run(supervisorMargin: 2) { f in
            try await f.createDepartments()
            try await f.addHandler("c-1", department: "civil", capacity: 10)
            // Due Wed 25 Nov.
            #expect(try await f.dispatch("late", limit: 2).dueDate == "2026-11-25")
            // Accepted three weeks earlier: due Wed 4 Nov, far past the margin at the first scan.
            #expect(try await f.dispatch("ancient", limit: 2, acceptedAt: "2026-11-02T02:00:00Z").dueDate == "2026-11-04")
            let one = SLAMonitor(database: f.database, settings: f.settings, logger: quietLogger)
            let two = SLAMonitor(database: f.database, settings: f.settings, logger: quietLogger)

            // Thu 26: `late` goes to its head only; `ancient` to its head and the supervisor at once.
            let thursday = try await one.scan(now: isoDate("2026-11-26T02:00:00Z"))
            #expect(thursday.escalated == 2 && thursday.escalatedToSupervisor == 1)
            // Fri 27: 2 working days over, not more than the margin.
            #expect(try await one.scan(now: isoDate("2026-11-27T02:00:00Z")).escalatedToSupervisor == 0)
            // Mon 30: 3 working days over. Two replicas scan at once: one escalation.
            let monday = isoDate("2026-11-30T02:00:00Z")
            async let a = one.scan(now: monday)
            async let b = two.scan(now: monday)
            let reports = try await [a, b]
            #expect(reports.map(\.escalatedToSupervisor).reduce(0, +) == 1)
            #expect(try await one.scan(now: isoDate("2026-12-01T02:00:00Z")) == SLAScanReport())

            let rows = try await f.database.query("""
                SELECT a.case_id, e.level, e.escalated_to FROM routing_escalations e
                JOIN routing_assignments a ON a.id = e.assignment_id ORDER BY a.case_id, e.level
                """).map { "\(try $0.decode(String.self, column: "case_id"))/\(try $0.decode(String.self, column: "level"))/\(try $0.decode(String.self, column: "escalated_to"))" }
            #expect(rows == ["ancient/department_head/head-civil", "ancient/supervisor/sup-1", "late/department_head/head-civil", "late/supervisor/sup-1"])

            let toSupervisor = try await f.notifications().filter { $0.recipients.first?.email == "sup@hall.example" }
            #expect(toSupervisor.map(\.key).sorted() == [
                "routing/ancient/escalation/supervisor/2026-11-04", "routing/late/escalation/supervisor/2026-11-25",
            ])
            for send in toSupervisor {
                #expect(send.template == .staffEscalation && send.urgency == .urgent)
                #expect(Set(send.variables.keys) == Set(send.template.requiredVariables))
            }
            let events = try await f.progress(of: "late")
            #expect(events.map(\.event) == [.routed, .overdue, .escalated, .escalated])
            #expect(events.last?.note == "escalated to the supervisor sup-1")
        }
    }

    @Test func withoutASupervisorMarginOnlyTheHeadIsCalled() async throws {
        try await RoutingFixture.run(supervisorMargin: nil) { f in
            try await f.createDepartments()
            try await f.addHandler("c-1", department: "civil")
            try await f.dispatch("ancient", limit: 2, acceptedAt: "2026-11-02T02:00:00Z")
            let monitor = SLAMonitor(database: f.database, settings: f.settings, logger: quietLogger)
            #expect(try await monitor.scan(now: isoDate("2026-11-30T02:00:00Z")) == SLAScanReport(warned: 0, escalated: 1))
            #expect(try await f.count("routing_escalations") == 1)
        }
    }

    @Test func theStateTableAllowsOnlyTheDocumentedTransitions() async throws {
        // Checked through the service: each (state, action) pair outside the table is refused.
        try await RoutingFixture.run { f in
            try await f.createDepartments()
            try await f.addHandler("c-1", department: "civil")
            try await f.dispatch("s")
            #expect(await f.failure(RoutingExtend.self, .init(caseId: "s", reason: "r", newDueDate: "2026-12-31"), as: Staff.person("c-1")) == .invalidState)
            _ = try await f.call(RoutingAccept.self, .init(caseId: "s"), as: Staff.person("c-1"))
            _ = try await f.call(RoutingRequestInfo.self, .init(caseId: "s", question: "?"), as: Staff.person("c-1"))
            #expect(await f.failure(RoutingRequestInfo.self, .init(caseId: "s", question: "?"), as: Staff.person("c-1")) == .conflict)
            #expect(await f.failure(RoutingComplete.self, .init(caseId: "s", result: "r"), as: Staff.person("c-1")) == .invalidState)
            #expect(await f.failure(RoutingTransfer.self, .init(caseId: "s", toDepartment: "permits", reason: "r"), as: Staff.person("c-1")) == .invalidState)
        }
    }
}
