import Contracts
import LineProtocol
import Postgres
import RoutingService
import ServiceKit
import Testing

@Suite("Dispatch: department by rule, least-loaded qualified handler, one assignment per case")
struct DispatchTests {
    @Test func dispatchPicksTheRuleDepartmentAndTheLeastLoadedQualifiedHandlerInTurn() async throws {
        try await RoutingFixture.run { f in
            try await f.createDepartments()
            // The catalog says civil; the rule sends marriage cases to permits.
            _ = try await f.call(RoutingSetRule.self, .init(serviceType: "marriage", department: "permits"))
            try await f.addHandler("p-small", department: "permits", capacity: 2)
            try await f.addHandler("p-large", department: "permits", capacity: 4)
            try await f.addHandler("p-unskilled", department: "permits", skills: ["housing"], capacity: 100)
            try await f.addHandler("p-inactive", department: "permits", capacity: 100, active: false)
            try await f.addHandler("c-1", department: "civil", capacity: 100)

            var picks: [String] = []
            for n in 1...6 {
                let result = try await f.dispatch("case-\(n)")
                #expect(result.department == "permits")
                picks.append(try #require(result.handler?.id))
            }
            // Open cases / capacity: 0 = 0 (a tie, neither has had a turn: id order) → p-large; then
            // p-small (0 < 0.25); p-large (0.25 < 0.5); a tie at 0.5 → p-small, who waited longer;
            // p-large (0.5 < 1); p-large (0.75 < 1). Unskilled and inactive handlers get nothing.
            #expect(picks == ["p-large", "p-small", "p-large", "p-small", "p-large", "p-large"])

            let organisation = try await f.call(RoutingListOrganisation.self, RPCEmpty())
            let load = Dictionary(uniqueKeysWithValues: organisation.handlers.map { ($0.id, $0.openCases ?? -1) })
            #expect(load["p-large"] == 4 && load["p-small"] == 2 && load["p-unskilled"] == 0 && load["p-inactive"] == 0)

            // The slip says who handed it over, to whom and why.
            let assignment = try await f.call(RoutingGetAssignment.self, .init(caseId: "case-1"))
            let slip = try #require(assignment.slips?.first)
            #expect(assignment.slips?.count == 1)
            #expect(slip.kind == .dispatch && slip.fromHandler == "reviewer-1" && slip.toDepartment == "permits" && slip.toHandler == "p-large")
            #expect(slip.reason.contains("complete"))
        }
    }

    @Test func aPriorityRuleOverridesTheGeneralRuleAndTheCatalogIsTheFallback() async throws {
        try await RoutingFixture.run { f in
            try await f.createDepartments()
            try await f.addHandler("p-1", department: "permits")
            try await f.addHandler("c-1", department: "civil", skills: ["marriage", "housing"])
            _ = try await f.call(RoutingSetRule.self, .init(serviceType: "marriage", department: "permits"))
            _ = try await f.call(RoutingSetRule.self, .init(serviceType: "marriage", priority: .urgent, department: "civil"))

            #expect(try await f.dispatch("regular").department == "permits")
            #expect(try await f.dispatch("urgent", priority: .urgent).department == "civil")
            // No rule for housing: the catalog department from the params.
            let housing = try await f.dispatch("housing", serviceType: "housing", department: "civil")
            #expect(housing.department == "civil" && housing.handler?.id == "c-1")
        }
    }

    @Test func aRedeliveredDispatchMakesOneAssignmentAndOneSetOfMessages() async throws {
        try await RoutingFixture.run { f in
            try await f.createDepartments()
            try await f.addHandler("c-1", department: "civil")
            try await f.addHandler("c-2", department: "civil")
            let first = try await f.dispatch("case-r", messageId: "msg-1")
            let again = try await f.dispatch("case-r", messageId: "msg-1")
            // A second message for the same case (review retried with a new id) changes nothing either.
            let other = try await f.dispatch("case-r", messageId: "msg-2")
            #expect(first.assignmentId == again.assignmentId && first.assignmentId == other.assignmentId)
            #expect(first.handler?.id == other.handler?.id && first.dueDate == other.dueDate)
            #expect(try await f.count("routing_assignments") == 1)
            #expect(try await f.count("routing_slips") == 1)
            let progress = try await f.progress(of: "case-r")
            #expect(progress.map(\.event) == [.routed])
            #expect(progress.first?.department == "civil" && progress.first?.handler?.id == first.handler?.id)
            #expect(progress.first?.dueDate == first.dueDate && progress.first?.departmentName == "民政科")
            let organisation = try await f.call(RoutingListOrganisation.self, RPCEmpty())
            #expect(organisation.handlers.map { $0.openCases ?? 0 }.reduce(0, +) == 1)

            // The handler is told, with every variable the template needs.
            let sends = try await f.notifications()
            #expect(sends.count == 1)
            let send = try #require(sends.first)
            #expect(send.template == .staffAssignment)
            #expect(Set(send.variables.keys) == Set(NotificationTemplate.staffAssignment.requiredVariables))
            #expect(send.recipients.first?.email == "\(first.handler!.id)@hall.example")
            let slip = try #require(try await f.call(RoutingGetAssignment.self, .init(caseId: "case-r")).slips?.first)
            #expect(send.key == "routing/case-r/assignment/\(slip.slipId)")
            #expect(send.variables["dueDate"] == first.dueDate && send.variables["reference"] == "SQ-case-r")
        }
    }

    @Test func messagesForOneCaseArrivingTogetherMakeOneAssignment() async throws {
        try await RoutingFixture.run { f in
            try await f.createDepartments()
            for n in 1...3 { try await f.addHandler("c-\(n)", department: "civil") }
            // Eight different messages for the same case at once (review retried under new ids).
            let answers = try await withThrowingTaskGroup(of: RoutingDispatch.Result.self) { group in
                for n in 0..<8 { group.addTask { try await f.dispatch("case-together", messageId: "together-\(n)") } }
                var answers: [RoutingDispatch.Result] = []
                for try await answer in group { answers.append(answer) }
                return answers
            }
            #expect(Set(answers.map(\.assignmentId)).count == 1)
            #expect(Set(answers.compactMap(\.handler?.id)).count == 1)
            #expect(try await f.count("routing_assignments") == 1)
            #expect(try await f.count("routing_slips") == 1)
            #expect(try await f.progress(of: "case-together").count == 1)
            #expect(try await f.notifications().count == 1)
            let organisation = try await f.call(RoutingListOrganisation.self, RPCEmpty())
            #expect(organisation.handlers.map { $0.openCases ?? 0 }.reduce(0, +) == 1)
        }
    }

    @Test func theDueDateSkipsWeekendsAndHolidaysAndCountsMakeUpDays() async throws {
        try await RoutingFixture.run { f in
            try await f.createDepartments()
            try await f.addHandler("c-1", department: "civil")
            // Accepted Wed 2026-09-30 (Shanghai); 1–7 Oct are holidays, Sat 10 Oct is a make-up working day.
            let regular = try await f.dispatch("national-day", limit: 3, acceptedAt: "2026-09-30T02:00:00Z")
            #expect(regular.dueDate == "2026-10-10")
            // Urgent: half the limit (rounded up): 3 → 2.
            let urgent = try await f.dispatch("national-day-urgent", priority: .urgent, limit: 3, acceptedAt: "2026-09-30T02:00:00Z")
            #expect(urgent.dueDate == "2026-10-09")
            // Accepted late Thursday evening UTC = Friday in Shanghai: one working day later is Monday.
            let weekend = try await f.dispatch("weekend", limit: 1, acceptedAt: "2026-11-19T17:00:00Z")
            #expect(weekend.dueDate == "2026-11-23")
            // Crossing the year end: Thu 31 Dec 2026 + 1 → 1 Jan is a holiday → Mon 4 Jan 2027.
            let yearEnd = try await f.dispatch("year-end", limit: 1, acceptedAt: "2026-12-31T02:00:00Z")
            #expect(yearEnd.dueDate == "2027-01-04")
        }
    }
}
