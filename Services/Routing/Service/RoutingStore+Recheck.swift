import Contracts
import Postgres
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The slips `routing.reopen` writes for a complaint: each carries the complaint's number, at most
/// one per case and complaint (a unique index).
extension RoutingStore {
    /// Writes a slip for `complaintNumber`; false when that complaint already has one on the case.
    static func insertSlip(_ s: RoutingSlip, assignment: UUID, complaintNumber: String, on c: PostgresConnection) async throws -> Bool {
        let rows = try await c.query("""
            INSERT INTO routing_slips (id, assignment_id, kind, at, from_department, from_handler, to_department, to_handler, reason, by_staff, complaint_number)
            VALUES (\(UUID(uuidString: s.slipId) ?? UUID.v7()), \(assignment), \(s.kind.rawValue), \(s.at),
                \(s.fromDepartment as String?), \(s.fromHandler as String?), \(s.toDepartment), \(s.toHandler as String?), \(s.reason), \(s.by), \(complaintNumber))
            ON CONFLICT (assignment_id, complaint_number) WHERE complaint_number IS NOT NULL DO NOTHING
            RETURNING 1 AS inserted
            """)
        return !rows.isEmpty
    }

    /// The slip a complaint already has on the case: its kind and when it was written.
    static func complaintSlip(assignment: UUID, complaintNumber: String, on c: PostgresConnection) async throws -> (kind: RoutingSlip.Kind, at: Date)? {
        guard let row = try await c.query("""
            SELECT kind, at FROM routing_slips WHERE assignment_id = \(assignment) AND complaint_number = \(complaintNumber)
            """).first else { return nil }
        let kind = RoutingSlip.Kind(rawValue: try row.decode(String.self, column: "kind")) ?? .recheck
        return (kind, try row.decode(Date.self, column: "at"))
    }
}
