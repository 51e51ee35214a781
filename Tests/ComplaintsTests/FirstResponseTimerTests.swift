import ComplaintsService
import Contracts
import LineProtocol
import Postgres
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

@Suite("First-response timer: a complaint not acknowledged in time goes to the supervisor once")
struct FirstResponseTimerTests {
    static let officer = RPCMeta(actor: RPCActor(id: "officer-7", roles: ["complaint_officer"]))

    @Test func anUnacknowledgedComplaintIsEscalatedOnceEvenWithTwoTimers() async throws {
        try await ComplaintsHarness.run(configure: {
            $0.firstResponseHours = 1
            $0.supervisor = .init(id: "sup-1", name: "Wang Qiang", email: "wang@hall.example")
        }) { h in
            let waiting = try await h.call(ComplaintsFile.self, .sample(phone: "13900000031", email: nil))
            let answered = try await h.call(ComplaintsFile.self, .sample(phone: "13900000032", email: nil))
            _ = try await h.call(ComplaintsAcknowledge.self, .init(complaintId: answered.id, note: "called back"), meta: Self.officer)

            let one = FirstResponseMonitor(configuration: h.settings, database: h.database, logger: ComplaintsHarness.logger)
            let two = FirstResponseMonitor(configuration: h.settings, database: h.database, logger: ComplaintsHarness.logger)
            // Within the hour: nothing.
            #expect(try await one.scan(now: Date().addingTimeInterval(30 * 60)) == 0)
            // Two hours on, two timers at once: one escalation.
            let later = Date().addingTimeInterval(2 * 3600)
            async let a = one.scan(now: later)
            async let b = two.scan(now: later)
            let total = try await a + b
            #expect(total == 1)
            #expect(try await one.scan(now: later.addingTimeInterval(3600)) == 0)

            let details = try await h.call(ComplaintsGet.self, .init(complaintId: waiting.id), meta: Self.officer)
            #expect(details.escalations.map(\.kind) == ["first_response"])
            #expect(details.escalations.first?.toStaffId == "sup-1")
            #expect(details.complaint.firstResponseEscalatedAt != nil)
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

    @Test func aMajorComplaintAlreadyEscalatedIsEscalatedAgainForItsMissedFirstResponse() async throws {
        try await ComplaintsHarness.run(configure: { $0.firstResponseHours = 1 }) { h in
            let major = try await h.call(ComplaintsFile.self, .sample(content: "My personal data was shown to the next customer"))
            #expect(major.escalated)
            let timer = FirstResponseMonitor(configuration: h.settings, database: h.database, logger: ComplaintsHarness.logger)
            #expect(try await timer.scan(now: Date().addingTimeInterval(2 * 3600)) == 1)
            let details = try await h.call(ComplaintsGet.self, .init(complaintId: major.id), meta: Self.officer)
            #expect(Set(details.escalations.compactMap(\.kind)) == ["severity", "first_response"])
        }
    }
}
