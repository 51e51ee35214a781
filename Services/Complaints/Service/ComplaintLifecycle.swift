import Contracts
import LineProtocol

/// The complaint state machine as a value: given the current state and an action, it answers
/// the next status or an error that says what to do instead. The store performs the I/O.
public enum ComplaintLifecycle {
    public enum Action: String, Sendable, CaseIterable {
        case acknowledge, investigate, resolve, accept, reopen, close, classify
    }

    /// What the machine needs to know about a complaint.
    public struct State: Sendable {
        public var status: ComplaintStatus
        /// A department or a supervisor holds it.
        public var isAssigned: Bool
        public var reopenCount: Int
        public var number: String

        public init(status: ComplaintStatus, isAssigned: Bool, reopenCount: Int, number: String) {
            self.status = status
            self.isAssigned = isAssigned
            self.reopenCount = reopenCount
            self.number = number
        }
    }

    /// The status after `action`, or an `invalid_state` error naming what is allowed.
    public static func next(_ action: Action, from state: State, maxReopens: Int) throws(RPCError) -> ComplaintStatus {
        let status = state.status
        switch (action, status) {
        case (.acknowledge, .filed):
            return .acknowledged
        case (.investigate, .acknowledged), (.investigate, .investigating), (.investigate, .reopened):
            return .investigating
        case (.investigate, .filed):
            throw .invalidState("complaint \(state.number) is filed and not yet acknowledged; record the first contact (complaints.acknowledge) before investigating", zh: "投诉 \(state.number) 已登记但尚未确认接收；请先记录首次联系（complaints.acknowledge）再开展调查")
        case (.resolve, .investigating):
            guard state.isAssigned else {
                throw .invalidState("complaint \(state.number) is not assigned to a department or supervisor; set its department with complaints.classify before resolving", zh: "投诉 \(state.number) 尚未分派给部门或主管；请先用 complaints.classify 指定部门再办结")
            }
            return .resolved
        case (.accept, .resolved):
            return .accepted
        case (.reopen, .resolved):
            guard state.reopenCount < maxReopens else {
                throw .invalidState("complaint \(state.number) has been reopened \(state.reopenCount) times, the most allowed (\(maxReopens)); it can only be accepted or closed", zh: "投诉 \(state.number) 已重新处理 \(state.reopenCount) 次，达到上限（\(maxReopens) 次）；只能接受处理结果或结案")
            }
            return .reopened
        case (.close, .resolved), (.close, .accepted):
            return .closed
        case (.classify, .filed), (.classify, .acknowledged), (.classify, .investigating), (.classify, .reopened):
            return status
        default:
            let allowed = allowed(from: status).map(\.rawValue)
            let hint = allowed.isEmpty ? "nothing more can be done" : "allowed now: " + allowed.joined(separator: ", ")
            let hintInChinese = allowed.isEmpty ? "已无可执行的操作" : "当前可执行：" + allowed.joined(separator: ", ")
            throw .invalidState("complaint \(state.number) is \(status.rawValue); \(action.rawValue) is not allowed (\(hint))", zh: "投诉 \(state.number) 当前状态为 \(status.rawValue)，不能执行 \(action.rawValue)（\(hintInChinese)）")
        }
    }

    /// The actions the machine accepts from a status (ignoring assignment and reopen limits).
    public static func allowed(from status: ComplaintStatus) -> [Action] {
        switch status {
        case .filed: [.acknowledge, .classify]
        case .acknowledged, .reopened: [.investigate, .classify]
        case .investigating: [.investigate, .resolve, .classify]
        case .resolved: [.accept, .reopen, .close]
        case .accepted: [.close]
        case .closed: []
        }
    }
}
