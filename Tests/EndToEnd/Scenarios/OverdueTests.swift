import SystemHarness
import Contracts
import JSONCoding
import Testing

/// A case nobody finishes in time: the handler is warned, the head is told when it is overdue,
/// and the overdue list shows it. Routing's clock runs two days a second here
/// (`ONESTOP_ROUTING_CLOCK_SPEED`), in a system of its own: its dates run far ahead of the
/// calendar and would show in every other scenario's cases.
@Suite("End to end: an overdue case escalated")
struct OverdueTests {
    static let fastClock: [OneStopSystem.Part: [String: String]] = [
        .routing: ["ONESTOP_ROUTING_CLOCK_SPEED": "172800", "ONESTOP_ROUTING_SLA_INTERVAL_MS": "200"],
    ]

    @Test func anOverdueCaseIsEscalatedToTheHeadOnceAndListedAsOverdue() async throws {
        try await OneStopSystem.withDedicated(overrides: Self.fastClock) { system, hall in
            let customer = Customer.make("Zhou Yan")
            let registered = try await hall.register(customer, Hall.permits, materials: Materials.residencePermit)
            let assignment = try await hall.assignment(of: registered.caseId, as: hall.permitHandler)
            #expect(assignment.handler?.id == Hall.permits.handler)

            // The handler sees it among their own cases.
            let mine = try await hall.api.call("GET", "/v1/my/cases", as: hall.permitHandler).decode(RoutingAssignmentPage.self)
            #expect(mine.items.contains { $0.caseId == registered.caseId })

            // The head of the department is told by email once the due date has passed.
            let headAddress = "\(Hall.permits.head)@hall.example.org"
            let escalated = try await eventually("the head is told that \(registered.trackingNumber) is overdue", timeout: .seconds(60)) {
                system.mail.emailMessages().first { $0.recipient == headAddress && $0.text.hasPrefix("Escalated: ") && $0.text.contains(registered.trackingNumber) }
            }
            #expect(escalated.text.contains(registered.trackingNumber))
            // Before that, the handler was warned that the time was running out.
            let handlerAddress = "\(Hall.permits.handler)@hall.example.org"
            #expect(system.mail.emailMessages().contains { $0.recipient == handlerAddress && $0.text.contains(registered.trackingNumber) },
                    "\(system.mail.emailMessages().map(\.description))")

            // A supervisor sees it in the overdue list; a handler of another department does not.
            let supervisor = hall.supervisor
            let overdue = try await hall.api.call("GET", "/v1/overdue?department=\(Hall.permits.department)", as: supervisor).decode(RoutingOverdue.Result.self)
            let listed = try #require(overdue.items.first { $0.assignment.caseId == registered.caseId }, "\(overdue.items.map(\.assignment.trackingNumber))")
            // Listed while still open (how many working days late depends on where the fast clock
            // stands: a weekend right after the due date counts 0).
            #expect(listed.assignment.state != .completed, "\(listed)")
            let elsewhere = try await hall.api.send("GET", "/v1/overdue?department=\(Hall.permits.department)", as: hall.housingHandler)
            #expect(elsewhere.status == 403, "\(elsewhere)")

            // Each level once: the monitor keeps scanning every 200 ms, but the head hears of it one time.
            try await Task.sleep(for: .seconds(2))
            let toHead = system.mail.emailMessages().filter { $0.recipient == headAddress && $0.text.hasPrefix("Escalated: ") && $0.text.contains(registered.trackingNumber) }
            #expect(toHead.count == 1, "\(toHead.map(\.description))")
            #expect(duplicates(system.mail.emailMessages()).isEmpty)
        }
    }
}
