import Contracts
import Hummingbird
import JSONCoding

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// KPIs per period and department, put together from the figures each service keeps: intake
/// volume and first-time completeness, review decision times, on-time processing (paused time
/// excluded), satisfaction and complaints (with complaints' own rate per 1,000 cases). A source
/// that cannot be read is named in `incomplete`.
enum KPIRoutes {
    static let query: [RouteSpec.QueryParameter] = [
        .init("from", .dateTime, "start of the period (inclusive)"),
        .init("before", .dateTime, "end of the period (exclusive)"),
        .init("department"),
    ]

    static var routes: [RouteSpec] {
        [
            RouteSpec(method: .get, path: "/v1/kpis", action: .readKPIs, tag: "reports", summary: "KPIs of a period, optionally for one department.",
                      query: query) { request, context, gateway in
                try await gateway.authorise(.readKPIs, context)
                return .json(try await kpis(request, context, gateway))
            },
            RouteSpec(method: .get, path: "/v1/kpis.csv", action: .readKPIs, tag: "reports", summary: "The same KPIs as CSV (section, metric, key, value).",
                      query: query, responseType: "text/csv") { request, context, gateway in
                try await gateway.authorise(.readKPIs, context)
                let figures = try await kpis(request, context, gateway)
                var lines = ["section,metric,key,value"]
                flatten(figures, path: [], into: &lines)
                return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"onestop-kpis.csv\""],
                                body: ResponseBody(byteBuffer: ByteBuffer(string: lines.joined(separator: "\n") + "\n")))
            },
        ]
    }

    static func kpis(_ request: Request, _ context: GatewayRequestContext, _ gateway: Gateway) async throws -> JSON {
        let parameters = request.uri.queryParameters
        func date(_ name: String) throws -> Date? {
            guard let text = parameters.get(name) else { return nil }
            guard let date = JSONDateFormat.date(from: text) else { throw Problem.invalid("\(name) must be an ISO 8601 date-time, e.g. 2026-11-01T00:00:00Z", zh: "\(name) 须为 ISO 8601 日期时间，例如 2026-11-01T00:00:00Z") }
            return date
        }
        let from = try date("from")
        let before = try date("before")
        if let from, let before, from >= before { throw Problem.invalid("from must be before before", zh: "from 必须早于 before") }
        let department = parameters.get("department")
        if let department, department.isEmpty || department.count > 64 { throw Problem.invalid("department must be 1 to 64 characters", zh: "department 须为 1 至 64 个字符") }

        async let intake = TimelineRoutes.optional("intake", context.language) {
            try await gateway.call(.intake, IntakeStats.self, IntakeStats.Params(from: from, before: before, department: department), context)
        }
        async let review = TimelineRoutes.optional("review", context.language) {
            try await gateway.call(.review, ReviewStats.self, ReviewStats.Params(since: from), context)
        }
        async let routing = TimelineRoutes.optional("routing", context.language) {
            try await gateway.call(.routing, RoutingStats.self, RoutingStats.Params(from: from, before: before, department: department), context)
        }
        async let complaints = TimelineRoutes.optional("complaints", context.language) {
            try await gateway.call(.complaints, ComplaintsStats.self, ComplaintsStats.Params(from: from, before: before, department: department), context)
        }
        let (intakeFigures, reviewFigures, routingFigures, complaintFigures) = await (intake, review, routing, complaints)

        var incomplete: [JSON] = []
        var out: JSONObject = [
            "period": ["from": from.flatMap(JSONDateFormat.string).map(JSON.string) ?? .null,
                       "before": before.flatMap(JSONDateFormat.string).map(JSON.string) ?? .null],
            "department": department.map(JSON.string) ?? .null,
        ]
        switch intakeFigures {
        case .success(let figures?):
            var section = try JSONValueEncoder().encode(figures).objectValue ?? [:]
            section["acceptanceRate"] = rate(figures.accepted, of: figures.registered)
            section["firstTimeCompleteRate"] = rate(figures.firstTimeComplete, of: figures.accepted)
            out["intake"] = .object(section)
        case .success(nil): break
        case .failure(let gap): incomplete.append(.string(gap.description))
        }
        switch reviewFigures {
        case .success(let figures?):
            out["review"] = [
                "decisionSecondsP50": figures.decisionSecondsP50.map(JSON.double) ?? .null,
                "humanDecisionSecondsP50": figures.humanDecisionSecondsP50.map(JSON.double) ?? .null,
                "humanDecisionSecondsP90": figures.humanDecisionSecondsP90.map(JSON.double) ?? .null,
                "autoApprovalRate": .double(figures.autoApprovalRate),
            ]
        case .success(nil): break
        case .failure(let gap): incomplete.append(.string(gap.description))
        }
        switch routingFigures {
        case .success(let figures?):
            let completed = figures.departments.reduce(0) { $0 + $1.completed }
            let onTime = figures.departments.reduce(0) { $0 + $1.completedOnTime }
            let reopened = figures.departments.reduce(0) { $0 + $1.reopened }
            out["processing"] = [
                "completed": .integer(Int64(completed)),
                "onTimeRate": rate(onTime, of: completed),
                "overdueOpen": .integer(Int64(figures.departments.reduce(0) { $0 + $1.overdue })),
                "reopenRate": rate(reopened, of: completed),
                "departments": .array(try figures.departments.map { department in
                    var row = try JSONValueEncoder().encode(department).objectValue ?? [:]
                    row["onTimeRate"] = rate(department.completedOnTime, of: department.completed)
                    return .object(row)
                }),
            ]
        case .success(nil): break
        case .failure(let gap): incomplete.append(.string(gap.description))
        }
        switch complaintFigures {
        case .success(let figures?):
            out["complaints"] = [
                "total": .integer(Int64(figures.total)),
                // Complaints computes the rate from intake's counts of the same period; null with
                // the reason when it could not ask intake.
                "ratePer1000Cases": figures.complaintRate.per1000Cases.map(JSON.double) ?? .null,
                "rateUnavailableReason": figures.complaintRate.unavailableReason.map(JSON.string) ?? .null,
                "rateByServiceType": try JSONValueEncoder().encode(figures.complaintRate.byServiceType),
                "byServiceType": try JSONValueEncoder().encode(figures.byServiceType),
                "firstResponseSecondsP50": figures.firstResponseSecondsP50.map(JSON.double) ?? .null,
                "resolutionRate": .double(figures.resolutionRate),
                "resolutionSecondsP50": figures.resolutionSecondsP50.map(JSON.double) ?? .null,
                "reopenRate": .double(figures.reopenRate),
                "byCategory": try JSONValueEncoder().encode(figures.byCategory),
                "byRootCause": try JSONValueEncoder().encode(figures.byRootCause),
            ]
            out["satisfaction"] = [
                "average": figures.satisfactionAverage.map(JSON.double) ?? .null,
                "distribution": try JSONValueEncoder().encode(figures.satisfactionDistribution),
                "byDepartment": try JSONValueEncoder().encode(figures.satisfactionByDepartment),
                "byServiceType": try JSONValueEncoder().encode(figures.satisfactionByServiceType),
            ]
        case .success(nil): break
        case .failure(let gap): incomplete.append(.string(gap.description))
        }
        out["incomplete"] = .array(incomplete)
        return .object(out)
    }

    static func rate(_ part: Int, of whole: Int) -> JSON {
        whole == 0 ? .null : .double((Double(part) / Double(whole) * 10_000).rounded() / 10_000)
    }

    /// Scalars become rows; arrays of keyed objects use their `key`/`department`/`serviceType` as the row key.
    static func flatten(_ value: JSON, path: [String], into lines: inout [String]) {
        func csv(_ text: String) -> String {
            text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        switch value {
        case .object(let object):
            for (key, member) in object { flatten(member, path: path + [key], into: &lines) }
        case .array(let items):
            for (index, item) in items.enumerated() {
                let key = item["key"]?.stringValue ?? item["department"]?.stringValue ?? item["serviceType"]?.stringValue
                    ?? item["ruleId"]?.stringValue ?? String(index)
                if case .object(var object) = item {
                    _ = object.removeValue(forKey: "key")
                    _ = object.removeValue(forKey: "department")
                    _ = object.removeValue(forKey: "serviceType")
                    for (member, memberValue) in object {
                        lines.append([path.first ?? "", (path.dropFirst() + [member]).joined(separator: "."), key, scalar(memberValue)].map(csv).joined(separator: ","))
                    }
                } else {
                    lines.append([path.first ?? "", path.dropFirst().joined(separator: "."), key, scalar(item)].map(csv).joined(separator: ","))
                }
            }
        default:
            lines.append([path.first ?? "", path.dropFirst().joined(separator: "."), "", scalar(value)].map(csv).joined(separator: ","))
        }
    }

    static func scalar(_ value: JSON) -> String {
        switch value {
        case .null: ""
        case .string(let text): text
        default: value.jsonString
        }
    }
}
