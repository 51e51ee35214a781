import SystemHarness
import Contracts
import JSONCoding
import Testing

/// Review, routing and notification each SIGKILLed while a case needs them, then restarted:
/// the outboxes deliver what waited, the case completes, and the customer gets every message
/// exactly once. Runs on a system of its own, since it kills processes.
@Suite("End to end: services killed during a flow")
struct CrashRecoveryTests {
    @Test func reviewRoutingAndNotificationKilledMidFlowTheCaseCompletesAndNothingIsSentTwice() async throws {
        try await OneStopSystem.withDedicated { system, hall in
            let customer = Customer.make("Liu Yang")

            // Review (and its worker) down while the case is registered: intake keeps it in its outbox.
            await system.kill(.review)
            await system.kill(.reviewWorker)
            let registered = try await hall.register(customer, Hall.housing, materials: Materials.housingFund)
            #expect(registered.status == .accepted)
            let code = try #require(registered.accessCode)
            try await system.restart(.review)
            try await system.restart(.reviewWorker)
            let task = try await hall.reviewTask(for: registered.trackingNumber)

            // Routing down while the reviewer approves: review keeps the dispatch in its outbox.
            await system.kill(.routing)
            try await hall.decide(task.taskId, .approve, opinion: "Verified at the counter")
            try await system.restart(.routing)
            let assignment = try await hall.assignment(of: registered.caseId, as: hall.housingHandler)
            #expect(assignment.handler?.id == Hall.housing.handler)

            // Notification down while the handler completes: intake keeps the messages in its outbox.
            await system.kill(.notification)
            try await hall.process(registered.caseId, as: hall.housingHandler, result: "withdrawal approved",
                                   pickup: Pickup(time: "tomorrow 10:00", place: "Window 2", way: "in person"))
            try await hall.waitForStatus(.completed, registered.trackingNumber, code)
            try await system.restart(.notification)

            // Accepted, completed, survey: each once by SMS and once by email.
            try await customer.waitForMessages(sms: 3, email: 3, in: system)
            // Late duplicates would come from redeliveries within a lease or two; give them a moment.
            try await Task.sleep(for: .seconds(2))
            let received = customer.messages(in: system)
            #expect(received.sms.count == 3, "\(received.sms)")
            #expect(received.email.count == 3, "\(received.email)")
            #expect(duplicates(received.sms + received.email).isEmpty)

            // One review task and one dispatch despite the redeliveries.
            let queue = try await hall.api.call("GET", "/v1/review/queue?scope=mine&limit=200", as: hall.reviewer).decode(ReviewListQueue.Result.self)
            #expect(!queue.tasks.contains { $0.trackingNumber == registered.trackingNumber })
            let final = try await hall.assignment(of: registered.caseId, as: hall.housingHandler)
            #expect(final.state == .completed)
            #expect((final.slips ?? []).filter { $0.kind == .dispatch }.count == 1, "\(final.slips ?? [])")
            for part in OneStopSystem.Part.allCases { #expect(system.isRunning(part), "\(part.rawValue) is down") }
        }
    }
}
