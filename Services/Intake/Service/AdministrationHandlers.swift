import Contracts
import JSONCoding
import LineProtocol
import Postgres
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The catalog, the duty roster and access to the archive: what administrators and
/// supervisors maintain.
struct AdministrationHandlers: Sendable {
    let database: PostgresPool
    let catalog: ServiceCatalog
    let settings: IntakeSettings

    func listCatalog(_ params: IntakeListCatalog.Params, _ context: RPCContext) async throws -> IntakeListCatalog.Result {
        IntakeListCatalog.Result(serviceTypes: try await catalog.all(includeInactive: params.includeInactive ?? false))
    }

    func upsertServiceType(_ params: IntakeUpsertServiceType.Params, _ context: RPCContext) async throws -> IntakeUpsertServiceType.Result {
        let admin = try context.requireStaff(.administrator, doing: "changing the service catalog")
        try ServiceCatalog.validate(params.serviceType)
        return try await database.withTransaction { connection in
            let (version, before) = try await catalog.upsert(params.serviceType, by: admin.id, on: connection)
            try await AuditTrail.record(
                "catalog.upserted", by: AuditActor(admin), caseID: nil,
                before: try before.map { try JSON.parse(Array($0.utf8)) },
                after: try JSONValueEncoder().encode(params.serviceType), context: context, on: connection
            )
            return IntakeUpsertServiceType.Result(code: params.serviceType.code, version: version)
        }
    }

    func setDutyOfficer(_ params: IntakeSetDutyOfficer.Params, _ context: RPCContext) async throws -> IntakeSetDutyOfficer.Result {
        let supervisor = try context.requireStaff(.supervisor, .administrator, doing: "setting the duty roster")
        guard let day = LocalDate(params.day) else { throw RPCError.invalidParams("day: a date as YYYY-MM-DD", zh: "day：日期，格式为 YYYY-MM-DD") }
        guard !params.officer.id.isEmpty else { throw RPCError.invalidParams("officer.id: required", zh: "officer.id：必填") }
        try await database.withTransaction { connection in
            try await connection.execute("""
                INSERT INTO duty_roster (day, officer_id, officer_name) VALUES (\(day.description)::date, \(params.officer.id), \(params.officer.name))
                ON CONFLICT (day) DO UPDATE SET officer_id = EXCLUDED.officer_id, officer_name = EXCLUDED.officer_name
                """)
            try await AuditTrail.record("duty_roster.set", by: AuditActor(supervisor), caseID: nil,
                                        after: ["day": .string(day.description), "officer": .string(params.officer.id)], context: context, on: connection)
        }
        return IntakeSetDutyOfficer.Result(day: day.description, officer: params.officer)
    }

    func requestArchiveAccess(_ params: IntakeRequestArchiveAccess.Params, _ context: RPCContext) async throws -> IntakeRequestArchiveAccess.Result {
        guard let actor = context.meta.actor else { throw RPCError.unauthenticated("archive access is for staff", zh: "调阅归档办件仅限工作人员") }
        guard let id = UUID(uuidString: params.caseId) else { throw RPCError.invalidParams("caseId: not a UUID", zh: "caseId：不是有效的 UUID") }
        let reason = params.reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (5...1000).contains(reason.count) else { throw RPCError.invalidParams("reason: 5 to 1000 characters", zh: "reason：5 至 1000 个字符") }
        return try await database.withTransaction { connection in
            guard let record = try await CaseStore.load(id: id, on: connection) else { throw RPCError.notFound("no case \(params.caseId)", zh: "未找到办件 \(params.caseId)") }
            guard record.archivedAt != nil else {
                throw RPCError.invalidState("case \(record.trackingNumber) is not archived: read it with intake.getCase", zh: "办件 \(record.trackingNumber) 未归档：请用 intake.getCase 查看")
            }
            let grantID = UUID.v7()
            try await connection.execute("""
                INSERT INTO archive_grants (id, case_id, requested_by, reason) VALUES (\(grantID), \(id), \(actor.id), \(reason))
                """)
            try await AuditTrail.record("archive.access_requested", by: AuditActor(actor), caseID: id,
                                        after: ["grant": .string(grantID.lowercasedString), "reason": .string(reason)], context: context, on: connection)
            return .init(grantId: grantID.lowercasedString, status: "requested", validUntil: nil)
        }
    }

    func approveArchiveAccess(_ params: IntakeApproveArchiveAccess.Params, _ context: RPCContext) async throws -> IntakeRequestArchiveAccess.Result {
        let supervisor = try context.requireStaff(.supervisor, doing: "approving archive access")
        guard let id = UUID(uuidString: params.grantId) else { throw RPCError.invalidParams("grantId: not a UUID", zh: "grantId：不是有效的 UUID") }
        let hours = params.hours ?? settings.archiveGrantHours
        guard (1...720).contains(hours) else { throw RPCError.invalidParams("hours: 1 to 720", zh: "hours：1 至 720") }
        return try await database.withTransaction { connection in
            guard let row = try await connection.query("SELECT case_id, requested_by, status FROM archive_grants WHERE id = \(id) FOR UPDATE").first else {
                throw RPCError.notFound("no archive access request \(params.grantId)", zh: "未找到归档调阅申请 \(params.grantId)")
            }
            guard try row.decode(String.self, column: "status") == "requested" else {
                throw RPCError.conflict("archive access request \(params.grantId) was already decided", zh: "归档调阅申请 \(params.grantId) 已经审批")
            }
            guard try row.decode(String.self, column: "requested_by") != supervisor.id else {
                throw RPCError.forbidden("a supervisor cannot approve their own archive access request", zh: "主管不能审批自己的归档调阅申请")
            }
            let validUntil = Date().addingTimeInterval(Double(hours) * 3600)
            try await connection.execute("""
                UPDATE archive_grants SET status = 'approved', approved_by = \(supervisor.id), valid_until = \(validUntil) WHERE id = \(id)
                """)
            try await AuditTrail.record("archive.access_approved", by: AuditActor(supervisor), caseID: try row.decode(UUID.self, column: "case_id"),
                                        after: ["grant": .string(params.grantId), "hours": .integer(Int64(hours))], context: context, on: connection)
            return .init(grantId: params.grantId, status: "approved", validUntil: validUntil)
        }
    }
}
