import SystemHarness
import Contracts
import JSONCoding
import Testing

/// Whole cases through every service, driven only through the gateway's HTTP API and checked
/// at the API and at the mail and SMS sinks.
@Suite("End to end: a case through the hall")
struct CaseLifecycleTests {
    @Test func aCounterCaseIsCheckedApprovedRoutedCompletedToldAndRated() async throws {
        try await OneStopSystem.withShared { system, hall in
            let customer = Customer.make("Han Meimei")
            // Counter registration: complete materials, so the case is accepted at once.
            let registered = try await hall.register(customer, Hall.housing, materials: Materials.housingFund)
            #expect(registered.status == .accepted)
            #expect(registered.owner == hall.officer.user)
            let code = try #require(registered.accessCode)

            // The automated checks pass and the task lands with the reviewer, who approves.
            let task = try await hall.reviewTask(for: registered.trackingNumber)
            let details = try await hall.api.call("GET", "/v1/review/tasks/\(task.taskId)", as: hall.reviewer).decode(ReviewGetTask.Result.self)
            #expect(!details.checks.isEmpty)
            #expect(details.checks.allSatisfy { $0.outcome == .passed }, "\(details.checks)")
            let decided = try await hall.decide(task.taskId, .approve, opinion: "Materials verified; withdrawal allowed")
            #expect(decided.decision.decision == .approve)

            // Routing gives it to the department's handler, who accepts and completes it.
            let assignment = try await hall.assignment(of: registered.caseId, as: hall.housingHandler)
            #expect(assignment.department == Hall.housing.department)
            #expect(assignment.handler?.id == Hall.housing.handler)
            let pickup = Pickup(time: "weekdays 9:00-17:00", place: "Window 7", way: "in person with ID card")
            let completed = try await hall.process(registered.caseId, as: hall.housingHandler, result: "withdrawal approved", pickup: pickup)
            #expect(completed.state == .completed)
            let view = try await hall.waitForStatus(.completed, registered.trackingNumber, code)
            #expect(view.timeline.count >= 4)

            // The customer was told at acceptance, at completion (with the pickup) and invited to rate.
            let received = try await customer.waitForMessages(sms: 3, email: 3, in: system)
            let completionSMS = try #require(received.sms.first { $0.text.contains("is complete (withdrawal approved)") }, "\(received.sms)")
            #expect(completionSMS.text.contains(registered.trackingNumber))
            #expect(completionSMS.text.contains("Window 7"))
            #expect(received.email.contains { $0.text.hasPrefix("Ready to collect: \(registered.trackingNumber)") }, "\(received.email)")
            #expect(received.sms.contains { $0.text.contains("Please tell us how we did") })
            #expect(received.sms.contains { $0.text.contains("access code \(code)") })

            // The customer rates the service.
            let rating = try await hall.api.call("POST", "/v1/public/cases/\(registered.trackingNumber)/rating",
                                                 ["accessCode": .string(code), "score": 5, "comment": "quick and friendly"], expecting: 201)
                .decode(ComplaintsRate.Result.self)
            #expect(rating.followUpComplaint == nil)
            // Nothing was sent twice.
            let final = customer.messages(in: system)
            #expect(final.sms.count == 3 && final.email.count == 3, "\((final.sms + final.email).map(\.description))")
            #expect(duplicates(final.sms + final.email).isEmpty)
        }
    }

    @Test func incompleteMaterialsGetOneNoticeListingEverythingThenTheSupplementIsAccepted() async throws {
        try await OneStopSystem.withShared { system, hall in
            let customer = Customer.make("Wang Fang")
            // An ID card copy instead of the original, no bank card, no purchase contract.
            let registered = try await hall.register(customer, Hall.housing, materials: [MaterialItem(code: "id_card", copies: 1, original: false)])
            #expect(registered.status == .awaitingMaterials)
            let notice = try #require(registered.notice)
            #expect(Set(notice.items.map(\.code)) == ["id_card", "bank_card", "purchase_contract"], "\(notice.items)")
            #expect(notice.items.first { $0.code == "id_card" }?.problem == .originalRequired)
            let code = try #require(registered.accessCode)

            // One notice, by SMS and email, naming every item and the deadline.
            let told = try await customer.waitForMessages(sms: 1, email: 1, in: system)
            let sms = try #require(told.sms.first)
            #expect(sms.text.contains("incomplete"))
            #expect(sms.text.contains(notice.deadline))
            let email = try #require(told.email.first)
            for item in notice.items { #expect(email.text.contains(item.name), "\(item.name) missing from \(email.text)") }

            // The customer brings everything through the public API; the case is accepted.
            let supplemented = try await hall.api.call("POST", "/v1/public/cases/\(registered.trackingNumber)/materials", [
                "accessCode": .string(code), "materials": try .encoding(Materials.housingFund),
            ]).decode(IntakeSupplementMaterials.Result.self)
            #expect(supplemented.status == .accepted)
            // (It may already have moved on to review by the time the customer looks.)
            let view = try await hall.track(registered.trackingNumber, code)
            #expect(view.notice == nil)
            #expect(view.timeline.map(\.event).contains("accepted"), "\(view.timeline.map(\.event))")
            let after = try await customer.waitForMessages(sms: 2, email: 2, in: system)
            #expect(after.sms.contains { $0.text.contains("is accepted") }, "\(after.sms)")
            // Still exactly one materials notice.
            #expect(after.sms.filter { $0.text.contains("incomplete") }.count == 1)
            // And the accepted case reaches review.
            _ = try await hall.reviewTask(for: registered.trackingNumber)
        }
    }

    @Test func aCustomerFollowsTheCaseWithTrackingNumberAndCodeAndAWrongCodeTellsNothing() async throws {
        try await OneStopSystem.withShared { system, hall in
            let customer = Customer.make("Zhang Wei")
            // A residence permit is approved by the automated checks alone and routed.
            let registered = try await hall.register(customer, Hall.permits, materials: Materials.residencePermit)
            let code = try #require(registered.accessCode)
            let view = try await hall.waitForStatus(.routed, registered.trackingNumber, code)
            #expect(view.trackingNumber == registered.trackingNumber)
            #expect(view.dueDate != nil)
            #expect(view.timeline.map(\.event).suffix(1) == ["routed"], "\(view.timeline.map(\.event))")

            // A wrong code and an unknown number get the same answer, which says nothing of the case.
            let wrongCode = try await hall.api.send("POST", "/v1/public/track", ["trackingNumber": .string(registered.trackingNumber), "accessCode": "WRONG1"])
            let unknown = try await hall.api.send("POST", "/v1/public/track", ["trackingNumber": "20260101-999999-X", "accessCode": .string(code)])
            #expect(wrongCode.status == 404)
            #expect(unknown.status == 404)
            #expect(wrongCode.json["detail"] == unknown.json["detail"])
            for secret in [registered.trackingNumber, customer.name, "routed", "residence", Hall.permits.department] {
                #expect(!wrongCode.body.contains(secret), "the answer to a wrong code mentions \(secret): \(wrongCode.body)")
            }
            // Tracking never needs a login, and the right code still works after a wrong one.
            #expect(try await hall.track(registered.trackingNumber, code).status == .routed)
        }
    }
}
