#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation
import LineProtocol

/// `routing.dispatch`: review hands an approved case to routing (from its outbox; idempotent on `caseId`).
public enum RoutingDispatch: RPCMethod {
    public static let name = "routing.dispatch"
    public static let isIdempotent = true
    public static let summary = "Route an approved case to its department and a handler, set its due date and write the routing slip."

    public struct Params: Codable, Sendable {
        public var caseId: String
        public var trackingNumber: String
        public var serviceType: String
        public var serviceName: String
        public var priority: CasePriority
        public var confidentiality: Confidentiality
        /// The catalog's responsible department; routing rules may override it.
        public var department: String
        public var timeLimitWorkingDays: Int
        /// The customer's name, for staff notifications.
        public var customerName: String?
        /// When the case was accepted (the time limit counts from that day).
        public var acceptedAt: Date
        /// Who approved it (a reviewer, or `system` for automatic approval) and their opinion.
        public var approvedBy: StaffRef
        public var opinion: String?

        public init(
            caseId: String, trackingNumber: String, serviceType: String, serviceName: String,
            priority: CasePriority, confidentiality: Confidentiality, department: String,
            timeLimitWorkingDays: Int, customerName: String? = nil, acceptedAt: Date,
            approvedBy: StaffRef, opinion: String? = nil
        ) {
            self.caseId = caseId
            self.trackingNumber = trackingNumber
            self.serviceType = serviceType
            self.serviceName = serviceName
            self.priority = priority
            self.confidentiality = confidentiality
            self.department = department
            self.timeLimitWorkingDays = timeLimitWorkingDays
            self.customerName = customerName
            self.acceptedAt = acceptedAt
            self.approvedBy = approvedBy
            self.opinion = opinion
        }
    }

    public struct Result: Codable, Sendable {
        public var assignmentId: String
        public var department: String
        public var handler: StaffRef?
        /// YYYY-MM-DD on the working calendar.
        public var dueDate: String
        public init(assignmentId: String, department: String, handler: StaffRef?, dueDate: String) {
            self.assignmentId = assignmentId
            self.department = department
            self.handler = handler
            self.dueDate = dueDate
        }
    }
}
