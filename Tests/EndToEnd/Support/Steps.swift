import SystemHarness
import Contracts
import JSONCoding

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The steps the scenarios are made of, each one or a few API calls by the person who does it
/// in the hall. Waits are polls with deadlines.
extension Hall {
    // MARK: Intake

    /// The intake officer registers a counter application.
    func register(_ customer: Customer, _ desk: Desk, materials: [MaterialItem], priority: CasePriority = .regular) async throws -> IntakeRegisterCase.Result {
        try await api.call("POST", "/v1/cases", customer.application(desk.serviceType, materials: materials, priority: priority),
                           as: officer, expecting: 201).decode(IntakeRegisterCase.Result.self)
    }

    /// The customer's own view, by tracking number and access code (no login).
    func track(_ trackingNumber: String, _ accessCode: String) async throws -> CustomerCaseView {
        try await api.call("POST", "/v1/public/track", ["trackingNumber": .string(trackingNumber), "accessCode": .string(accessCode)])
            .decode(CustomerCaseView.self)
    }

    /// Waits until the customer sees `status`.
    @discardableResult
    func waitForStatus(_ status: CaseStatus, _ trackingNumber: String, _ accessCode: String, timeout: Duration = .seconds(60)) async throws -> CustomerCaseView {
        var last: CaseStatus?
        do {
            return try await eventually("case \(trackingNumber) is \(status.rawValue)", timeout: timeout) {
                let view = try await track(trackingNumber, accessCode)
                last = view.status
                return view.status == status ? view : nil
            }
        } catch {
            throw EndToEndError("\(error) (last seen: \(last?.rawValue ?? "nothing"))")
        }
    }

    // MARK: Review

    /// Waits until the automated checks are done and the case's task sits in the reviewer's queue.
    func reviewTask(for trackingNumber: String, timeout: Duration = .seconds(60)) async throws -> ReviewTaskSummary {
        try await eventually("the review task of \(trackingNumber) is assigned to the reviewer", timeout: timeout) {
            let queue = try await api.call("GET", "/v1/review/queue?scope=mine&limit=200", as: reviewer).decode(ReviewListQueue.Result.self)
            return queue.tasks.first { $0.trackingNumber == trackingNumber && $0.state == .assigned }
        }
    }

    /// The reviewer decides: `approve` with an opinion, `reject` with reasons, `return` with items.
    @discardableResult
    func decide(_ taskId: String, _ decision: ReviewDecisionKind, opinion: String? = nil, reasons: [String]? = nil, items: [String]? = nil) async throws -> ReviewDecide.Result {
        var body: JSONObject = ["decision": .string(decision.rawValue)]
        if let opinion { body["opinion"] = .string(opinion) }
        if let reasons { body["reasons"] = .array(reasons.map(JSON.string)) }
        if let items { body["items"] = .array(items.map(JSON.string)) }
        return try await api.call("POST", "/v1/review/tasks/\(taskId)/decision", .object(body), as: reviewer).decode(ReviewDecide.Result.self)
    }

    // MARK: Routing and processing

    /// Waits until routing has the case (as its handler sees it).
    func assignment(of caseId: String, as handler: GatewayAPI.Session, timeout: Duration = .seconds(60)) async throws -> RoutingAssignment {
        try await eventually("case \(caseId) is routed", timeout: timeout) {
            let answer = try await api.send("GET", "/v1/assignments/\(caseId)", as: handler)
            guard answer.status == 200 else {
                if answer.status == 404 { return nil }
                throw EndToEndError("GET /v1/assignments/\(caseId) answered \(answer)")
            }
            return try answer.json.decode(RoutingAssignment.self)
        }
    }

    /// The handler takes the case on and completes it with a result to collect.
    @discardableResult
    func process(_ caseId: String, as handler: GatewayAPI.Session, result: String, pickup: Pickup) async throws -> RoutingAssignment {
        try await api.call("POST", "/v1/assignments/\(caseId)/accept", [:], as: handler)
        return try await api.call("POST", "/v1/assignments/\(caseId)/completion",
                                  ["result": .string(result), "pickup": try .encoding(pickup)], as: handler)
            .decode(RoutingAssignment.self)
    }
}

extension Customer {
    /// Waits until the customer has received at least `sms` texts and `email` emails.
    @discardableResult
    func waitForMessages(sms: Int, email: Int, in system: OneStopSystem, timeout: Duration = .seconds(60)) async throws -> (sms: [DeliveredMessage], email: [DeliveredMessage]) {
        var last = messages(in: system)
        do {
            return try await eventually("\(name) has \(sms) SMS and \(email) emails", timeout: timeout) {
                last = messages(in: system)
                return last.sms.count >= sms && last.email.count >= email ? last : nil
            }
        } catch {
            throw EndToEndError("\(error); received: \((last.sms + last.email).map(\.description))")
        }
    }
}

/// Each message once: no two deliveries of the same key (SMS) or Message-ID (email).
func duplicates(_ messages: [DeliveredMessage]) -> [String] {
    var seen: [String: Int] = [:]
    for message in messages { seen[message.key ?? message.text, default: 0] += 1 }
    return seen.filter { $0.value > 1 }.map { "\($0.key) ×\($0.value)" }.sorted()
}
