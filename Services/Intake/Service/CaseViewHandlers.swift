import Contracts
import JSONCoding
import LineProtocol
import Postgres
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Reading cases: staff by id and by search, customers by tracking number and access code,
/// other services asking for a customer's open cases.
struct CaseViewHandlers: Sendable {
    let database: PostgresPool
    let catalog: ServiceCatalog
    let registration: RegistrationHandlers

    static let staffRoles: [StaffRole] = [.intakeOfficer, .reviewer, .routingOfficer, .handler, .complaintOfficer, .supervisor, .administrator]

    func getCase(_ params: IntakeGetCase.Params, _ context: RPCContext) async throws -> CaseView {
        guard let actor = context.meta.actor, actor.roles.contains(where: { role in Self.staffRoles.contains { $0.rawValue == role } }) else {
            throw RPCError.forbidden("reading a case by id is for staff; customers use intake.trackCase with their tracking number and access code", zh: "按 id 查看办件仅限工作人员；申请人请凭受理编号和查询码使用 intake.trackCase 查询")
        }
        guard let id = UUID(uuidString: params.caseId) else { throw RPCError.invalidParams("caseId: not a UUID", zh: "caseId：不是有效的 UUID") }
        // The common read, a normal case not yet archived, needs no transaction and one statement.
        guard let (record, names, timeline) = try await CaseStore.loadWithTimeline(id: id, on: database) else {
            throw RPCError.notFound("no case \(params.caseId)", zh: "未找到办件 \(params.caseId)")
        }
        if record.confidentiality == .normal, record.archivedAt == nil {
            return Self.view(record, serviceName: names?.text(record.locale) ?? record.serviceType, timeline: timeline)
        }
        // Archived or confidential: the grant check and the audit row commit with the read.
        return try await database.withTransaction { connection in
            guard let record = try await CaseStore.load(id: id, on: connection) else { throw RPCError.notFound("no case \(params.caseId)", zh: "未找到办件 \(params.caseId)") }
            if record.archivedAt != nil {
                // An archived case is read only under an approved, unexpired grant, and each read is logged.
                let grant = try await connection.query("""
                    SELECT id FROM archive_grants WHERE case_id = \(id) AND requested_by = \(actor.id) AND status = 'approved'
                        AND valid_until > now() ORDER BY valid_until DESC LIMIT 1
                    """).first
                guard let grantID = try grant?.decode(UUID.self, column: "id") else {
                    throw RPCError.forbidden("case \(record.trackingNumber) is archived: ask for access with intake.requestArchiveAccess and a supervisor's approval", zh: "办件 \(record.trackingNumber) 已归档：请通过 intake.requestArchiveAccess 申请调阅，并经主管批准")
                }
                try await connection.execute("INSERT INTO archive_reads (grant_id, case_id, reader) VALUES (\(grantID), \(id), \(actor.id))")
            }
            if record.confidentiality != .normal || record.archivedAt != nil {
                try await AuditTrail.record("case.read", by: AuditActor(actor), caseID: id,
                                            after: ["confidentiality": .string(record.confidentiality.rawValue)], context: context, on: connection)
            }
            let serviceName = try await catalog.serviceType(record.serviceType, on: connection)?.name.text(record.locale) ?? record.serviceType
            return Self.view(record, serviceName: serviceName, timeline: try await CaseStore.timeline(of: id, publicOnly: false, on: connection))
        }
    }

    static func view(_ record: CaseRecord, serviceName: String, timeline: [TimelineEntry]) -> CaseView {
        CaseView(
            caseId: record.caseID, trackingNumber: record.trackingNumber, status: record.status,
            serviceType: record.serviceType, serviceName: serviceName, channel: record.channel,
            applicantType: record.applicantType, customerName: record.customerName, idType: record.idType,
            idNumberMasked: record.idNumberMasked, phoneMasked: record.phoneMasked, emailMasked: record.emailMasked,
            priority: record.priority, confidentiality: record.confidentiality, description: record.description,
            materials: record.materials, notice: record.notice, owner: record.ownerID, department: record.department,
            handler: record.handlerID, dueDate: record.dueDate, registeredAt: record.registeredAt,
            archived: record.archivedAt != nil, timeline: timeline
        )
    }

    func trackCase(_ params: CustomerCredentials, _ context: RPCContext) async throws -> CustomerCaseView {
        // Same answer for an unknown number and a wrong code, so nothing leaks.
        let unknown = RPCError.notFound("no case matches this tracking number and access code", zh: "没有与此受理编号和查询码相符的办件")
        let number = params.trackingNumber.uppercased().trimmingCharacters(in: .whitespaces)
        guard TrackingNumber.isWellFormed(number) else { throw unknown }
        // One round trip: the customer's lookup is the hottest read and each statement costs a
        // network hop plus a hop to the connection thread; the case row repeats on each public
        // timeline row (a case has a handful), which is cheaper than a second query.
        let rows = try await database.query("""
            SELECT c.access_code_hash, c.status, c.locale, c.service_type, c.department, c.registered_at,
                   c.due_date::text AS due_date, c.notice::text AS notice,
                   (SELECT s.definition->'name' FROM catalog_service_types s WHERE s.code = c.service_type)::text AS service_name,
                   t.at, t.event, t.detail
            FROM cases c
            LEFT JOIN case_timeline t ON t.case_id = c.id AND t.public
            WHERE c.tracking_number = \(number)
            ORDER BY t.id
            """)
        guard let first = rows.first else { throw unknown }
        let given = registration.vault.lookupHash(AccessCode.normalise(params.accessCode), kind: "access")
        guard constantTimeEqual(given, try first.decode(String.self, column: "access_code_hash")) else { throw unknown }
        let status = CaseStatus(rawValue: try first.decode(String.self, column: "status")) ?? .accepted
        let locale = try params.locale ?? CustomerLocale(rawValue: first.decode(String.self, column: "locale")) ?? .zhCN
        var serviceName = try first.decode(String.self, column: "service_type")
        if let name = try first.decode(String?.self, column: "service_name") {
            serviceName = try JSONValueDecoder().decode(LocalizedText.self, from: JSON.parse(Array(name.utf8))).text(locale)
        }
        var notice: MaterialsNotice?
        if status == .awaitingMaterials || status == .returned, let text = try first.decode(String?.self, column: "notice") {
            notice = try JSONValueDecoder().decode(MaterialsNotice.self, from: JSON.parse(Array(text.utf8)))
        }
        var timeline: [TimelineEntry] = []
        for row in rows {
            guard let at = try row.decode(Date?.self, column: "at") else { continue }
            timeline.append(TimelineEntry(at: at, event: try row.decode(String.self, column: "event"), actor: nil,
                                          detail: try row.decode(String?.self, column: "detail")))
        }
        return CustomerCaseView(
            trackingNumber: number, status: status, serviceName: serviceName,
            registeredAt: try first.decode(Date.self, column: "registered_at"),
            dueDate: try first.decode(String?.self, column: "due_date"), notice: notice, timeline: timeline,
            serviceType: try first.decode(String.self, column: "service_type"), department: try first.decode(String.self, column: "department")
        )
    }

    func findCases(_ params: IntakeFindCases.Params, _ context: RPCContext) async throws -> IntakeFindCases.Result {
        guard let actor = context.meta.actor, actor.roles.contains(where: { role in Self.staffRoles.contains { $0.rawValue == role } }) else {
            throw RPCError.forbidden("searching cases is for staff", zh: "查找办件仅限工作人员")
        }
        let limit = params.limit ?? 50
        guard (1...500).contains(limit) else { throw RPCError.invalidParams("limit: 1 to 500", zh: "limit：1 至 500") }
        if let numbers = params.trackingNumbers, !(1...IntakeFindCases.maxTrackingNumbers).contains(numbers.count) || numbers.contains(where: { !(1...40).contains($0.count) }) {
            throw RPCError.invalidParams("trackingNumbers: 1 to \(IntakeFindCases.maxTrackingNumbers) tracking numbers of 1 to 40 characters", zh: "trackingNumbers：1 至 \(IntakeFindCases.maxTrackingNumbers) 个受理编号，每个 1 至 40 个字符")
        }
        var sql: SQL = """
            SELECT id, tracking_number, status, service_type, channel, customer_name, priority, owner_id, department, registered_at,
                   due_date::text AS due_date
            FROM cases WHERE archived_at IS NULL
            """
        if let numbers = params.trackingNumbers { sql += " AND tracking_number = ANY(\(numbers.map { $0.uppercased() }))" }
        if let status = params.status { sql += " AND status = \(status.rawValue)" }
        if let owner = params.owner { sql += " AND owner_id = \(owner)" }
        if let serviceType = params.serviceType { sql += " AND service_type = \(serviceType)" }
        if let channel = params.channel { sql += " AND channel = \(channel.rawValue)" }
        if let department = params.department { sql += " AND department = \(department)" }
        if let from = params.registeredFrom { sql += " AND registered_at >= \(from)" }
        if let before = params.registeredBefore { sql += " AND registered_at < \(before)" }
        if let cursor = params.cursor {
            let parts = cursor.split(separator: "_")
            guard parts.count == 2, let micros = Int64(parts[0]), let id = UUID(uuidString: String(parts[1])) else {
                throw RPCError.invalidParams("cursor: pass back the nextCursor of the previous page unchanged", zh: "cursor：请原样传回上一页的 nextCursor")
            }
            let at = Date(timeIntervalSince1970: Double(micros) / 1_000_000)
            sql += " AND (registered_at, id) < (\(at), \(id))"
        }
        sql += " ORDER BY registered_at DESC, id DESC LIMIT \(limit + 1)"
        let rows = try await database.query(sql)
        var cases: [IntakeFindCases.Summary] = []
        for row in rows.prefix(limit) {
            cases.append(IntakeFindCases.Summary(
                caseId: try row.decode(UUID.self, column: "id").lowercasedString,
                trackingNumber: try row.decode(String.self, column: "tracking_number"),
                status: CaseStatus(rawValue: try row.decode(String.self, column: "status")) ?? .accepted,
                serviceType: try row.decode(String.self, column: "service_type"),
                channel: IntakeChannel(rawValue: try row.decode(String.self, column: "channel")) ?? .counter,
                customerName: try row.decode(String.self, column: "customer_name"),
                priority: CasePriority(rawValue: try row.decode(String.self, column: "priority")) ?? .regular,
                owner: try row.decode(String.self, column: "owner_id"),
                department: try row.decode(String.self, column: "department"),
                registeredAt: try row.decode(Date.self, column: "registered_at"),
                dueDate: try row.decode(String?.self, column: "due_date")
            ))
        }
        var next: String?
        if rows.count > limit, let last = cases.last {
            // Microseconds, as Postgres stores them, so the cursor compares exactly.
            let micros = Int64((last.registeredAt.timeIntervalSince1970 * 1_000_000).rounded())
            next = "\(micros)_\(last.caseId)"
        }
        return IntakeFindCases.Result(cases: cases, nextCursor: next)
    }

    func openCasesOfCustomer(_ params: IntakeOpenCasesOfCustomer.Params, _ context: RPCContext) async throws -> IntakeOpenCasesOfCustomer.Result {
        let excluding = params.excludingCaseId.flatMap(UUID.init(uuidString:))
        let rows = try await database.query("""
            SELECT id, tracking_number, status FROM cases
            WHERE id_number_hash = \(params.customerKey) AND service_type = \(params.serviceType)
              AND status NOT IN ('not_accepted', 'lapsed', 'withdrawn', 'rejected', 'completed', 'closed')
              AND (\(excluding)::uuid IS NULL OR id <> \(excluding))
            ORDER BY registered_at LIMIT 20
            """)
        return IntakeOpenCasesOfCustomer.Result(cases: try rows.map {
            .init(caseId: try $0.decode(UUID.self, column: "id").lowercasedString,
                  trackingNumber: try $0.decode(String.self, column: "tracking_number"),
                  status: CaseStatus(rawValue: try $0.decode(String.self, column: "status")) ?? .accepted)
        })
    }
}
