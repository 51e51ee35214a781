/// The staff roles of the hall (DOMAIN.md). The gateway authenticates a member of staff and puts
/// their roles in `_meta.actor.roles`; every service checks them again.
public enum StaffRole: String, Sendable, Codable, CaseIterable, Hashable {
    case intakeOfficer = "intake_officer"
    case reviewer
    case routingOfficer = "routing_officer"
    case handler
    case complaintOfficer = "complaint_officer"
    case supervisor
    case administrator
}
