import SystemHarness
import Contracts
import JSONCoding
import Testing

/// Complaints and satisfaction, from the customer's side of the API to the supervisor's inbox.
@Suite("End to end: complaints and ratings")
struct ComplaintTests {
    @Test func aMajorComplaintIsEscalatedToTheSupervisorAtOnce() async throws {
        try await OneStopSystem.withShared { system, hall in
            let customer = Customer.make("Sun Li")
            let filed = try await hall.api.call("POST", "/v1/public/complaints", [
                "complainant": ["name": .string(customer.name), "phone": .string(customer.mobile), "email": .string(customer.email), "locale": "en"],
                "content": "My personal data was leaked: the officer's screen showed my ID number to the next customer.",
            ], expecting: 201).decode(ComplaintView.self)
            #expect(filed.severity == .major)
            #expect(filed.category == "data_protection")
            #expect(filed.escalated)
            #expect(filed.assigneeId == Hall.supervisorID)

            // The supervisor is told by email straight away and finds it among the major complaints.
            let escalation = try await eventually("the supervisor is told of \(filed.number)") {
                system.mail.emailMessages().first { $0.recipient == "supervisor@onestop.local" && $0.text.contains(filed.number) }
            }
            #expect(escalation.text.contains(filed.number))
            let majors = try await hall.api.call("GET", "/v1/complaints?severity=major", as: hall.supervisor).decode(ComplaintsList.Result.self)
            #expect(majors.items.contains { $0.id == filed.id && $0.escalated })
            // The complainant hears that it was received.
            let acknowledgement = try await eventually("\(customer.name) hears the complaint was received") {
                let received = customer.messages(in: system)
                return (received.sms + received.email).first
            }
            #expect(acknowledgement.text.contains(filed.number), "\(acknowledgement)")
        }
    }

    @Test func aLowRatingOpensAFollowUpComplaintAboutTheCase() async throws {
        try await OneStopSystem.withShared { system, hall in
            let customer = Customer.make("Zhou Xun")
            let registered = try await hall.register(customer, Hall.permits, materials: Materials.residencePermit)
            let code = try #require(registered.accessCode)
            _ = try await hall.assignment(of: registered.caseId, as: hall.permitHandler)
            try await hall.process(registered.caseId, as: hall.permitHandler, result: "permit issued",
                                   pickup: Pickup(time: "any weekday", place: "Window 1", way: "in person"))
            try await hall.waitForStatus(.completed, registered.trackingNumber, code)

            let rating = try await hall.api.call("POST", "/v1/public/cases/\(registered.trackingNumber)/rating",
                                                 ["accessCode": .string(code), "score": 1, "comment": "nobody explained anything"], expecting: 201)
                .decode(ComplaintsRate.Result.self)
            let followUp = try #require(rating.followUpComplaint)
            #expect(followUp.caseTrackingNumber == registered.trackingNumber)
            #expect(followUp.department == Hall.permits.department)
            #expect(followUp.sourceRatingId == rating.ratingId)

            // The complaints desk sees it against the case; a second rating is refused.
            let listed = try await hall.api.call("GET", "/v1/complaints?caseTrackingNumber=\(registered.trackingNumber)", as: hall.complaintOfficer)
                .decode(ComplaintsList.Result.self)
            #expect(listed.items.map(\.id) == [followUp.id])
            let again = try await hall.api.send("POST", "/v1/public/cases/\(registered.trackingNumber)/rating", ["accessCode": .string(code), "score": 5])
            #expect(again.status == 409, "\(again)")
        }
    }

    @Test func anUpheldComplaintAboutACaseStillInProgressIsRecordedOnTheCaseAndItsHandlerTold() async throws {
        try await OneStopSystem.withShared { system, hall in
            let customer = Customer.make("Qian Wei")
            let registered = try await hall.register(customer, Hall.permits, materials: Materials.residencePermit)
            _ = try await hall.assignment(of: registered.caseId, as: hall.permitHandler)
            try await hall.api.call("POST", "/v1/assignments/\(registered.caseId)/accept", [:], as: hall.permitHandler)

            let filed = try await hall.api.call("POST", "/v1/complaints", [
                "complainant": ["name": .string(customer.name), "phone": .string(customer.mobile)],
                "channel": "counter", "caseTrackingNumber": .string(registered.trackingNumber),
                "content": "My application was wrongly rejected although every document was there.",
            ], as: hall.complaintOfficer, expecting: 201).decode(ComplaintView.self)
            #expect(filed.caseServiceType == Hall.permits.serviceType)
            #expect(filed.department == Hall.permits.department)
            try await hall.api.call("POST", "/v1/complaints/\(filed.id)/acknowledgement", [:], as: hall.complaintOfficer)
            try await hall.api.call("POST", "/v1/complaints/\(filed.id)/investigation", ["note": "the file was read again"], as: hall.complaintOfficer)
            try await hall.api.call("POST", "/v1/complaints/\(filed.id)/resolution", [
                "outcome": "upheld", "resolution": "The lease supplied was overlooked.", "rootCause": "training",
            ], as: hall.complaintOfficer)

            // Complaints' outbox delivers routing.reopen; the case is still in progress, so routing
            // records the re-check on it (no dead letter) and tells the handler.
            let recheck = try await eventually("routing records the re-check of \(registered.trackingNumber)") {
                let assignment = try await hall.api.call("GET", "/v1/assignments/\(registered.caseId)", as: hall.permitHandler)
                    .decode(RoutingAssignment.self)
                return assignment.slips?.first { $0.kind == .recheck }.map { (assignment, $0) }
            }
            #expect(recheck.0.state == .inProgress)
            #expect(recheck.1.reason.contains(filed.number))
            let told = try await eventually("the handler hears of the re-check") {
                system.mail.emailMessages().first { $0.recipient == "\(Hall.permits.handler)@hall.example.org" && $0.text.contains(registered.trackingNumber) && $0.text.contains(filed.number) }
            }
            #expect(told.text.contains(filed.number))

            // The statistics count it under the case's service type, with a rate from intake's counts.
            let stats = try await hall.api.call("GET", "/v1/complaints-stats?department=\(Hall.permits.department)", as: hall.supervisor)
                .decode(ComplaintsStats.Result.self)
            #expect(stats.byServiceType.contains { $0.key == Hall.permits.serviceType })
            #expect(stats.complaintRate.unavailableReason == nil, "\(stats.complaintRate)")
            #expect(stats.complaintRate.byServiceType.contains { $0.serviceType == Hall.permits.serviceType && $0.per1000Cases != nil })
        }
    }
}
