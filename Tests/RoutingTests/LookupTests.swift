import Contracts
import LineProtocol
import Postgres
import RoutingService
import ServiceKit
import Testing

@Suite("Lookups: who holds a case (routing.caseAssignment) and why it is due when it is (routing.explainDeadline)")
struct LookupTests {
    @Test func aServiceLearnsTheDepartmentHandlerAndDueDateOfACaseByTrackingNumberOrId() async throws {
        try await RoutingFixture.run { f in
            try await f.createDepartments()
            try await f.addHandler("c-1", department: "civil")
            try await f.dispatch("case-1", limit: 5)
            // Complaints asks as a service, without an actor.
            let service = RPCMeta()
            let byNumber = try await f.call(RoutingCaseAssignment.self, .init(trackingNumber: "SQ-case-1"), as: service)
            #expect(byNumber.caseId == "case-1" && byNumber.trackingNumber == "SQ-case-1")
            #expect(byNumber.department == "civil" && byNumber.departmentName == "民政科" && byNumber.departmentNameEn == "Civil Affairs")
            #expect(byNumber.handler?.id == "c-1" && byNumber.handler?.name == "Name c-1")
            #expect(byNumber.departmentHead?.id == "head-civil")
            #expect(byNumber.dueDate == "2026-11-30" && !byNumber.overdue && byNumber.status == .assigned)
            let byId = try await f.call(RoutingCaseAssignment.self, .init(caseId: "case-1"), as: Staff.person("anyone"))
            #expect(byId == byNumber)

            // On the due date it is not overdue; the next day it is.
            f.clock.set("2026-11-30T09:00:00Z")
            #expect(try await f.call(RoutingCaseAssignment.self, .init(caseId: "case-1"), as: service).overdue == false)
            f.clock.set("2026-12-01T02:00:00Z")
            #expect(try await f.call(RoutingCaseAssignment.self, .init(caseId: "case-1"), as: service).overdue)
        }
    }

    @Test func aCaseCompletedLateStaysOverdueAndOneCompletedInTimeDoesNot() async throws {
        try await RoutingFixture.run { f in
            try await f.createDepartments()
            try await f.addHandler("c-1", department: "civil", capacity: 10)
            try await f.dispatch("on-time", limit: 2)
            try await f.dispatch("late", limit: 2)
            for id in ["on-time", "late"] {
                _ = try await f.call(RoutingAccept.self, .init(caseId: id), as: Staff.person("c-1"))
            }
            _ = try await f.call(RoutingComplete.self, .init(caseId: "on-time", result: "done"), as: Staff.person("c-1"))
            f.clock.set("2026-11-27T02:00:00Z")
            _ = try await f.call(RoutingComplete.self, .init(caseId: "late", result: "done"), as: Staff.person("c-1"))
            f.clock.set("2026-12-10T02:00:00Z")
            let onTime = try await f.call(RoutingCaseAssignment.self, .init(trackingNumber: "SQ-on-time"), as: RPCMeta())
            let late = try await f.call(RoutingCaseAssignment.self, .init(trackingNumber: "SQ-late"), as: RPCMeta())
            #expect(onTime.status == .completed && !onTime.overdue)
            #expect(late.status == .completed && late.overdue)
        }
    }

    @Test func badLookupsGetClearErrorsAndChangeNothing() async throws {
        try await RoutingFixture.run { f in
            try await f.createDepartments()
            try await f.addHandler("c-1", department: "civil")
            try await f.dispatch("case-1")
            let audit = try await f.count("routing_audit")
            let outbox = try await f.outbox().count
            let bad: [(RoutingCaseLookup, RPCErrorKind)] = [
                (.init(), .invalidParams),
                (.init(trackingNumber: "SQ-case-1", caseId: "case-1"), .invalidParams),
                (.init(trackingNumber: "  "), .invalidParams),
                (.init(caseId: String(repeating: "x", count: 129)), .invalidParams),
                (.init(trackingNumber: "SQ-never-routed"), .notFound),
                (.init(caseId: "never-routed"), .notFound),
            ]
            for (params, kind) in bad {
                #expect(await f.failure(RoutingCaseAssignment.self, params, as: RPCMeta()) == kind)
                #expect(await f.failure(RoutingExplainDeadline.self, params) == kind)
            }
            #expect(try await f.count("routing_audit") == audit)
            #expect(try await f.outbox().count == outbox)
        }
    }

    @Test func theDeadlineIsExplainedFromTheStartThroughPausesAndExtensions() async throws {
        try await RoutingFixture.run { f in
            try await ProcessingTests.setUp(f)
            // Paused Mon 23 → Thu 26 Nov: 3 working days; due Mon 30 Nov → Thu 3 Dec.
            _ = try await f.call(RoutingRequestInfo.self, .init(caseId: "case-1", reasonType: .customerInfo, question: "Birth certificate?"), as: Staff.person("c-1"))
            f.clock.set("2026-11-26T03:00:00Z")
            _ = try await f.call(RoutingProvideInfo.self, .init(caseId: "case-1"), as: Staff.person("c-1"))
            // Extended by 2 working days (Fri 4, Mon 7 Dec), approved by the head.
            _ = try await f.call(RoutingExtend.self, .init(caseId: "case-1", reason: "expert opinion", newDueDate: "2026-12-07"), as: Staff.person("c-1"))
            _ = try await f.call(RoutingApproveExtension.self, .init(caseId: "case-1"), as: Staff.person("head-civil"))
            // A second pause still running is shown but moves nothing yet.
            _ = try await f.call(RoutingRequestInfo.self, .init(caseId: "case-1", reasonType: .siteInspection, question: "Visit the site"), as: Staff.person("c-1"))

            let explained = try await f.call(RoutingExplainDeadline.self, .init(trackingNumber: "SQ-case-1"))
            #expect(explained.startedOn == "2026-11-23" && explained.dueDate == "2026-12-07")
            #expect(explained.timeLimitWorkingDays == 5 && explained.pausedWorkingDays == 3 && explained.extendedWorkingDays == 2)
            #expect(explained.steps.map(\.kind) == [.start, .timeLimit, .pause, .extension, .openPause])
            #expect(explained.steps.map(\.dueDateAfter) == ["2026-11-23", "2026-11-30", "2026-12-03", "2026-12-07", "2026-12-07"])
            #expect(explained.steps.map(\.workingDays) == [0, 5, 3, 2, 0])
            #expect(explained.steps[2].reason == "customer_info" && explained.steps[2].from == "2026-11-23" && explained.steps[2].until == "2026-11-26")
            #expect(explained.steps[3].reason == "expert opinion" && explained.steps[3].by == "head-civil")
            #expect(explained.steps[4].reason == "site_inspection")
            #expect(explained.nonWorkingDays == ["2026-11-28", "2026-11-29", "2026-12-05", "2026-12-06"])
            #expect(explained.makeUpWorkingDays.isEmpty)
            #expect(explained.steps.last?.dueDateAfter == explained.dueDate)
        }
    }

    @Test func aHolidayBlockIsSkippedAndAMakeUpSaturdayCounts() async throws {
        try await RoutingFixture.run(now: "2026-09-30T02:00:00Z") { f in
            try await f.createDepartments()
            try await f.addHandler("c-1", department: "civil")
            // Accepted Wed 30 Sep with 3 working days: Thu 8, Fri 9 and the make-up Sat 10 Oct.
            #expect(try await f.dispatch("golden-week", limit: 3).dueDate == "2026-10-10")
            let explained = try await f.call(RoutingExplainDeadline.self, .init(caseId: "golden-week"))
            #expect(explained.steps.map(\.kind) == [.start, .timeLimit])
            #expect(explained.nonWorkingDays == (1...7).map { "2026-10-0\($0)" })
            #expect(explained.makeUpWorkingDays == ["2026-10-10"])
        }
    }
}
