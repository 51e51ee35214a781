import Contracts
import LineProtocol
import Postgres
import RoutingService
import ServiceKit
import Testing

@Suite("Processing: the clock, extensions, permissions, state checks and hand-overs")
struct ProcessingTests {
    /// Civil with one handler `c-1`; case `case-1` accepted Mon 2026-11-23 with 5 working days (due Mon 30 Nov).
    static func setUp(_ f: RoutingFixture, accept: Bool = true) async throws {
        try await f.createDepartments()
        try await f.addHandler("c-1", department: "civil")
        let dispatched = try await f.dispatch("case-1", limit: 5)
        #expect(dispatched.dueDate == "2026-11-30" && dispatched.handler?.id == "c-1")
        if accept {
            _ = try await f.call(RoutingAccept.self, .init(caseId: "case-1"), as: Staff.person("c-1"))
        }
    }

    @Test func pausingForInformationMovesTheDueDateByThePausedWorkingDays() async throws {
        try await RoutingFixture.run { f in
            try await Self.setUp(f)
            let paused = try await f.call(RoutingRequestInfo.self, .init(caseId: "case-1", reasonType: .customerInfo, question: "Birth certificate?"), as: Staff.person("c-1"))
            #expect(paused.state == .infoRequested)
            // Mon → Thu: Tue, Wed, Thu = 3 working days paused.
            f.clock.set("2026-11-26T03:00:00Z")
            let resumed = try await f.call(RoutingProvideInfo.self, .init(caseId: "case-1"), as: Staff.person("c-1"))
            #expect(resumed.state == .inProgress && resumed.pausedWorkingDays == 3 && resumed.dueDate == "2026-12-03")

            // A pause that starts and ends on the same day moves nothing.
            _ = try await f.call(RoutingRequestInfo.self, .init(caseId: "case-1", reasonType: .siteInspection, question: "Visit"), as: Staff.person("c-1"))
            f.clock.set("2026-11-26T08:00:00Z")
            let sameDay = try await f.call(RoutingProvideInfo.self, .init(caseId: "case-1"), as: Staff.person("c-1"))
            #expect(sameDay.dueDate == "2026-12-03" && sameDay.pausedWorkingDays == 3)

            let full = try await f.call(RoutingGetAssignment.self, .init(caseId: "case-1"))
            #expect(full.pauses?.map(\.reasonType) == [.customerInfo, .siteInspection])
            #expect(full.pauses?.map(\.workingDays) == [3, 0])

            let events = try await f.progress(of: "case-1")
            #expect(events.map(\.event) == [.routed, .processingAccepted, .infoRequested, .infoReceived, .infoRequested, .infoReceived])
            #expect(events[2].items == ["Birth certificate?"] && events[2].reasons == ["customer_info"])
            #expect(events[3].dueDate == "2026-12-03")
        }
    }

    @Test func anExtensionNeedsTheHeadsApprovalAndIsBounded() async throws {
        try await RoutingFixture.run(maxExtensionDays: 5) { f in
            try await Self.setUp(f)
            // Mon 30 Nov → Tue 8 Dec = 6 working days: more than the 5 allowed.
            #expect(await f.failure(RoutingExtend.self, .init(caseId: "case-1", reason: "expert opinion", newDueDate: "2026-12-08"), as: Staff.person("c-1")) == .invalidParams)
            // Not a working day / not later.
            #expect(await f.failure(RoutingExtend.self, .init(caseId: "case-1", reason: "x", newDueDate: "2026-12-05"), as: Staff.person("c-1")) == .invalidParams)
            #expect(await f.failure(RoutingExtend.self, .init(caseId: "case-1", reason: "x", newDueDate: "2026-11-27"), as: Staff.person("c-1")) == .invalidParams)
            #expect(try await f.count("routing_extensions") == 0)

            let request = try await f.call(RoutingExtend.self, .init(caseId: "case-1", reason: "expert opinion", newDueDate: "2026-12-03"), as: Staff.person("c-1"))
            #expect(request.status == .pending && request.workingDays == 3)
            #expect(await f.failure(RoutingExtend.self, .init(caseId: "case-1", reason: "again", newDueDate: "2026-12-02"), as: Staff.person("c-1")) == .conflict)
            // The handler and a routing officer cannot approve; the head of another department neither.
            #expect(await f.failure(RoutingApproveExtension.self, .init(caseId: "case-1"), as: Staff.person("c-1")) == .forbidden)
            #expect(await f.failure(RoutingApproveExtension.self, .init(caseId: "case-1"), as: Staff.officer) == .forbidden)
            #expect(await f.failure(RoutingApproveExtension.self, .init(caseId: "case-1"), as: Staff.person("head-permits")) == .forbidden)
            #expect(try await f.call(RoutingGetAssignment.self, .init(caseId: "case-1")).dueDate == "2026-11-30")

            let approved = try await f.call(RoutingApproveExtension.self, .init(caseId: "case-1", note: "ok"), as: Staff.person("head-civil"))
            #expect(approved.dueDate == "2026-12-03" && approved.extendedWorkingDays == 3)
            let extended = try #require(try await f.progress(of: "case-1").last)
            #expect(extended.event == .extended && extended.dueDate == "2026-12-03" && extended.reasons == ["expert opinion"])

            // 2 of 5 left: asking for 3 more is refused.
            #expect(await f.failure(RoutingExtend.self, .init(caseId: "case-1", reason: "more", newDueDate: "2026-12-08"), as: Staff.person("c-1")) == .invalidParams)
            _ = try await f.call(RoutingExtend.self, .init(caseId: "case-1", reason: "more", newDueDate: "2026-12-07"), as: Staff.person("c-1"))
            let rejected = try await f.call(RoutingApproveExtension.self, .init(caseId: "case-1", approve: false), as: Staff.person("head-civil"))
            #expect(rejected.dueDate == "2026-12-03")
            let all = try #require(try await f.call(RoutingGetAssignment.self, .init(caseId: "case-1")).extensions)
            #expect(all.map(\.status) == [.approved, .rejected])
        }
    }

    @Test func wrongStatesAndOtherPeoplesCasesGetClearErrorsAndChangeNothing() async throws {
        try await RoutingFixture.run { f in
            try await Self.setUp(f, accept: false)
            try await f.addHandler("c-2", department: "civil")
            let auditBefore = try await f.count("routing_audit")
            let outboxBefore = try await f.count("messaging_outbox")

            #expect(await f.failure(RoutingComplete.self, .init(caseId: "case-1", result: "done"), as: Staff.person("c-1")) == .invalidState)
            #expect(await f.failure(RoutingRequestInfo.self, .init(caseId: "case-1", question: "?"), as: Staff.person("c-1")) == .invalidState)
            #expect(await f.failure(RoutingReopen.self, .init(caseId: "case-1", reason: "objection"), as: Staff.officer) == .invalidState)
            #expect(await f.failure(RoutingProvideInfo.self, .init(caseId: "case-1"), as: Staff.person("c-1")) == .invalidState)
            // Someone else's case, a head of another department, no actor at all.
            #expect(await f.failure(RoutingAccept.self, .init(caseId: "case-1"), as: Staff.person("c-2")) == .forbidden)
            #expect(await f.failure(RoutingAccept.self, .init(caseId: "case-1"), as: Staff.person("head-permits")) == .forbidden)
            #expect(await f.failure(RoutingAccept.self, .init(caseId: "case-1"), as: RPCMeta()) == .forbidden)
            #expect(await f.failure(RoutingReassign.self, .init(caseId: "case-1", reason: "r", toHandler: "c-2"), as: Staff.person("c-1")) == .forbidden)
            // Unknown case, unknown department, bad input.
            #expect(await f.failure(RoutingAccept.self, .init(caseId: "nope"), as: Staff.person("c-1")) == .notFound)
            #expect(await f.failure(RoutingTransfer.self, .init(caseId: "case-1", toDepartment: "atlantis", reason: "r"), as: Staff.person("c-1")) == .notFound)
            #expect(await f.failure(RoutingTransfer.self, .init(caseId: "case-1", toDepartment: "permits", reason: " "), as: Staff.person("c-1")) == .invalidParams)
            #expect(await f.failure(RoutingUpsertHandler.self, .init(id: "x", name: "x", department: "atlantis", skills: ["a"], capacity: 1)) == .notFound)
            #expect(await f.failure(RoutingUpsertHandler.self, .init(id: "x", name: "x", department: "civil", skills: ["a"], capacity: 0)) == .invalidParams)
            #expect(await f.failure(RoutingUpsertDepartment.self, .init(code: "x", nameZh: "x", nameEn: "x"), as: Staff.person("c-1")) == .forbidden)

            let a = try await f.call(RoutingGetAssignment.self, .init(caseId: "case-1"))
            #expect(a.state == .assigned && a.handler?.id == "c-1" && a.department == "civil" && a.slips?.count == 1)
            #expect(try await f.count("routing_audit") == auditBefore)
            #expect(try await f.count("messaging_outbox") == outboxBefore)

            // The right person in the right order works; a second accept is a conflict.
            _ = try await f.call(RoutingAccept.self, .init(caseId: "case-1"), as: Staff.person("c-1"))
            #expect(await f.failure(RoutingAccept.self, .init(caseId: "case-1"), as: Staff.person("c-1")) == .conflict)
            let pickup = Pickup(time: "2026-11-25 09:00-17:00", place: "Window 3", way: "in person")
            let done = try await f.call(RoutingComplete.self, .init(caseId: "case-1", result: "certificate issued", pickup: pickup), as: Staff.person("head-civil"))
            #expect(done.state == .completed && done.pickup == pickup)
            let completed = try #require(try await f.progress(of: "case-1").last)
            #expect(completed.event == .completed && completed.result == "certificate issued" && completed.pickup == pickup)
            #expect(await f.failure(RoutingTransfer.self, .init(caseId: "case-1", toDepartment: "permits", reason: "r"), as: Staff.officer) == .invalidState)

            // Reopened after an upheld objection: in progress again, limit from today, a reopen slip.
            let reopened = try await f.call(RoutingReopen.self, .init(caseId: "case-1", reason: "objection upheld"), as: Staff.officer)
            #expect(reopened.outcome == .reopened)
            #expect(reopened.assignment?.state == .inProgress && reopened.assignment?.dueDate == "2026-11-30" && reopened.assignment?.result == nil)
            #expect(try await f.progress(of: "case-1").last?.event == .reopened)

            // Complaints asks for a re-check through its outbox: a delivery repeated after a lost
            // answer gets the first answer and changes nothing more.
            _ = try await f.call(RoutingComplete.self, .init(caseId: "case-1", result: "certificate issued again"), as: Staff.person("head-civil"))
            let fromComplaints = RPCMeta(messageId: "complaints-recheck-1")
            let first = try await f.call(RoutingReopen.self, .init(caseId: "case-1", reason: "complaint upheld"), as: fromComplaints)
            let progressAfterFirst = try await f.progress(of: "case-1").count
            let repeated = try await f.call(RoutingReopen.self, .init(caseId: "case-1", reason: "complaint upheld"), as: fromComplaints)
            #expect(first.outcome == .reopened && first.assignment?.state == .inProgress && repeated == first)
            #expect(try await f.progress(of: "case-1").count == progressAfterFirst, "no second reopened notice")
        }
    }

    @Test func twoConcurrentCompletesOneWinsTheOtherGetsAConflict() async throws {
        try await RoutingFixture.run { f in
            try await Self.setUp(f)
            async let first = f.failure(RoutingComplete.self, .init(caseId: "case-1", result: "one"), as: Staff.person("c-1"))
            async let second = f.failure(RoutingComplete.self, .init(caseId: "case-1", result: "two"), as: Staff.person("head-civil"))
            let outcomes = [await first, await second]
            #expect(outcomes.filter { $0 == nil }.count == 1)
            #expect(outcomes.contains(.conflict))
            #expect(try await f.progress(of: "case-1").filter { $0.event == .completed }.count == 1)
            let organisation = try await f.call(RoutingListOrganisation.self, RPCEmpty())
            #expect(organisation.handlers.first { $0.id == "c-1" }?.openCases == 0)
        }
    }

    @Test func transfersAndReassignmentsWriteSlipsAndMoveTheLoad() async throws {
        try await RoutingFixture.run { f in
            try await Self.setUp(f)
            try await f.addHandler("p-1", department: "permits")
            try await f.addHandler("p-2", department: "permits")
            let moved = try await f.call(RoutingTransfer.self, .init(caseId: "case-1", toDepartment: "permits", reason: "needs a permit decision"), as: Staff.person("c-1"))
            #expect(moved.department == "permits" && moved.handler?.id == "p-1" && moved.state == .assigned)
            // The old handler may no longer act; the new one must accept.
            #expect(await f.failure(RoutingAccept.self, .init(caseId: "case-1"), as: Staff.person("c-1")) == .forbidden)
            let again = try await f.call(RoutingReassign.self, .init(caseId: "case-1", reason: "p-1 on leave"), as: Staff.person("head-permits"))
            #expect(again.handler?.id == "p-2" && again.department == "permits")

            let slips = try #require(try await f.call(RoutingGetAssignment.self, .init(caseId: "case-1")).slips)
            #expect(slips.map(\.kind) == [.dispatch, .transfer, .reassign])
            #expect(slips[1].fromDepartment == "civil" && slips[1].fromHandler == "c-1" && slips[1].toDepartment == "permits")
            #expect(slips[1].toHandler == "p-1" && slips[1].reason == "needs a permit decision" && slips[1].by == "c-1")
            #expect(slips[2].fromHandler == "p-1" && slips[2].toHandler == "p-2" && slips[2].by == "head-permits")

            let load = Dictionary(uniqueKeysWithValues: try await f.call(RoutingListOrganisation.self, RPCEmpty()).handlers.map { ($0.id, $0.openCases ?? -1) })
            #expect(load == ["c-1": 0, "p-1": 0, "p-2": 1])

            let transferred = try await f.progress(of: "case-1").filter { $0.event == .transferred }
            #expect(transferred.count == 2)
            #expect(transferred[0].department == "permits" && transferred[0].departmentName == "审批科" && transferred[0].reasons == ["needs a permit decision"])
            #expect(transferred[1].handler?.id == "p-2")
            let assignmentKeys = try await f.notifications().filter { $0.template == .staffAssignment }.map(\.key)
            #expect(assignmentKeys == slips.map { "routing/case-1/assignment/\($0.slipId)" })

            let queue = try await f.call(RoutingListDepartmentQueue.self, .init(department: "permits"))
            #expect(queue.items.map(\.caseId) == ["case-1"])
            #expect(try await f.call(RoutingListDepartmentQueue.self, .init(department: "civil")).items.isEmpty)
        }
    }

    @Test func aDepartmentQueueIsPagedMostUrgentFirstAndEveryCaseOnce() async throws {
        try await RoutingFixture.run { f in
            try await f.createDepartments()
            try await f.addHandler("c-1", department: "civil")
            // Regular cases with different limits (due dates), two urgent, one special.
            for (n, limit) in [7, 3, 9, 3, 5].enumerated() { try await f.dispatch("regular-\(n)", limit: limit) }
            try await f.dispatch("urgent-a", priority: .urgent, limit: 8)
            try await f.dispatch("urgent-b", priority: .urgent, limit: 2)
            try await f.dispatch("special", priority: .special, limit: 1)

            var seen: [RoutingAssignment] = []
            var cursor: String?
            var pages = 0
            repeat {
                let page = try await f.call(RoutingListDepartmentQueue.self, .init(department: "civil", limit: 3, cursor: cursor))
                #expect(page.items.count <= 3)
                seen += page.items
                cursor = page.nextCursor
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 3)
            #expect(seen.count == 8 && Set(seen.map(\.caseId)).count == 8)
            #expect(Array(seen.map(\.caseId).prefix(3)) == ["urgent-b", "urgent-a", "special"])
            let regularDue = seen.dropFirst(3).map(\.dueDate)
            #expect(regularDue == regularDue.sorted())

            // A cursor it never gave is refused and says what to do.
            await #expect(throws: RPCError.self) {
                _ = try await f.call(RoutingListDepartmentQueue.self, .init(department: "civil", cursor: "not-a-cursor"))
            }
        }
    }
}
