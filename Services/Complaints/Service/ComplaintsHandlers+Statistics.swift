import Contracts
import LineProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// `complaints.stats`: the complaint figures from this service's own tables, and the complaint
/// rate per 1,000 cases from intake's case counts of the same period. Intake is asked while the
/// database is read; when it cannot answer, the rate is marked unavailable with the reason and
/// the call still answers everything else.
extension ComplaintsHandlers {
    func stats(_ params: ComplaintsStats.Params, context: RPCContext) async throws -> ComplaintsStats.Result {
        if let from = params.from, let before = params.before, from >= before {
            throw RPCError.invalidParams("from must be before before", zh: "from 必须早于 before")
        }
        let department = try Self.optionalReference(params.department, field: "department")
        async let cases = caseCounts(from: params.from, before: params.before, department: department)
        var result = try await database.withConnection { connection in
            try await store.stats(from: params.from, before: params.before, department: department, connection: connection)
        }
        result.complaintRate = Self.complaintRate(total: result.total, byServiceType: result.byServiceType, cases: await cases)
        return result
    }

    /// Intake's cases registered in the period, or why they could not be had.
    func caseCounts(from: Date?, before: Date?, department: String?) async -> Result<IntakeStats.Result, RPCError> {
        guard let intake else { return .failure(.unavailable("intake is not configured")) }
        do {
            return .success(try await intake.call(IntakeStats.self, IntakeStats.Params(from: from, before: before, department: department), timeout: configuration.routingTimeout))
        } catch {
            logger.warning("intake could not be asked for the case counts; the complaint rate is left out", metadata: [
                "error": "\(String(describing: error).prefix(200))",
            ])
            let rpcError = error as? RPCError ?? RPCError.unavailable(String(describing: error).prefix(200).description)
            return .failure(rpcError)
        }
    }

    /// Complaints per 1,000 cases, overall (every complaint of the period) and per service type
    /// (complaints about cases of that type). `none` and `unknown` complaints have no cases to be
    /// compared with and count only in the overall rate.
    static func complaintRate(
        total: Int, byServiceType: [ComplaintsStats.Count], cases: Result<IntakeStats.Result, RPCError>
    ) -> ComplaintsStats.ComplaintRate {
        let counts: IntakeStats.Result
        switch cases {
        case .success(let answer): counts = answer
        case .failure(let error):
            return ComplaintsStats.ComplaintRate(
                casesRegistered: nil, per1000Cases: nil, byServiceType: [],
                unavailableReason: "intake could not be asked for the case counts of the period (\(error.kind?.rawValue ?? "error \(error.code)"): \(error.message.prefix(200))); the other figures are complete"
            )
        }
        var complaints: [String: Int] = [:]
        for row in byServiceType where row.key != ComplaintsStats.noCase && row.key != ComplaintsStats.unknownServiceType {
            complaints[row.key] = row.count
        }
        var casesByType: [String: Int] = [:]
        for row in counts.byServiceType { casesByType[row.key, default: 0] += row.count }
        let rows = Set(complaints.keys).union(casesByType.keys).map { type in
            let cases = casesByType[type] ?? 0
            let complained = complaints[type] ?? 0
            return ComplaintsStats.ServiceTypeRate(serviceType: type, complaints: complained, cases: cases, per1000Cases: per1000(complained, of: cases))
        }
        return ComplaintsStats.ComplaintRate(
            casesRegistered: counts.registered, per1000Cases: per1000(total, of: counts.registered),
            byServiceType: rows.sorted { ($0.per1000Cases ?? -1, $0.complaints, $1.serviceType) > ($1.per1000Cases ?? -1, $1.complaints, $0.serviceType) },
            unavailableReason: nil
        )
    }

    /// `part` per 1,000 of `whole`, one decimal; nil without cases.
    static func per1000(_ part: Int, of whole: Int) -> Double? {
        whole > 0 ? (Double(part) * 1000 / Double(whole) * 10).rounded() / 10 : nil
    }
}
