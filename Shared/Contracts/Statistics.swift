#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation
import LineProtocol

// Figures the management reads (DOMAIN.md, "Measures the management reads"), each from the
// service that owns the data; the gateway puts them together as KPIs.

/// A count under a key (a channel, a service type, a day, a department).
public struct KeyedCount: Codable, Sendable, Hashable {
    public var key: String
    public var count: Int
    public init(key: String, count: Int) {
        self.key = key
        self.count = count
    }
}

/// Intake volume and first-time completeness over a period of registration.
public enum IntakeStats: RPCMethod {
    public static let name = "intake.stats"
    public static let isIdempotent = true
    public static let summary = "Cases registered in a period: by channel, service type and day; acceptance and first-time-complete rates."

    public struct Params: Codable, Sendable {
        public var from: Date?
        public var before: Date?
        public var department: String?
        public init(from: Date? = nil, before: Date? = nil, department: String? = nil) {
            self.from = from
            self.before = before
            self.department = department
        }
    }

    public struct Result: Codable, Sendable {
        public var registered: Int
        public var byChannel: [KeyedCount]
        public var byServiceType: [KeyedCount]
        public var byDay: [KeyedCount]
        public var byStatus: [KeyedCount]
        /// Accepted at some point (at once or after a supplement).
        public var accepted: Int
        /// Accepted at registration, without a missing-materials notice.
        public var firstTimeComplete: Int
        public var notAccepted: Int
        /// Median seconds from registration to acceptance.
        public var secondsToAcceptanceP50: Double?
        public init(
            registered: Int, byChannel: [KeyedCount], byServiceType: [KeyedCount], byDay: [KeyedCount], byStatus: [KeyedCount],
            accepted: Int, firstTimeComplete: Int, notAccepted: Int, secondsToAcceptanceP50: Double?
        ) {
            self.registered = registered
            self.byChannel = byChannel
            self.byServiceType = byServiceType
            self.byDay = byDay
            self.byStatus = byStatus
            self.accepted = accepted
            self.firstTimeComplete = firstTimeComplete
            self.notAccepted = notAccepted
            self.secondsToAcceptanceP50 = secondsToAcceptanceP50
        }
    }
}

/// Processing timeliness per department.
public enum RoutingStats: RPCMethod {
    public static let name = "routing.stats"
    public static let isIdempotent = true
    public static let summary = "Per department: open, overdue, completed and completed on time (paused time excluded), processing time, reopenings."

    public struct Params: Codable, Sendable {
        /// Completions and reopenings counted in [from, before); open and overdue are as of now.
        public var from: Date?
        public var before: Date?
        public var department: String?
        public init(from: Date? = nil, before: Date? = nil, department: String? = nil) {
            self.from = from
            self.before = before
            self.department = department
        }
    }

    public struct Department: Codable, Sendable, Hashable {
        public var department: String
        public var open: Int
        public var overdue: Int
        public var completed: Int
        /// Completed on or before the due date, which already excludes paused time and approved extensions.
        public var completedOnTime: Int
        /// Mean seconds from dispatch to completion.
        public var processingSecondsAverage: Double?
        public var pausedWorkingDays: Int
        public var reopened: Int
        public init(
            department: String, open: Int, overdue: Int, completed: Int, completedOnTime: Int,
            processingSecondsAverage: Double?, pausedWorkingDays: Int, reopened: Int
        ) {
            self.department = department
            self.open = open
            self.overdue = overdue
            self.completed = completed
            self.completedOnTime = completedOnTime
            self.processingSecondsAverage = processingSecondsAverage
            self.pausedWorkingDays = pausedWorkingDays
            self.reopened = reopened
        }
    }

    public struct Result: Codable, Sendable {
        public var departments: [Department]
        public init(departments: [Department]) { self.departments = departments }
    }
}
