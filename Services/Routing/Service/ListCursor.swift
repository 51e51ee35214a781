import LineProtocol
import Postgres
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Where a keyset-paged list (ordered by due date, then id; a department's queue by urgency
/// first) stopped: the last row's key, as an opaque token so clients pass it back rather than
/// build it.
struct ListCursor: Sendable, Equatable {
    /// `RoutingStore.urgencyOrder` of the row (0 in lists not ordered by urgency).
    var urgency: Int = 0
    var due: LocalDate
    var id: UUID

    /// Below every UUID: the id half of "start from the beginning".
    static let lowestID = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
    /// Before every due date: the date half of "start from the beginning".
    static let lowestDate = PostgresDate(year: 1, month: 1, day: 1)

    var token: String {
        Data("2|\(urgency)|\(due)|\(id.uuidString.lowercased())".utf8).base64EncodedString()
    }

    /// Throws `invalid_params` for anything this type did not write.
    init(token: String) throws(RPCError) {
        let bad = RPCError.invalidParams("cursor is not one this list returned; start again without a cursor", zh: "cursor 不是此列表返回的游标；请不带 cursor 重新开始")
        guard token.count <= 200, let data = Data(base64Encoded: token), let text = String(data: data, encoding: .utf8) else { throw bad }
        let parts = text.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "2", let urgency = Int(parts[1]), (0...2).contains(urgency),
              let due = LocalDate(String(parts[2])), let id = UUID(uuidString: String(parts[3])) else {
            throw bad
        }
        self.urgency = urgency
        self.due = due
        self.id = id
    }

    init(after a: AssignmentRecord) {
        due = a.dueDate
        id = a.id
    }

    init(inQueueAfter a: AssignmentRecord) {
        urgency = RoutingStore.urgency(of: a.priority)
        due = a.dueDate
        id = a.id
    }
}
