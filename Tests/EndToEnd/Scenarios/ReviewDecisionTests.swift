import SystemHarness
import Contracts
import JSONCoding
import Testing

/// The reviewer's other two answers, as the customer meets them.
@Suite("End to end: rejection and return by the reviewer")
struct ReviewDecisionTests {
    @Test func aRejectedCaseTellsTheCustomerEveryReason() async throws {
        try await OneStopSystem.withShared { system, hall in
            let customer = Customer.make("Chen Jing")
            let registered = try await hall.register(customer, Hall.housing, materials: Materials.housingFund)
            let code = try #require(registered.accessCode)
            let task = try await hall.reviewTask(for: registered.trackingNumber)
            let reasons = ["the purchase contract is not notarised", "the bank card belongs to someone else"]
            try await hall.decide(task.taskId, .reject, reasons: reasons)

            try await hall.waitForStatus(.rejected, registered.trackingNumber, code)
            let received = try await customer.waitForMessages(sms: 2, email: 2, in: system)
            let rejection = try #require(received.sms.first { $0.text.contains("was rejected") }, "\(received.sms)")
            for reason in reasons { #expect(rejection.text.contains(reason)) }
            #expect(received.email.contains { $0.text.hasPrefix("Application rejected: \(registered.trackingNumber)") })
            // A rejected case goes nowhere near routing.
            let routed = try await hall.api.send("GET", "/v1/assignments/\(registered.caseId)", as: hall.housingHandler)
            #expect(routed.status == 404, "\(routed)")
        }
    }

    @Test func aReturnedCaseIsSupplementedByTheCustomerAndReviewedAgain() async throws {
        try await OneStopSystem.withShared { system, hall in
            let customer = Customer.make("Zhao Lei")
            let registered = try await hall.register(customer, Hall.housing, materials: Materials.housingFund)
            let code = try #require(registered.accessCode)
            let first = try await hall.reviewTask(for: registered.trackingNumber)
            try await hall.decide(first.taskId, .return, items: ["a legible copy of the bank card"])

            try await hall.waitForStatus(.returned, registered.trackingNumber, code)
            let told = try await customer.waitForMessages(sms: 2, email: 2, in: system)
            #expect(told.sms.contains { $0.text.contains("needs corrections") && $0.text.contains("a legible copy of the bank card") }, "\(told.sms)")

            // The customer hands the corrected copy in; the case is accepted again and reviewed in a new round.
            let supplemented = try await hall.api.call("POST", "/v1/public/cases/\(registered.trackingNumber)/materials", [
                "accessCode": .string(code), "materials": [["code": "bank_card", "copies": 1, "original": false]],
            ]).decode(IntakeSupplementMaterials.Result.self)
            #expect(supplemented.status == .accepted)
            let second = try await hall.reviewTask(for: registered.trackingNumber)
            #expect(second.taskId != first.taskId)
            try await hall.decide(second.taskId, .approve, opinion: "corrected copy received")
            let assignment = try await hall.assignment(of: registered.caseId, as: hall.housingHandler)
            #expect(assignment.handler?.id == Hall.housing.handler)
        }
    }
}
