import Contracts
import JSONCoding
import LineProtocol
import Postgres
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// A case row as the handlers use it.
struct CaseRecord: Sendable {
    var id: UUID
    var trackingNumber: String
    var accessCodeHash: String
    var serviceType: String
    var channel: IntakeChannel
    var applicantType: ApplicantType
    var customerName: String
    var idType: String
    var idNumberCipher: Data
    var idNumberHash: String
    var idNumberMasked: String
    var phoneCipher: Data?
    var phoneMasked: String?
    var emailCipher: Data?
    var emailMasked: String?
    var keyID: String
    var principalJSON: String?
    var locale: CustomerLocale
    var description: String
    var declaredAmount: Double?
    var priority: CasePriority
    var confidentiality: Confidentiality
    var status: CaseStatus
    var ownerID: String
    var ownerName: String?
    var department: String
    var handlerID: String?
    var materials: [MaterialItem]
    var noticedItems: [String]
    var notice: MaterialsNotice?
    var dueDate: String?
    var reviewRound: Int
    var registeredAt: Date
    var acceptedAt: Date?
    var archivedAt: Date?

    var caseID: String { id.lowercasedString }
}

/// The SQL of cases, their timeline and their audit trail.
enum CaseStore {
    static let columns = """
        id, tracking_number, access_code_hash, service_type, channel, applicant_type, customer_name, id_type,
        id_number_cipher, id_number_hash, id_number_masked, phone_cipher, phone_masked, email_cipher, email_masked,
        key_id, principal::text AS principal, locale, description, declared_amount, priority, confidentiality, status,
        owner_id, owner_name, department, handler_id, materials::text AS materials, noticed_items,
        notice::text AS notice, due_date::text AS due_date, review_round, registered_at, accepted_at, archived_at
        """

    /// `columns` for a query that joins `cases c` with tables that have columns of the same names.
    static let qualifiedColumns = columns.split(separator: ",")
        .map { "c." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        .joined(separator: ", ")

    /// A case, the catalog's names of its service type and its whole timeline in one round trip
    /// (the case's columns repeat on each timeline row; a case has a handful). Staff open case
    /// files all day, and each statement costs a hop to Postgres and back.
    static func loadWithTimeline(id: UUID, on database: PostgresPool) async throws -> (CaseRecord, serviceName: LocalizedText?, timeline: [TimelineEntry])? {
        let rows = try await database.query("""
            SELECT \(unsafeRaw: qualifiedColumns),
                   (SELECT s.definition->'name' FROM catalog_service_types s WHERE s.code = c.service_type)::text AS service_name,
                   t.at AS timeline_at, t.event AS timeline_event, t.actor AS timeline_actor, t.detail AS timeline_detail
            FROM cases c
            LEFT JOIN case_timeline t ON t.case_id = c.id
            WHERE c.id = \(id)
            ORDER BY t.id
            """)
        guard let first = rows.first else { return nil }
        var serviceName: LocalizedText?
        if let name = try first.decode(String?.self, column: "service_name") {
            serviceName = try JSONValueDecoder().decode(LocalizedText.self, from: JSON.parse(Array(name.utf8)))
        }
        var timeline: [TimelineEntry] = []
        for row in rows {
            guard let at = try row.decode(Date?.self, column: "timeline_at") else { continue }
            timeline.append(TimelineEntry(
                at: at, event: try row.decode(String.self, column: "timeline_event"),
                actor: try row.decode(String?.self, column: "timeline_actor"), detail: try row.decode(String?.self, column: "timeline_detail")
            ))
        }
        return (try decode(first), serviceName, timeline)
    }

    static func load(id: UUID, forUpdate: Bool = false, on connection: PostgresConnection) async throws -> CaseRecord? {
        let rows = try await connection.query("SELECT \(unsafeRaw: columns) FROM cases WHERE id = \(id)\(unsafeRaw: forUpdate ? " FOR UPDATE" : "")")
        return try rows.first.map(decode)
    }

    static func load(trackingNumber: String, forUpdate: Bool = false, on connection: PostgresConnection) async throws -> CaseRecord? {
        let rows = try await connection.query("SELECT \(unsafeRaw: columns) FROM cases WHERE tracking_number = \(trackingNumber)\(unsafeRaw: forUpdate ? " FOR UPDATE" : "")")
        return try rows.first.map(decode)
    }

    static func decode(_ row: PostgresRow) throws -> CaseRecord {
        func json<T: Decodable>(_ column: String, as type: T.Type) throws -> T? {
            guard let text = try row.decode(String?.self, column: column) else { return nil }
            return try JSONValueDecoder().decode(T.self, from: JSON.parse(Array(text.utf8)))
        }
        return CaseRecord(
            id: try row.decode(UUID.self, column: "id"),
            trackingNumber: try row.decode(String.self, column: "tracking_number"),
            accessCodeHash: try row.decode(String.self, column: "access_code_hash"),
            serviceType: try row.decode(String.self, column: "service_type"),
            channel: IntakeChannel(rawValue: try row.decode(String.self, column: "channel")) ?? .counter,
            applicantType: ApplicantType(rawValue: try row.decode(String.self, column: "applicant_type")) ?? .individual,
            customerName: try row.decode(String.self, column: "customer_name"),
            idType: try row.decode(String.self, column: "id_type"),
            idNumberCipher: try row.decode(Data.self, column: "id_number_cipher"),
            idNumberHash: try row.decode(String.self, column: "id_number_hash"),
            idNumberMasked: try row.decode(String.self, column: "id_number_masked"),
            phoneCipher: try row.decode(Data?.self, column: "phone_cipher"),
            phoneMasked: try row.decode(String?.self, column: "phone_masked"),
            emailCipher: try row.decode(Data?.self, column: "email_cipher"),
            emailMasked: try row.decode(String?.self, column: "email_masked"),
            keyID: try row.decode(String.self, column: "key_id"),
            principalJSON: try row.decode(String?.self, column: "principal"),
            locale: CustomerLocale(rawValue: try row.decode(String.self, column: "locale")) ?? .zhCN,
            description: try row.decode(String.self, column: "description"),
            declaredAmount: try row.decode(Double?.self, column: "declared_amount"),
            priority: CasePriority(rawValue: try row.decode(String.self, column: "priority")) ?? .regular,
            confidentiality: Confidentiality(rawValue: try row.decode(String.self, column: "confidentiality")) ?? .normal,
            status: CaseStatus(rawValue: try row.decode(String.self, column: "status")) ?? .accepted,
            ownerID: try row.decode(String.self, column: "owner_id"),
            ownerName: try row.decode(String?.self, column: "owner_name"),
            department: try row.decode(String.self, column: "department"),
            handlerID: try row.decode(String?.self, column: "handler_id"),
            materials: try json("materials", as: [MaterialItem].self) ?? [],
            noticedItems: try row.decode([String].self, column: "noticed_items"),
            notice: try json("notice", as: MaterialsNotice.self),
            dueDate: try row.decode(String?.self, column: "due_date"),
            reviewRound: try row.decode(Int.self, column: "review_round"),
            registeredAt: try row.decode(Date.self, column: "registered_at"),
            acceptedAt: try row.decode(Date?.self, column: "accepted_at"),
            archivedAt: try row.decode(Date?.self, column: "archived_at")
        )
    }

    static func jsonb(_ value: some Encodable) throws -> PostgresJSONB {
        PostgresJSONB(rawJSON: try JSONValueEncoder().encode(value).jsonString)
    }

    static func appendTimeline(
        _ caseID: UUID, event: String, actor: String?, detail: String?, public isPublic: Bool = true,
        at instant: Date = Date(), on connection: PostgresConnection
    ) async throws {
        try await connection.execute(timelineInsertion(caseID, event: event, actor: actor, detail: detail, public: isPublic, at: instant))
    }

    /// The INSERT of `appendTimeline`, for a caller that writes it as a CTE of a larger statement.
    static func timelineInsertion(
        _ caseID: UUID, event: String, actor: String?, detail: String?, public isPublic: Bool = true, at instant: Date = Date()
    ) -> SQL {
        """
        INSERT INTO case_timeline (case_id, at, event, actor, detail, public)
        VALUES (\(caseID), \(instant), \(event), \(actor), \(detail), \(isPublic))
        """
    }

    static func timeline(of caseID: UUID, publicOnly: Bool, on connection: PostgresConnection) async throws -> [TimelineEntry] {
        let rows = try await connection.query("""
            SELECT at, event, actor, detail FROM case_timeline
            WHERE case_id = \(caseID) \(unsafeRaw: publicOnly ? "AND public" : "") ORDER BY id
            """)
        return try rows.map {
            TimelineEntry(
                at: try $0.decode(Date.self, column: "at"), event: try $0.decode(String.self, column: "event"),
                actor: publicOnly ? nil : try $0.decode(String?.self, column: "actor"),
                detail: try $0.decode(String?.self, column: "detail")
            )
        }
    }
}

/// Who is acting, as the audit trail records it.
struct AuditActor: Sendable {
    var id: String
    var role: String?

    static let system = AuditActor(id: "system", role: "system")
    static let customer = AuditActor(id: "customer", role: "customer")

    init(id: String, role: String?) {
        self.id = id
        self.role = role
    }

    init(_ actor: RPCActor) {
        id = actor.id
        role = actor.roles.first
    }
}

enum AuditTrail {
    static func record(
        _ action: String, by actor: AuditActor, caseID: UUID?, before: JSON? = nil, after: JSON? = nil,
        context: RPCContext?, on connection: PostgresConnection
    ) async throws {
        try await connection.execute(insertion(action, by: actor, caseID: caseID, before: before, after: after, context: context))
    }

    /// The INSERT of `record`, for a caller that writes it as a CTE of a larger statement.
    static func insertion(_ action: String, by actor: AuditActor, caseID: UUID?, before: JSON? = nil, after: JSON? = nil, context: RPCContext?) -> SQL {
        let beforeJSON = before.map { PostgresJSONB(rawJSON: $0.jsonString) }
        let afterJSON = after.map { PostgresJSONB(rawJSON: $0.jsonString) }
        let trace = context?.meta.traceparent
        return """
            INSERT INTO audit_log (actor, role, action, case_id, before, after, trace_id)
            VALUES (\(actor.id), \(actor.role), \(action), \(caseID), \(beforeJSON), \(afterJSON), \(trace))
            """
    }
}
