import Contracts
import LineProtocol
import RoutingService
import Testing

@Suite("routing.myCases and routing.overdue: keyset pages, scopes and bad input")
struct ListTests {
    @Test func myCasesPagesTheCallersOpenCasesByDueDate() async throws {
        try await RoutingFixture.run { f in
            try await f.createDepartments()
            try await f.addHandler("c-1", department: "civil", capacity: 100)
            // Limits 5, 4, 3, 2, 1 days: due dates in reverse order of dispatch.
            for (n, limit) in [5, 4, 3, 2, 1].enumerated() { try await f.dispatch("m-\(n)", limit: limit) }
            try await f.dispatch("done", limit: 1)
            _ = try await f.call(RoutingAccept.self, .init(caseId: "done"), as: Staff.person("c-1"))
            _ = try await f.call(RoutingComplete.self, .init(caseId: "done", result: "ok"), as: Staff.person("c-1"))
            try await f.addHandler("c-2", department: "civil", capacity: 100)
            _ = try await f.call(RoutingUpsertHandler.self, .init(id: "c-1", name: "Name c-1", department: "civil", skills: ["marriage"], capacity: 100, email: "c-1@hall.example", active: false))
            try await f.dispatch("other", limit: 1)   // goes to c-2: c-1 is inactive now

            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let page = try await f.call(RoutingMyCases.self, .init(limit: 2, cursor: cursor), as: Staff.person("c-1"))
                seen += page.items.map(\.caseId)
                #expect(page.items.allSatisfy { $0.handler?.id == "c-1" && $0.handler?.name == "Name c-1" })
                cursor = page.nextCursor
                pages += 1
            } while cursor != nil && pages < 10
            #expect(seen == ["m-4", "m-3", "m-2", "m-1", "m-0"])
            #expect(pages == 3)
            #expect(try await f.call(RoutingMyCases.self, .init(), as: Staff.person("c-2")).items.map(\.caseId) == ["other"])
            _ = try await f.call(RoutingAccept.self, .init(caseId: "m-2"), as: Staff.person("c-1"))
            #expect(try await f.call(RoutingMyCases.self, .init(states: [.inProgress]), as: Staff.person("c-1")).items.map(\.caseId) == ["m-2"])
        }
    }

    @Test func myCasesRefusesBadInput() async throws {
        try await RoutingFixture.run { f in
            #expect(await f.failure(RoutingMyCases.self, .init(), as: RPCMeta()) == .forbidden)
            #expect(await f.failure(RoutingMyCases.self, .init(limit: 0), as: Staff.person("c-1")) == .invalidParams)
            #expect(await f.failure(RoutingMyCases.self, .init(limit: 1_001), as: Staff.person("c-1")) == .invalidParams)
            #expect(await f.failure(RoutingMyCases.self, .init(cursor: "not-a-cursor"), as: Staff.person("c-1")) == .invalidParams)
            #expect(await f.failure(RoutingMyCases.self, .init(cursor: "MXwyMDI2LTEzLTQ1fHg="), as: Staff.person("c-1")) == .invalidParams)
            #expect(await f.failure(RoutingMyCases.self, .init(states: [.completed]), as: Staff.person("c-1")) == .invalidParams)
            #expect(await f.failure(RoutingMyCases.self, .init(states: []), as: Staff.person("c-1")) == .invalidParams)
        }
    }

    @Test func overdueListsTheMostLateFirstAndPages() async throws {
        try await RoutingFixture.run(now: "2026-11-30T02:00:00Z") { f in
            try await f.createDepartments()
            try await f.addHandler("c-1", department: "civil", capacity: 100)
            try await f.addHandler("p-1", department: "permits", capacity: 100)
            // Due Tue 3, Wed 4, Thu 5, Fri 6 Nov (limit 1 from Mon 2 .. Thu 5), and one not due yet.
            for (n, day) in ["02", "03", "04", "05"].enumerated() {
                try await f.dispatch("o-\(n)", department: n.isMultiple(of: 2) ? "civil" : "permits", limit: 1, acceptedAt: "2026-11-\(day)T02:00:00Z")
            }
            try await f.dispatch("on-time", limit: 10)
            // Completed late: not open, not listed.
            try await f.dispatch("closed", limit: 1, acceptedAt: "2026-11-02T02:00:00Z")
            _ = try await f.call(RoutingAccept.self, .init(caseId: "closed"), as: Staff.person("c-1"))
            _ = try await f.call(RoutingComplete.self, .init(caseId: "closed", result: "ok"), as: Staff.person("c-1"))

            var all: [RoutingOverdueCase] = []
            var cursor: String?
            repeat {
                let page = try await f.call(RoutingOverdue.self, .init(limit: 3, cursor: cursor))
                all += page.items
                cursor = page.nextCursor
            } while cursor != nil && all.count < 20
            #expect(all.map(\.assignment.caseId) == ["o-0", "o-1", "o-2", "o-3"])
            // Due Tue 3 Nov, today Mon 30 Nov: 19 working days late.
            #expect(all.map(\.workingDaysOverdue) == [19, 18, 17, 16])
            #expect(try await f.call(RoutingOverdue.self, .init(department: "permits")).items.map(\.assignment.caseId) == ["o-1", "o-3"])

            // A head sees their own department by default, and only it.
            #expect(try await f.call(RoutingOverdue.self, .init(), as: Staff.person("head-civil")).items.map(\.assignment.caseId) == ["o-0", "o-2"])
            #expect(await f.failure(RoutingOverdue.self, .init(department: "permits"), as: Staff.person("head-civil")) == .forbidden)
            // So does staff the gateway scoped to a department; a supervisor sees all.
            let scoped = RPCMeta(actor: RPCActor(id: "p-1", roles: [StaffRole.handler.rawValue], department: "permits"))
            #expect(try await f.call(RoutingOverdue.self, .init(), as: scoped).items.map(\.assignment.caseId) == ["o-1", "o-3"])
            #expect(await f.failure(RoutingOverdue.self, .init(department: "civil"), as: scoped) == .forbidden)
            let supervisor = RPCMeta(actor: RPCActor(id: "sup", roles: [StaffRole.supervisor.rawValue]))
            #expect(try await f.call(RoutingOverdue.self, .init(), as: supervisor).items.count == 4)
        }
    }

    @Test func overdueRefusesBadInput() async throws {
        try await RoutingFixture.run { f in
            try await f.createDepartments()
            #expect(await f.failure(RoutingOverdue.self, .init(), as: RPCMeta()) == .forbidden)
            #expect(await f.failure(RoutingOverdue.self, .init(), as: Staff.person("nobody")) == .forbidden)
            #expect(await f.failure(RoutingOverdue.self, .init(department: "atlantis")) == .notFound)
            #expect(await f.failure(RoutingOverdue.self, .init(department: "")) == .invalidParams)
            #expect(await f.failure(RoutingOverdue.self, .init(limit: -1)) == .invalidParams)
            #expect(await f.failure(RoutingOverdue.self, .init(cursor: "%%%")) == .invalidParams)
        }
    }
}
