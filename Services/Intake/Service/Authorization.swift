import Contracts
import LineProtocol

extension RPCContext {
    /// The acting staff member, who must hold one of `roles`.
    func requireStaff(_ roles: StaffRole..., doing action: String) throws -> RPCActor {
        guard let actor = meta.actor else {
            throw RPCError.unauthenticated("\(action) is for staff: the call carries no actor (_meta.actor)")
        }
        guard actor.roles.contains(where: { role in roles.contains { $0.rawValue == role } }) else {
            throw RPCError.forbidden("\(action) needs the role \(roles.map(\.rawValue).joined(separator: " or ")); \(actor.id) has \(actor.roles.joined(separator: ", "))")
        }
        return actor
    }

    func actorHas(_ role: StaffRole) -> Bool { meta.actor?.roles.contains(role.rawValue) ?? false }
}
