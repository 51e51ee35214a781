import Contracts
import Hummingbird
import JSONCoding

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The case timeline: what intake, review, routing and complaints each recorded about one case,
/// merged in time order. A source that is down or not visible to the caller is named in
/// `incomplete` instead of failing the whole view.
enum TimelineRoutes {
    struct Entry: Codable, Sendable {
        var at: Date
        var source: String
        var event: String
        var actor: String?
        var detail: String?
    }

    struct Timeline: Codable, Sendable {
        var caseId: String
        var trackingNumber: String
        var status: CaseStatus
        var entries: [Entry]
        /// Sources that could not be read, with why.
        var incomplete: [String]
    }

    static var routes: [RouteSpec] {
        [
            RouteSpec(method: .get, path: "/v1/cases/{caseId}/timeline", action: .readTimeline, tag: "cases",
                      summary: "Everything that happened to a case, from every service, in time order.") { _, context, gateway in
                try await gateway.authorise(.readTimeline, context)
                guard let caseID = context.parameters.get("caseId"), !caseID.isEmpty, caseID.count <= 64 else {
                    throw Problem.invalid("caseId is missing or too long", zh: "caseId 缺失或过长")
                }
                // Intake owns the case: without it there is nothing to show.
                let file = try await gateway.call(.intake, IntakeGetCase.self, IntakeGetCase.Params(caseId: caseID), context)
                var entries = file.timeline.map { Entry(at: $0.at, source: "intake", event: $0.event, actor: $0.actor, detail: $0.detail) }
                var incomplete: [String] = []

                async let review = optional("review", context.language) {
                    try await gateway.call(.review, ReviewGetTask.self, ReviewGetTask.Params(caseId: file.caseId), context)
                }
                async let routing = optional("routing", context.language) {
                    try await gateway.call(.routing, RoutingGetAssignment.self, RoutingCaseParams(caseId: file.caseId), context)
                }
                async let complaints = optional("complaints", context.language) {
                    try await gateway.call(.complaints, ComplaintsList.self, ComplaintsList.Params(caseTrackingNumber: file.trackingNumber, limit: 50), context)
                }
                let (reviewResult, routingResult, complaintsResult) = await (review, routing, complaints)

                switch reviewResult {
                case .success(let task?):
                    entries.append(Entry(at: task.task.createdAt, source: "review", event: "review_task_created", actor: nil, detail: task.task.serviceName))
                    for check in task.checks where check.checkedAt != nil {
                        entries.append(Entry(at: check.checkedAt!, source: "review", event: "check_\(check.outcome.rawValue)", actor: "rule:\(check.ruleId)", detail: check.detail))
                    }
                    if let decision = task.decision {
                        let why = ([decision.opinion].compactMap { $0 } + decision.reasons + decision.items).joined(separator: "; ")
                        entries.append(Entry(at: decision.decidedAt, source: "review", event: "decided_\(decision.decision.rawValue)",
                                             actor: decision.automatic ? "automatic" : decision.decidedBy, detail: why.isEmpty ? nil : why))
                    }
                case .success(nil): break
                case .failure(let gap): incomplete.append(gap.description)
                }
                switch routingResult {
                case .success(let assignment?):
                    for slip in assignment.slips ?? [] {
                        let from = [slip.fromDepartment, slip.fromHandler].compactMap { $0 }.joined(separator: "/")
                        let to = [slip.toDepartment, slip.toHandler].compactMap { $0 }.joined(separator: "/")
                        entries.append(Entry(at: slip.at, source: "routing", event: slip.kind.rawValue, actor: slip.by,
                                             detail: "\(from.isEmpty ? "" : from + " → ")\(to): \(slip.reason)"))
                    }
                    for extensionRequest in assignment.extensions ?? [] {
                        entries.append(Entry(at: extensionRequest.requestedAt, source: "routing", event: "extension_requested",
                                             actor: extensionRequest.requestedBy, detail: "to \(extensionRequest.newDueDate): \(extensionRequest.reason)"))
                        if let decidedAt = extensionRequest.decidedAt {
                            entries.append(Entry(at: decidedAt, source: "routing", event: "extension_\(extensionRequest.status.rawValue)",
                                                 actor: extensionRequest.decidedBy, detail: extensionRequest.note))
                        }
                    }
                    if let completedAt = assignment.completedAt {
                        entries.append(Entry(at: completedAt, source: "routing", event: "completed", actor: assignment.handler?.id, detail: assignment.result))
                    }
                case .success(nil): break
                case .failure(let gap): incomplete.append(gap.description)
                }
                switch complaintsResult {
                case .success(let page?):
                    for complaint in page.items {
                        entries.append(Entry(at: complaint.filedAt, source: "complaints", event: "complaint_filed", actor: nil,
                                             detail: "\(complaint.number) (\(complaint.category), \(complaint.severity.rawValue))"))
                        if let resolvedAt = complaint.resolvedAt {
                            entries.append(Entry(at: resolvedAt, source: "complaints", event: "complaint_resolved", actor: complaint.assigneeId, detail: complaint.number))
                        }
                    }
                case .success(nil): break
                case .failure(let gap): incomplete.append(gap.description)
                }
                entries.sort { $0.at < $1.at }
                return try .json(encoding: Timeline(caseId: file.caseId, trackingNumber: file.trackingNumber, status: file.status, entries: entries, incomplete: incomplete))
            },
        ]
    }

    /// nil when the service has nothing for the case; a failure names the source and why.
    static func optional<T: Sendable>(_ source: String, _ language: Language, _ body: () async throws -> T) async -> Result<T?, TimelineGap> {
        do {
            return .success(try await body())
        } catch let problem as Problem where problem.status == .notFound {
            return .success(nil)
        } catch let problem as Problem {
            let why = problem.status == .forbidden ? LocalizedText(zhCN: "您无权查看", en: "not visible to you") : problem.detail
            return .failure(TimelineGap(description: "\(source): \(why.text(in: language))"))
        } catch {
            return .failure(TimelineGap(description: "\(source): \(error)"))
        }
    }

    struct TimelineGap: Error, CustomStringConvertible {
        var description: String
    }
}
