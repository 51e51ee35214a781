import ComplaintsService
import Contracts
import LineProtocol
import Testing

@Suite("Complaint state machine")
struct ComplaintLifecycleTests {
    typealias Action = ComplaintLifecycle.Action

    /// Every allowed move; every other (status, action) pair must be refused.
    static let allowed: [ComplaintStatus: [Action: ComplaintStatus]] = [
        .filed: [.acknowledge: .acknowledged, .classify: .filed],
        .acknowledged: [.investigate: .investigating, .classify: .acknowledged],
        .investigating: [.investigate: .investigating, .resolve: .resolved, .classify: .investigating],
        .resolved: [.accept: .accepted, .reopen: .reopened, .close: .closed],
        .reopened: [.investigate: .investigating, .classify: .reopened],
        .accepted: [.close: .closed],
        .closed: [:],
    ]

    static let pairs: [(ComplaintStatus, Action)] = ComplaintStatus.allCases.flatMap { status in
        Action.allCases.map { (status, $0) }
    }

    @Test(arguments: pairs)
    func everyTransitionIsAllowedOrRefusedClearly(status: ComplaintStatus, action: Action) throws {
        let state = ComplaintLifecycle.State(status: status, isAssigned: true, reopenCount: 0, number: "TS202611230001")
        if let expected = Self.allowed[status]?[action] {
            #expect(try ComplaintLifecycle.next(action, from: state, maxReopens: 2) == expected)
        } else {
            #expect {
                _ = try ComplaintLifecycle.next(action, from: state, maxReopens: 2)
            } throws: { error in
                guard let error = error as? RPCError else { return false }
                return error.kind == .invalidState && error.message.contains("TS202611230001 is \(status.rawValue)")
            }
        }
    }

    @Test func anUnassignedComplaintCannotBeResolved() {
        let state = ComplaintLifecycle.State(status: .investigating, isAssigned: false, reopenCount: 0, number: "TS1")
        #expect {
            _ = try ComplaintLifecycle.next(.resolve, from: state, maxReopens: 2)
        } throws: { error in
            (error as? RPCError)?.kind == .invalidState && (error as? RPCError)?.message.contains("not assigned") == true
        }
    }

    @Test func reopeningStopsAtTheLimit() throws {
        let second = ComplaintLifecycle.State(status: .resolved, isAssigned: true, reopenCount: 1, number: "TS1")
        #expect(try ComplaintLifecycle.next(.reopen, from: second, maxReopens: 2) == .reopened)
        let third = ComplaintLifecycle.State(status: .resolved, isAssigned: true, reopenCount: 2, number: "TS1")
        #expect {
            _ = try ComplaintLifecycle.next(.reopen, from: third, maxReopens: 2)
        } throws: { error in
            (error as? RPCError)?.kind == .invalidState && (error as? RPCError)?.message.contains("most allowed (2)") == true
        }
    }
}
