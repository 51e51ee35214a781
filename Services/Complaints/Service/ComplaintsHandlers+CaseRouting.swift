import Contracts
import LineProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Asking routing about the case a complaint names: the responsible department, its handler
/// (who must not investigate), whether the case is overdue (which raises the severity) and its
/// service type (for statistics).
/// Filing never waits long for routing and never fails because of it: without an answer the
/// complaint is filed with what the filer said, and the reason the department is missing is kept.
extension ComplaintsHandlers {
    /// What routing said about a case.
    enum CaseLookup: Sendable {
        case found(RoutingCaseAssignment.Result)
        /// Routing never received the case (not yet approved, or a wrong number).
        case unknown
        /// Routing did not answer in time or failed; the text says how.
        case unavailable(String)
    }

    /// Asks routing, bounded by `routingTimeout`.
    func lookupCase(_ trackingNumber: String) async -> CaseLookup {
        guard let routing else { return .unavailable("routing is not configured") }
        do {
            let answer = try await routing.call(
                RoutingCaseAssignment.self, RoutingCaseLookup(trackingNumber: trackingNumber), timeout: configuration.routingTimeout
            )
            return .found(answer)
        } catch let error as RPCError where error.kind == .notFound {
            return .unknown
        } catch {
            logger.warning("routing could not be asked about a complained-about case; filing without it", metadata: [
                "case.trackingNumber": "\(trackingNumber)", "error": "\(String(describing: error).prefix(200))",
            ])
            return .unavailable(String(describing: error).prefix(200).description)
        }
    }

    /// The filing with routing's answer applied (when it names a case).
    func withCaseRouting(_ filing: Filing) async -> Filing {
        guard let trackingNumber = filing.caseTrackingNumber else { return filing }
        return Self.apply(await lookupCase(trackingNumber), to: filing)
    }

    /// Routing's department, handler and overdue flag win over what the filer said; without an
    /// answer the filer's values stay and the missing department's reason is recorded.
    static func apply(_ lookup: CaseLookup, to filing: Filing) -> Filing {
        guard let trackingNumber = filing.caseTrackingNumber else { return filing }
        var filing = filing
        switch lookup {
        case .found(let a):
            filing.department = a.department
            filing.departmentSource = "routing"
            filing.departmentMissingReason = nil
            filing.caseOverdue = a.overdue
            filing.caseHandlerId = filing.caseHandlerId ?? a.handler?.id
            filing.caseId = a.caseId
            filing.caseServiceType = a.serviceType
            filing.routingNote = "routing: case \(a.trackingNumber) is with \(a.department) (\(a.departmentName)), \(a.status.rawValue), due \(a.dueDate)\(a.overdue ? ", overdue" : "")"
        case .unknown:
            filing.routingNote = "routing holds no case \(trackingNumber)"
            if filing.department == nil {
                filing.departmentMissingReason = "routing holds no case \(trackingNumber) (not yet routed, or the number is wrong); a complaint officer sets the department"
            }
        case .unavailable(let why):
            filing.routingNote = "routing could not be asked about case \(trackingNumber)"
            if filing.department == nil {
                filing.departmentMissingReason = "routing could not be asked about case \(trackingNumber) (\(why)); a complaint officer sets the department"
            }
        }
        return filing
    }
}
