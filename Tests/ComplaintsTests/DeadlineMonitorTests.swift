import ComplaintsService
import Contracts
import LineProtocol
import Postgres
import ServiceKit
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

@Suite("Deadline monitor: warnings before the first-response and resolution limits, escalation on breach, once per level")
struct DeadlineMonitorTests {
    static let officer = RPCMeta(actor: RPCActor(id: "officer-7", roles: ["complaint_officer"]))

    static func monitor(_ h: ComplaintsHarness) -> DeadlineMonitor {
        DeadlineMonitor(configuration: h.settings, database: h.database, logger: ComplaintsHarness.logger)
    }

    /// Noon of `day` in the hall's time zone.
    static func noon(_ day: LocalDate, _ settings: ComplaintsConfiguration) throws -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = settings.calendar.timeZone
        let (year, month, dayOfMonth) = day.components
        return try #require(calendar.date(from: DateComponents(year: year, month: month, day: dayOfMonth, hour: 12)))
    }

    // MARK: First response

    @Test func anUnacknowledgedComplaintIsEscalatedOnceEvenWithTwoMonitors() async throws {
        try await ComplaintsHarness.run(configure: {
            $0.firstResponseHours = 1
            $0.supervisor = .init(id: "sup-1", name: "Wang Qiang", email: "wang@hall.example")
        }) { h in
            let waiting = try await h.call(ComplaintsFile.self, .sample(phone: "13900000031", email: nil))
            let answered = try await h.call(ComplaintsFile.self, .sample(phone: "13900000032", email: nil))
            _ = try await h.call(ComplaintsAcknowledge.self, .init(complaintId: answered.id, note: "called back"), meta: Self.officer)

            let one = Self.monitor(h)
            let two = Self.monitor(h)
            // Half an hour in, before the warning at 80% (48 minutes): nothing.
            #expect(try await one.scan(now: Date().addingTimeInterval(30 * 60)).total == 0)
            // Two hours on, two monitors at once: one escalation, and no late warning.
            let later = Date().addingTimeInterval(2 * 3600)
            async let a = one.scan(now: later)
            async let b = two.scan(now: later)
            let (ra, rb) = try await (a, b)
            #expect(ra.firstResponseEscalated + rb.firstResponseEscalated == 1)
            #expect(ra.total + rb.total == 1)
            #expect(try await one.scan(now: later.addingTimeInterval(3600)).total == 0)

            let details = try await h.call(ComplaintsGet.self, .init(complaintId: waiting.id), meta: Self.officer)
            #expect(details.escalations.map(\.kind) == ["first_response"])
            #expect(details.escalations.first?.level == 1)
            #expect(details.escalations.first?.toStaffId == "sup-1")
            #expect(details.complaint.firstResponseEscalatedAt != nil)
            #expect(details.complaint.firstResponseWarnedAt == nil)
            #expect(details.complaint.status == .filed && !details.complaint.escalated)
            #expect(details.history.map(\.action).contains("first_response_escalated"))
            let other = try await h.call(ComplaintsGet.self, .init(complaintId: answered.id), meta: Self.officer)
            #expect(other.escalations.isEmpty && other.complaint.firstResponseEscalatedAt == nil)

            let sends = try await h.notifications().filter { $0.template == NotificationTemplate.staffEscalation.rawValue }
            #expect(sends.map(\.key) == ["complaints/\(waiting.id)/escalation/first_response"])
            #expect(sends.first?.recipients.first?.email == "wang@hall.example")
            #expect(sends.first.map { Set($0.variables.keys) } == Set(NotificationTemplate.staffEscalation.requiredVariables))
            #expect(sends.first?.variables["reference"] == waiting.number)

            // The late first contact is still recorded.
            let acknowledged = try await h.call(ComplaintsAcknowledge.self, .init(complaintId: waiting.id), meta: Self.officer)
            #expect(acknowledged.status == .acknowledged)
        }
    }

    @Test func theFirstResponseLimitIsWarnedOnceBeforeItsBreachIsEscalated() async throws {
        try await ComplaintsHarness.run(configure: {
            $0.firstResponseHours = 10
            $0.warningPercent = 70
            $0.rules.departmentContacts = ["civil_affairs": .init(id: "head-ca", name: "Zhao Min", email: "zhao@hall.example")]
        }) { h in
            let complaint = try await h.call(ComplaintsFile.self, .sample(department: "civil_affairs"))
            let one = Self.monitor(h)
            let two = Self.monitor(h)
            // 6 hours in (60%): nothing yet.
            #expect(try await one.scan(now: complaint.filedAt.addingTimeInterval(6 * 3600)).total == 0)
            // 7.5 hours in (75%): one warning, to the department's contact, even from two monitors.
            let warnTime = complaint.filedAt.addingTimeInterval(7.5 * 3600)
            async let a = one.scan(now: warnTime)
            async let b = two.scan(now: warnTime)
            let (ra, rb) = try await (a, b)
            #expect(ra.firstResponseWarned + rb.firstResponseWarned == 1)
            #expect(ra.total + rb.total == 1)
            #expect(try await one.scan(now: warnTime.addingTimeInterval(1800)).total == 0)
            // Past the limit: the escalation, once.
            let late = complaint.filedAt.addingTimeInterval(11 * 3600)
            #expect(try await one.scan(now: late).firstResponseEscalated == 1)
            #expect(try await two.scan(now: late).total == 0)

            let details = try await h.call(ComplaintsGet.self, .init(complaintId: complaint.id), meta: Self.officer)
            let steps = details.escalations.filter { $0.kind == "first_response" }.map { "\($0.level):\($0.toStaffId)" }
            #expect(steps == ["0:head-ca", "1:supervisor"])
            #expect(details.complaint.firstResponseWarnedAt != nil && details.complaint.firstResponseEscalatedAt != nil)
            #expect(details.history.map(\.action).filter { $0.hasPrefix("first_response") } == ["first_response_warned", "first_response_escalated"])

            let near = try await h.notifications().filter { $0.template == NotificationTemplate.staffDeadlineNear.rawValue }
            #expect(near.map(\.key) == ["complaints/\(complaint.id)/deadline_near/first_response"])
            #expect(near.first?.recipients.first?.email == "zhao@hall.example")
            #expect(near.first.map { Set($0.variables.keys) } == Set(NotificationTemplate.staffDeadlineNear.requiredVariables))
            #expect(near.first?.variables["reference"] == complaint.number)
        }
    }

    @Test func anAcknowledgedComplaintGetsNoFirstResponseWarning() async throws {
        try await ComplaintsHarness.run(configure: { $0.firstResponseHours = 1 }) { h in
            let complaint = try await h.call(ComplaintsFile.self, .sample())
            _ = try await h.call(ComplaintsAcknowledge.self, .init(complaintId: complaint.id), meta: Self.officer)
            #expect(try await Self.monitor(h).scan(now: complaint.filedAt.addingTimeInterval(55 * 60)).total == 0)
        }
    }

    @Test func aMajorComplaintAlreadyEscalatedIsEscalatedAgainForItsMissedFirstResponse() async throws {
        try await ComplaintsHarness.run(configure: { $0.firstResponseHours = 1 }) { h in
            let major = try await h.call(ComplaintsFile.self, .sample(content: "My personal data was shown to the next customer"))
            #expect(major.escalated)
            #expect(try await Self.monitor(h).scan(now: Date().addingTimeInterval(2 * 3600)).firstResponseEscalated == 1)
            let details = try await h.call(ComplaintsGet.self, .init(complaintId: major.id), meta: Self.officer)
            #expect(Set(details.escalations.compactMap(\.kind)) == ["severity", "first_response"])
        }
    }

    // MARK: Resolution

    @Test func aGeneralComplaintIsWarnedBeforeItsResolutionDueDateAndEscalatedAfterItOnceWithTwoMonitors() async throws {
        try await ComplaintsHarness.run(configure: {
            $0.resolutionWorkingDays = 10
            $0.warningPercent = 80
            $0.supervisor = .init(id: "sup-1", name: "Wang Qiang", email: "wang@hall.example")
            $0.rules.departmentContacts = ["civil_affairs": .init(id: "head-ca", name: "Zhao Min", email: "zhao@hall.example")]
        }) { h in
            let complaint = try await h.call(ComplaintsFile.self, .sample(department: "civil_affairs"))
            // Acknowledged, so only the resolution timer runs.
            _ = try await h.call(ComplaintsAcknowledge.self, .init(complaintId: complaint.id), meta: Self.officer)
            let calendar = h.settings.calendar
            let assigned = calendar.today(at: complaint.filedAt)
            let dueText = try #require(complaint.resolutionDueDate)
            let due = try #require(LocalDate(dueText))
            #expect(due == calendar.adding(workingDays: 10, to: assigned))

            let one = Self.monitor(h)
            let two = Self.monitor(h)
            // On the 8th working day (the 80% mark is its end): nothing yet.
            #expect(try await one.scan(now: Self.noon(calendar.adding(workingDays: 8, to: assigned), h.settings)).total == 0)
            // On the 9th: the warning, once from two monitors, to the department.
            let ninth = try Self.noon(calendar.adding(workingDays: 9, to: assigned), h.settings)
            async let a = one.scan(now: ninth)
            async let b = two.scan(now: ninth)
            let (ra, rb) = try await (a, b)
            #expect(ra.resolutionWarned + rb.resolutionWarned == 1)
            #expect(ra.total + rb.total == 1)
            // On the due date itself: nothing more.
            #expect(try await one.scan(now: Self.noon(due, h.settings)).total == 0)
            // The day after: escalated to the supervisor, once from two monitors.
            let after = try Self.noon(due.adding(days: 1), h.settings)
            async let c = one.scan(now: after)
            async let d = two.scan(now: after)
            let (rc, rd) = try await (c, d)
            #expect(rc.resolutionEscalated + rd.resolutionEscalated == 1)
            #expect(rc.total + rd.total == 1)
            #expect(try await one.scan(now: after.addingTimeInterval(7 * 86_400)).total == 0)

            let details = try await h.call(ComplaintsGet.self, .init(complaintId: complaint.id), meta: Self.officer)
            #expect(details.escalations.map { "\($0.kind ?? ""):\($0.level):\($0.toStaffId)" } == ["resolution:0:head-ca", "resolution:1:sup-1"])
            #expect(details.complaint.resolutionWarnedAt != nil && details.complaint.resolutionEscalatedAt != nil)
            #expect(details.history.map(\.action).suffix(2) == ["resolution_warned", "resolution_escalated"])
            let sends = try await h.notifications().filter { $0.key.contains("/deadline_near/") || $0.key.contains("/escalation/") }
            #expect(sends.map(\.key) == ["complaints/\(complaint.id)/deadline_near/resolution", "complaints/\(complaint.id)/escalation/resolution"])
            #expect(sends.map { $0.recipients.first?.email ?? "" } == ["zhao@hall.example", "wang@hall.example"])
            #expect(sends.last?.template == NotificationTemplate.staffEscalation.rawValue)
            #expect(sends.last.map { Set($0.variables.keys) } == Set(NotificationTemplate.staffEscalation.requiredVariables))
        }
    }

    @Test func aDepartmentWithoutAContactHasItsWarningSentToTheSupervisor() async throws {
        try await ComplaintsHarness.run(configure: { $0.resolutionWorkingDays = 5 }) { h in
            let complaint = try await h.call(ComplaintsFile.self, .sample(department: "tax"))
            _ = try await h.call(ComplaintsAcknowledge.self, .init(complaintId: complaint.id), meta: Self.officer)
            let dueText = try #require(complaint.resolutionDueDate)
            let due = try #require(LocalDate(dueText))
            // 80% of 5 working days = the end of the 4th; the due date itself is inside the window.
            #expect(try await Self.monitor(h).scan(now: Self.noon(due, h.settings)).resolutionWarned == 1)
            let details = try await h.call(ComplaintsGet.self, .init(complaintId: complaint.id), meta: Self.officer)
            #expect(details.escalations.map(\.toStaffId) == [h.settings.supervisor.id])
        }
    }

    @Test func resolvedOrUnassignedComplaintsAreNotChased() async throws {
        try await ComplaintsHarness.run { h in
            let resolved = try await h.call(ComplaintsFile.self, .sample(phone: "13900000041", email: nil, department: "civil_affairs"))
            _ = try await h.call(ComplaintsAcknowledge.self, .init(complaintId: resolved.id), meta: Self.officer)
            _ = try await h.call(ComplaintsInvestigate.self, .init(complaintId: resolved.id, note: "looked"), meta: Self.officer)
            _ = try await h.call(
                ComplaintsResolve.self, .init(complaintId: resolved.id, outcome: .notUpheld, resolution: "r", rootCause: "no_fault"), meta: Self.officer
            )
            let unassigned = try await h.call(ComplaintsFile.self, .sample(phone: "13900000042", email: nil))
            _ = try await h.call(ComplaintsAcknowledge.self, .init(complaintId: unassigned.id), meta: Self.officer)
            #expect(unassigned.resolutionDueDate == nil)
            let report = try await Self.monitor(h).scan(now: Date().addingTimeInterval(60 * 86_400))
            #expect(report.total == 0)
            #expect(try await h.count("SELECT count(*) FROM complaint_escalations") == 0)
        }
    }

    @Test func aReopenedComplaintPastItsDueDateIsEscalated() async throws {
        try await ComplaintsHarness.run { h in
            let complaint = try await h.call(ComplaintsFile.self, .sample(department: "civil_affairs"))
            _ = try await h.call(ComplaintsAcknowledge.self, .init(complaintId: complaint.id), meta: Self.officer)
            _ = try await h.call(ComplaintsInvestigate.self, .init(complaintId: complaint.id, note: "looked"), meta: Self.officer)
            _ = try await h.call(
                ComplaintsResolve.self, .init(complaintId: complaint.id, outcome: .notUpheld, resolution: "r", rootCause: "no_fault"), meta: Self.officer
            )
            let monitor = Self.monitor(h)
            let late = Date().addingTimeInterval(60 * 86_400)
            #expect(try await monitor.scan(now: late).total == 0)
            _ = try await h.call(ComplaintsReopen.self, .init(complaintId: complaint.id, reason: "nothing changed"))
            #expect(try await monitor.scan(now: late).resolutionEscalated == 1)
        }
    }
}
