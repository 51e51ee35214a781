import Contracts
import LineProtocol
import Postgres
import ServiceKit

/// The handler's own list (`routing.myCases`) and the overdue list (`routing.overdue`), both
/// paged by keyset on (due date, id) so a page costs the same however deep it is.
extension RoutingProcessor {
    /// The most rows one page returns: a console page, not an export.
    static let maxPageSize = 1_000
    static let defaultPageSize = 100

    func myCases(_ p: RoutingMyCases.Params, context: RPCContext) async throws -> RoutingMyCases.Result {
        guard let actor = context.meta.actor else {
            throw RPCError.forbidden("routing.myCases lists the calling handler's cases: send _meta.actor", zh: "routing.myCases 列出调用者本人经办的办件：请提供 _meta.actor")
        }
        let limit = try Self.pageSize(p.limit)
        let cursor = try p.cursor.map { token throws(RPCError) in try ListCursor(token: token) }
        let open: [RoutingAssignmentState] = [.assigned, .inProgress, .infoRequested]
        let states = p.states ?? open
        guard !states.isEmpty, states.allSatisfy(open.contains) else {
            throw RPCError.invalidParams("states must list open states (assigned, in_progress, info_requested); completed cases are not in this list", zh: "states 只能列出在办状态（assigned、in_progress、info_requested）；已办结的办件不在此列表中")
        }
        return try await database.withConnection { c in
            // One row more than asked tells whether another page follows.
            let rows = try await RoutingStore.handlerCases(handler: actor.id, states: states, after: cursor, limit: limit + 1, on: c)
            let page = Array(rows.prefix(limit))
            let name = try await RoutingStore.handler(actor.id, on: c)?.name
            return RoutingAssignmentPage(
                items: page.map { $0.view(handlerName: name) },
                nextCursor: rows.count > limit ? page.last.map { ListCursor(after: $0).token } : nil
            )
        }
    }

    func overdue(_ p: RoutingOverdue.Params, context: RPCContext) async throws -> RoutingOverdue.Result {
        guard let actor = context.meta.actor else {
            throw RPCError.forbidden("routing.overdue acts for a member of staff: send _meta.actor", zh: "routing.overdue 须由工作人员调用：请提供 _meta.actor")
        }
        let limit = try Self.pageSize(p.limit)
        let cursor = try p.cursor.map { token throws(RPCError) in try ListCursor(token: token) }
        if let department = p.department { try Self.requireText(department, "department", max: 64) }
        let today = settings.today
        return try await database.withConnection { c in
            if let department = p.department, try await !RoutingStore.departmentKnown(department, on: c) {
                throw RPCError.notFound("department \(department) does not exist and holds no cases", zh: "部门 \(department) 不存在，也没有办件")
            }
            let department = try await overdueScope(requested: p.department, actor: actor, on: c)
            let rows = try await RoutingStore.overdueCases(department: department, today: today, after: cursor, limit: limit + 1, on: c)
            let page = Array(rows.prefix(limit))
            var names: [String: String] = [:]
            for id in Set(page.compactMap(\.handlerId)) { names[id] = try await RoutingStore.handler(id, on: c)?.name }
            return RoutingOverdue.Result(
                items: page.map { a in
                    let until = a.state == .infoRequested ? (a.pausedSince ?? today) : today
                    return RoutingOverdueCase(
                        assignment: a.view(handlerName: a.handlerId.flatMap { names[$0] }),
                        workingDaysOverdue: calendar.workingDays(from: a.dueDate, through: until)
                    )
                },
                nextCursor: rows.count > limit ? page.last.map { ListCursor(after: $0).token } : nil
            )
        }
    }

    /// Which department the overdue list may show: officers, supervisors and administrators any
    /// (nil = all); a head or a department-scoped actor only their own, which is also the
    /// default when they name none.
    private func overdueScope(requested: String?, actor: RPCActor, on c: PostgresConnection) async throws -> String? {
        let unrestricted: Set<String> = [RoutingRole.officer, RoutingRole.admin, StaffRole.supervisor.rawValue]
        if !unrestricted.isDisjoint(with: actor.roles) { return requested }
        var own = try await RoutingStore.departmentsHeaded(by: actor.id, on: c)
        if let department = actor.department, !own.contains(department) { own.append(department) }
        guard !own.isEmpty else {
            throw RPCError.forbidden("\(actor.id) may not list overdue cases: only routing officers, supervisors, administrators, department heads and staff of a department may", zh: "\(actor.id) 无权查看超期办件：只有分办员、主管、管理员、部门负责人和部门工作人员可以查看")
        }
        if let requested {
            guard own.contains(requested) else {
                throw RPCError.forbidden("\(actor.id) may list overdue cases of \(own.joined(separator: ", ")) only, not of \(requested)", zh: "\(actor.id) 只能查看 \(own.joined(separator: ", ")) 的超期办件，不能查看 \(requested) 的")
            }
            return requested
        }
        guard own.count == 1 else {
            throw RPCError.invalidParams("\(actor.id) heads several departments (\(own.joined(separator: ", "))); name one in department", zh: "\(actor.id) 负责多个部门（\(own.joined(separator: ", "))）；请在 department 中指定一个")
        }
        return own[0]
    }

    static func pageSize(_ limit: Int?) throws(RPCError) -> Int {
        let limit = limit ?? defaultPageSize
        guard (1...maxPageSize).contains(limit) else {
            throw RPCError.invalidParams("limit must be 1...\(maxPageSize), not \(limit)", zh: "limit 须为 1...\(maxPageSize)，而不是 \(limit)")
        }
        return limit
    }
}

extension RoutingService {
    /// The department queue's urgency order, as SQL (the benchmark finds a deep page with it).
    public static var departmentQueueUrgencyOrder: String { RoutingStore.urgencyOrder }

    /// The first-page SQL of `routing.myCases`, `routing.overdue` (all departments and one) and
    /// `routing.listDepartmentQueue`, for EXPLAIN in the benchmark.
    public static func listQueriesForExplain(today: LocalDate, handler: String, department: String) -> [(String, SQL)] {
        let open: [RoutingAssignmentState] = [.assigned, .inProgress, .infoRequested]
        let page = RoutingProcessor.defaultPageSize + 1
        return [
            ("routing.myCases", RoutingStore.handlerCasesQuery(handler: handler, states: open, after: nil, limit: page)),
            ("routing.overdue", RoutingStore.overdueCasesQuery(department: nil, today: today, after: nil, limit: page)),
            ("routing.overdue (\(department))", RoutingStore.overdueCasesQuery(department: department, today: today, after: nil, limit: page)),
            ("routing.listDepartmentQueue (\(department))", RoutingStore.queueQuery(department: department, states: open, handler: nil, after: nil, limit: page)),
        ]
    }
}
