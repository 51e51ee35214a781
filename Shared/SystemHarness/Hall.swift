import Contracts
import JSONCoding

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The people and organisation of the hall, set up through the API by the bootstrap
/// administrator: staff users whose ids are the reviewer and handler ids the services use
/// (the gateway passes the user id as `_meta.actor.id`), the review roster, two departments
/// with their handlers, heads and routing rules.
public struct Hall: Sendable {
    public let api: GatewayAPI
    public let admin: GatewayAPI.Session
    public let officer: GatewayAPI.Session
    public let reviewer: GatewayAPI.Session
    public let supervisor: GatewayAPI.Session
    public let complaintOfficer: GatewayAPI.Session
    /// Handler of housing-fund withdrawals (person-decides review).
    public let housingHandler: GatewayAPI.Session
    /// Handler of residence permits (automatically approved when nothing is flagged).
    public let permitHandler: GatewayAPI.Session

    /// A department and the service type the scenarios file there.
    public struct Desk: Sendable {
        public var department: String
        public var serviceType: String
        public var handler: String
        public var head: String
    }

    public static let housing = Desk(department: "housing_fund", serviceType: "housing_fund_withdrawal", handler: "handler-housing", head: "head-housing")
    public static let permits = Desk(department: "public_security", serviceType: "residence_permit", handler: "handler-permits", head: "head-permits")
    /// The complaints service escalates major complaints to this id (its default supervisor).
    public static let supervisorID = "supervisor"

    public static func password(of user: String) -> String { "password of \(user) for e2e" }

    public static func setUp(_ api: GatewayAPI) async throws -> Hall {
        let admin = try await api.login(OneStopSystem.adminUser, OneStopSystem.adminPassword)
        func user(_ id: String, _ roles: [StaffRole], department: String? = nil) async throws -> GatewayAPI.Session {
            try await api.call("POST", "/v1/users", [
                "id": .string(id), "displayName": .string("E2E \(id)"), "roles": .array(roles.map { .string($0.rawValue) }),
                "department": department.map(JSON.string) ?? .null, "password": .string(password(of: id)),
            ], as: admin, expecting: 201)
            return try await api.login(id, password(of: id))
        }
        let officer = try await user("officer-e2e", [.intakeOfficer])
        let reviewer = try await user("reviewer-e2e", [.reviewer])
        let supervisor = try await user(supervisorID, [.supervisor])
        let complaintOfficer = try await user("complaints-e2e", [.complaintOfficer])
        var handlers: [GatewayAPI.Session] = []
        for desk in [housing, permits] {
            handlers.append(try await user(desk.handler, [.handler], department: desk.department))
            _ = try await user(desk.head, [.handler], department: desk.department)
        }

        try await api.call("PUT", "/v1/review/reviewers/reviewer-e2e", try .encoding(
            ReviewReviewer(id: "reviewer-e2e", name: "E2E reviewer", serviceTypes: ["*"], onDuty: true)
        ), as: admin)
        for desk in [housing, permits] {
            try await api.call("PUT", "/v1/organisation/departments/\(desk.department)", try .encoding(
                RoutingDepartment(code: desk.department, nameZh: desk.department, nameEn: "E2E \(desk.department)",
                                  head: RoutingStaffContact(id: desk.head, name: "Head of \(desk.department)", email: "\(desk.head)@hall.example.org"))
            ), as: admin)
            try await api.call("PUT", "/v1/organisation/handlers/\(desk.handler)", try .encoding(
                RoutingHandler(id: desk.handler, name: "E2E \(desk.handler)", department: desk.department,
                               skills: [desk.serviceType], capacity: 100, email: "\(desk.handler)@hall.example.org")
            ), as: admin)
            try await api.call("PUT", "/v1/organisation/rules/\(desk.serviceType)", try .encoding(
                RoutingSetRule.Params(serviceType: desk.serviceType, department: desk.department)
            ), as: admin)
        }
        return Hall(api: api, admin: admin, officer: officer, reviewer: reviewer, supervisor: supervisor,
                    complaintOfficer: complaintOfficer, housingHandler: handlers[0], permitHandler: handlers[1])
    }
}

/// A customer with an identity and contact details of their own, so each scenario can tell its
/// messages from the others' at the shared sinks.
public struct Customer: Sendable {
    public let name: String
    public let idNumber: String
    /// The 11-digit mobile number as typed; the sinks see `e164`.
    public let mobile: String
    public let email: String

    public var e164: String { "+86" + mobile }

    public static func make(_ name: String = "Li Lei") -> Customer {
        let serial = String(format: "%08d", Int.random(in: 0..<100_000_000))
        let body = "110101" + "19\(Int.random(in: 50...99))" + String(format: "%02d%02d", Int.random(in: 1...12), Int.random(in: 1...28))
            + String(format: "%03d", Int.random(in: 0...999))
        return Customer(
            name: name, idNumber: body + residentIDCheckCharacter(body), mobile: "139" + serial,
            email: "customer-\(serial)-\(UUID().uuidString.prefix(6).lowercased())@example.org"
        )
    }

    /// GB 11643: the weighted sum of the 17 digits mod 11 picks the check character.
    public static func residentIDCheckCharacter(_ digits: String) -> String {
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        let sum = zip(digits.compactMap(\.wholeNumberValue), weights).reduce(0) { $0 + $1.0 * $1.1 }
        return String(Array("10X98765432")[sum % 11])
    }

    /// A counter registration for an individual applying for themself.
    public func application(_ serviceType: String, materials: [MaterialItem], priority: CasePriority = .regular) throws -> JSON {
        try .encoding(IntakeRegisterCase.Params(
            channel: .counter, serviceType: serviceType, applicantType: .individual,
            applicant: IdentityInput(name: name, idType: "resident_id", idNumber: idNumber),
            contact: ContactInput(phone: mobile, email: email, locale: .en),
            description: "End-to-end application for \(serviceType)", materials: materials, priority: priority
        ))
    }

    /// What the customer received so far: SMS to their phone and emails to their address.
    public func messages(in system: OneStopSystem) -> (sms: [DeliveredMessage], email: [DeliveredMessage]) {
        (system.sms.smsMessages().filter { $0.recipient == e164 }, system.mail.emailMessages().filter { $0.recipient == email })
    }
}

/// Materials of the catalog's service types, complete for an individual.
public enum Materials {
    public static let housingFund = [
        MaterialItem(code: "id_card", copies: 1, original: true),
        MaterialItem(code: "bank_card", copies: 1, original: false),
        MaterialItem(code: "purchase_contract", copies: 1, original: false),
    ]
    public static let residencePermit = [
        MaterialItem(code: "id_card", copies: 1, original: true),
        MaterialItem(code: "photo", copies: 2, original: true),
        MaterialItem(code: "residence_proof", copies: 1, original: false),
    ]
}
