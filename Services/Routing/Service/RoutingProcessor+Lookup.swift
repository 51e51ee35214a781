import Contracts
import LineProtocol
import Postgres
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Read-only lookups of one case by tracking number or case id: who is responsible for it
/// (`routing.caseAssignment`, asked by complaints) and how its due date came about
/// (`routing.explainDeadline`).
extension RoutingProcessor {
    // MARK: routing.caseAssignment

    func caseAssignment(_ p: RoutingCaseLookup, context: RPCContext) async throws -> RoutingCaseAssignment.Result {
        let key = try Self.lookupKey(p)
        return try await database.withConnection { c in
            let a = try await Self.find(key, on: c)
            let department = try await RoutingStore.department(a.department, on: c)
            let handlerName = try await a.handlerId.asyncMap { try await RoutingStore.handler($0, on: c)?.name } ?? nil
            return RoutingCaseAssignment.Result(
                caseId: a.caseId, trackingNumber: a.trackingNumber, department: a.department,
                departmentName: department?.nameZh ?? a.department, departmentNameEn: department?.nameEn,
                handler: a.handlerId.map { StaffRef(id: $0, name: handlerName, role: "handler") },
                dueDate: a.dueDate.description, overdue: isOverdue(a), status: a.state,
                departmentHead: department?.head.map { StaffRef(id: $0.id, name: $0.name, role: "department_head") },
                serviceType: a.serviceType
            )
        }
    }

    /// Past the due date: a running case after its due date, a case paused after its due date
    /// had passed (the pause only moves the date further by the days paused), or a case
    /// completed after its due date.
    func isOverdue(_ a: AssignmentRecord) -> Bool {
        switch a.state {
        case .assigned, .inProgress:
            return settings.today > a.dueDate
        case .infoRequested:
            return (a.pausedSince ?? settings.today) > a.dueDate
        case .completed:
            guard let completedAt = a.completedAt else { return false }
            return calendar.today(at: completedAt) > a.dueDate
        }
    }

    // MARK: routing.explainDeadline

    func explainDeadline(_ p: RoutingCaseLookup, context: RPCContext) async throws -> RoutingExplainDeadline.Result {
        let key = try Self.lookupKey(p)
        return try await database.withConnection { c in
            let a = try await Self.find(key, on: c)
            let reopenedAt = try await RoutingStore.lastReopen(assignment: a.id, on: c)
            // After a reopening the clock starts again on that day; earlier pauses and extensions
            // stay on record but no longer count.
            let pauses = try await RoutingStore.pauses(assignment: a.id, on: c).filter { pause in
                guard reopenedAt != nil, let from = LocalDate(pause.from) else { return true }
                return from >= a.acceptedOn
            }
            let extensions = try await RoutingStore.extensions(assignment: a.id, on: c).filter { e in
                e.status == .approved && (reopenedAt.map { e.requestedAt >= $0 } ?? true)
            }
            let steps = explanationSteps(a, reopened: reopenedAt != nil, pauses: pauses, extensions: extensions)
            var nonWorking: [String] = []
            var makeUp: [String] = []
            var day = a.acceptedOn.adding(days: 1)
            while day <= a.dueDate {
                if !calendar.isWorkingDay(day) {
                    nonWorking.append(day.description)
                } else if calendar.weekendDays.contains(day.isoWeekday) {
                    makeUp.append(day.description)
                }
                day = day.adding(days: 1)
            }
            return RoutingExplainDeadline.Result(
                caseId: a.caseId, trackingNumber: a.trackingNumber, status: a.state, priority: a.priority,
                startedOn: a.acceptedOn.description, timeLimitWorkingDays: a.timeLimitDays,
                pausedWorkingDays: a.pausedDays, extendedWorkingDays: a.extendedDays, dueDate: a.dueDate.description,
                steps: steps, nonWorkingDays: nonWorking, makeUpWorkingDays: makeUp, overdue: isOverdue(a)
            )
        }
    }

    /// The due date rebuilt from the case's events: start, limit, each finished pause, each
    /// approved extension; a running pause comes last and moves nothing yet. Where the stored
    /// figures differ from the events (data from before an event was recorded), an adjustment
    /// step says by how much, so the last step always ends on the stored due date.
    func explanationSteps(
        _ a: AssignmentRecord, reopened: Bool, pauses: [RoutingPause], extensions: [RoutingExtension]
    ) -> [RoutingExplainDeadline.Step] {
        typealias Step = RoutingExplainDeadline.Step
        var steps: [Step] = []
        var days = 0
        func due() -> String { calendar.adding(workingDays: days, to: a.acceptedOn).description }

        steps.append(Step(
            kind: .start,
            description: reopened
                ? "reopened on \(a.acceptedOn) after an upheld objection; the clock starts again from that day (the day itself does not count)"
                : "accepted on \(a.acceptedOn); the working days count from the next working day",
            from: a.acceptedOn.description, workingDays: 0, dueDateAfter: a.acceptedOn.description
        ))
        days += a.timeLimitDays
        let urgent = a.priority == .urgent
            ? " (urgent: \(settings.urgentLimitPercent)% of the catalog's limit, at least 1 day)" : ""
        steps.append(Step(
            kind: .timeLimit,
            description: "time limit of \(a.serviceName): \(a.timeLimitDays) working day(s)\(urgent) on the working calendar",
            from: a.acceptedOn.description, workingDays: a.timeLimitDays, dueDateAfter: due()
        ))

        var pausedCounted = 0
        // The running pause (at most one) is the latest event: it is shown last.
        var running: [Step] = []
        for pause in pauses {
            if let worked = pause.workingDays, let until = pause.until {
                days += worked
                pausedCounted += worked
                steps.append(Step(
                    kind: .pause,
                    description: "clock paused from \(pause.from) to \(until) (\(pause.reasonType.rawValue): \(pause.question)); \(worked) working day(s) added",
                    from: pause.from, until: until, workingDays: worked, dueDateAfter: due(), reason: pause.reasonType.rawValue
                ))
            } else {
                let sinceDay = LocalDate(pause.from) ?? settings.today
                let soFar = calendar.workingDays(from: sinceDay, through: settings.today)
                running.append(Step(
                    kind: .openPause,
                    description: "clock paused since \(pause.from) (\(pause.reasonType.rawValue): \(pause.question)); \(soFar) working day(s) so far, added when the answer arrives",
                    from: pause.from, workingDays: 0, dueDateAfter: due(), reason: pause.reasonType.rawValue
                ))
            }
        }
        if pausedCounted != a.pausedDays {
            days += a.pausedDays - pausedCounted
            steps.append(Step(
                kind: .adjustment,
                description: "paused working days on record: \(a.pausedDays), of which \(a.pausedDays - pausedCounted) without a recorded pause",
                workingDays: a.pausedDays - pausedCounted, dueDateAfter: due()
            ))
        }

        var extendedCounted = 0
        for e in extensions {
            days += e.workingDays
            extendedCounted += e.workingDays
            steps.append(Step(
                kind: .extension,
                description: "extension of \(e.workingDays) working day(s) requested by \(e.requestedBy), approved by \(e.decidedBy ?? "the department head"): \(e.reason)",
                until: e.newDueDate, workingDays: e.workingDays, dueDateAfter: due(), reason: e.reason, by: e.decidedBy
            ))
        }
        if extendedCounted != a.extendedDays {
            days += a.extendedDays - extendedCounted
            steps.append(Step(
                kind: .adjustment,
                description: "extended working days on record: \(a.extendedDays), of which \(a.extendedDays - extendedCounted) without a recorded extension",
                workingDays: a.extendedDays - extendedCounted, dueDateAfter: due()
            ))
        }
        return steps + running.map { step in
            var step = step
            step.dueDateAfter = due()
            return step
        }
    }

    // MARK: Finding the case

    enum LookupKey: Sendable {
        case trackingNumber(String)
        case caseId(String)
    }

    static func lookupKey(_ p: RoutingCaseLookup) throws -> LookupKey {
        switch (p.trackingNumber, p.caseId) {
        case (let number?, nil):
            try requireText(number, "trackingNumber", max: 64)
            return .trackingNumber(number.trimmingCharacters(in: .whitespaces))
        case (nil, let id?):
            try requireText(id, "caseId", max: 128)
            return .caseId(id)
        case (nil, nil):
            throw RPCError.invalidParams("give the case's trackingNumber or its caseId", zh: "请提供办件的 trackingNumber 或 caseId")
        case (.some, .some):
            throw RPCError.invalidParams("give trackingNumber or caseId, not both", zh: "trackingNumber 和 caseId 只能提供其中一个")
        }
    }

    static func find(_ key: LookupKey, on c: PostgresConnection) async throws -> AssignmentRecord {
        switch key {
        case .trackingNumber(let number):
            guard let a = try await RoutingStore.assignment(trackingNumber: number, on: c) else {
                throw RPCError.notFound("routing has never received case \(number); it is not yet approved, or the number is wrong", zh: "分办服务从未收到办件 \(number)：办件尚未审核通过，或编号有误")
            }
            return a
        case .caseId(let id):
            guard let a = try await RoutingStore.assignment(caseId: id, forUpdate: false, on: c) else {
                throw RPCError.notFound("routing has never received case \(id); it is not yet approved, or the id is wrong", zh: "分办服务从未收到办件 \(id)：办件尚未审核通过，或 id 有误")
            }
            return a
        }
    }
}
