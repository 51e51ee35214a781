import Contracts
import LineProtocol

/// Which action may happen in which state of an assignment: a pure table, tested without a database.
enum RoutingTransitions {
    enum Action: String, Sendable, CaseIterable {
        case accept, requestInfo, provideInfo, extend, complete, reopen, transfer, reassign
    }

    static func allowed(_ action: Action, from state: RoutingAssignmentState) -> Bool {
        switch (action, state) {
        case (.accept, .assigned): true
        case (.requestInfo, .inProgress): true
        case (.provideInfo, .infoRequested): true
        case (.extend, .inProgress), (.extend, .infoRequested): true
        case (.complete, .inProgress): true
        case (.reopen, .completed): true
        case (.transfer, .assigned), (.transfer, .inProgress): true
        case (.reassign, .assigned), (.reassign, .inProgress), (.reassign, .infoRequested): true
        default: false
        }
    }

    /// Throws a clear error when `action` is not allowed: `conflict` for a repeat of what already
    /// happened (a second complete or accept), `invalid_state` otherwise.
    static func check(_ action: Action, from state: RoutingAssignmentState, caseId: String) throws(RPCError) {
        guard !allowed(action, from: state) else { return }
        switch (action, state) {
        case (.complete, .completed):
            throw .conflict("case \(caseId) is already completed", zh: "办件 \(caseId) 已办结")
        case (.accept, .inProgress), (.accept, .infoRequested):
            throw .conflict("case \(caseId) is already accepted", zh: "办件 \(caseId) 已受理")
        case (.complete, .assigned):
            throw .invalidState("case \(caseId) has not been accepted yet; accept it before completing it", zh: "办件 \(caseId) 尚未受理；请先受理再办结")
        case (.complete, .infoRequested):
            throw .invalidState("case \(caseId) is waiting for information; record the answer (routing.provideInfo) before completing it", zh: "办件 \(caseId) 正在等待补充信息；请先记录答复（routing.provideInfo）再办结")
        case (_, .completed):
            throw .invalidState("case \(caseId) is completed; it can only be reopened after an upheld objection", zh: "办件 \(caseId) 已办结；只有异议成立后才能重新办理")
        case (.reopen, _):
            throw .invalidState("case \(caseId) is \(state.rawValue); only a completed case can be reopened", zh: "办件 \(caseId) 当前状态为 \(state.rawValue)；只有已办结的办件才能重新办理")
        case (.requestInfo, .infoRequested):
            throw .conflict("case \(caseId) is already waiting for information", zh: "办件 \(caseId) 已在等待补充信息")
        case (.requestInfo, .assigned), (.extend, .assigned):
            throw .invalidState("case \(caseId) has not been accepted yet; accept it first", zh: "办件 \(caseId) 尚未受理；请先受理")
        case (.provideInfo, _):
            throw .invalidState("case \(caseId) is not waiting for information", zh: "办件 \(caseId) 没有在等待补充信息")
        case (.transfer, .infoRequested):
            throw .invalidState("case \(caseId) is waiting for information; record the answer before transferring it", zh: "办件 \(caseId) 正在等待补充信息；请先记录答复再转办")
        default:
            throw .invalidState("case \(caseId) is \(state.rawValue); \(action.rawValue) is not possible now", zh: "办件 \(caseId) 当前状态为 \(state.rawValue)，现在不能执行 \(action.rawValue)")
        }
    }
}
