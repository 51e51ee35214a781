import Contracts
import LineProtocol

extension RPCContext {
    /// The acting staff member, who must hold one of `roles`.
    func requireStaff(_ roles: StaffRole..., doing action: String) throws -> RPCActor {
        guard let actor = meta.actor else {
            throw RPCError.unauthenticated("\(action) is for staff: the call carries no actor (_meta.actor)", zh: "\(action) 仅限工作人员使用：调用中没有操作人（_meta.actor）")
        }
        guard actor.roles.contains(where: { role in roles.contains { $0.rawValue == role } }) else {
            throw RPCError.forbidden("\(action) needs the role \(roles.map(\.rawValue).joined(separator: " or ")); \(actor.id) has \(actor.roles.joined(separator: ", "))", zh: "\(action) 需要角色 \(roles.map(\.rawValue).joined(separator: " 或 "))；\(actor.id) 的角色为 \(actor.roles.joined(separator: ", "))")
        }
        return actor
    }

    func actorHas(_ role: StaffRole) -> Bool { meta.actor?.roles.contains(role.rawValue) ?? false }
}
