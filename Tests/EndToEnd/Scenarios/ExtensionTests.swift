import SystemHarness
import Contracts
import JSONCoding
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// A handler who needs more time asks the department head; the customer hears of the new date.
@Suite("End to end: an extension approved by the department head")
struct ExtensionTests {
    @Test func theHeadApprovesAnExtensionAndTheCustomerIsToldTheNewDateAndReason() async throws {
        try await OneStopSystem.withShared { system, hall in
            let customer = Customer.make("Xu Ming")
            let registered = try await hall.register(customer, Hall.permits, materials: Materials.residencePermit)
            let code = try #require(registered.accessCode)
            let assignment = try await hall.assignment(of: registered.caseId, as: hall.permitHandler)
            try await hall.api.call("POST", "/v1/assignments/\(registered.caseId)/accept", [:], as: hall.permitHandler)

            // The handler asks for the first working day (on the hall's calendar) a few days after the due date.
            let reason = "the residence proof must be confirmed with the landlord"
            var requested: RoutingExtension?
            for candidate in laterDays(than: assignment.dueDate) {
                let answer = try await hall.api.send("POST", "/v1/assignments/\(registered.caseId)/extension",
                                                     ["reason": .string(reason), "newDueDate": .string(candidate)], as: hall.permitHandler)
                if answer.status == 200 { requested = try answer.json.decode(RoutingExtension.self); break }
                #expect(answer.status == 400 && answer.body.contains("not a working day"), "\(answer)")
            }
            let pending = try #require(requested)
            #expect(pending.status == .pending)

            // The handler may not approve their own request; the head of the department does.
            let own = try await hall.api.send("POST", "/v1/assignments/\(registered.caseId)/extension/approval", ["approve": true], as: hall.permitHandler)
            #expect(own.status == 403, "\(own)")
            let head = try await hall.api.login(Hall.permits.head, Hall.password(of: Hall.permits.head))
            let approved = try await hall.api.call("POST", "/v1/assignments/\(registered.caseId)/extension/approval",
                                                   ["approve": true, "note": "agreed"], as: head).decode(RoutingAssignment.self)
            #expect(approved.dueDate == pending.newDueDate)

            // The customer sees the new date and gets it, with the reason, by SMS and email.
            _ = try await eventually("the customer sees the new due date") {
                let view = try await hall.track(registered.trackingNumber, code)
                return view.dueDate == pending.newDueDate ? view : nil
            }
            let received = try await customer.waitForMessages(sms: 2, email: 2, in: system)
            let extended = try #require(received.sms.first { $0.text.contains("is extended to \(pending.newDueDate)") }, "\(received.sms)")
            #expect(extended.text.contains(reason))
            #expect(received.email.contains { $0.text.hasPrefix("Time limit extended: \(registered.trackingNumber)") })
        }
    }

    /// The next seven calendar days after `date` (YYYY-MM-DD), starting two days later.
    func laterDays(than date: String) -> [String] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = date.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, let start = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2])) else { return [] }
        return (2...8).compactMap { offset in
            calendar.date(byAdding: .day, value: offset, to: start).map {
                let c = calendar.dateComponents([.year, .month, .day], from: $0)
                return String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
            }
        }
    }
}
