import Contracts
import LineProtocol
import Messaging
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The review methods: validation at the boundary, then the store.
enum ReviewHandlers {
    static func methods(context: ServiceContext, settings: ReviewSettings) throws -> RPCMethodTable {
        let store = ReviewStore(database: context.database, jobMaxAttempts: settings.jobMaxAttempts)
        let inbox = Inbox(database: context.database)
        var table = RPCMethodTable()

        table.register(ReviewSubmit.self) { params, rpc in
            try validate(params)
            let actor = ReviewActor(id: rpc.caller ?? "intake", role: "service", trace: rpc.meta.traceparent)
            return try await inbox.receive(rpc) { connection in
                try await store.submit(params, actor: actor, on: connection)
            }
        }

        table.register(ReviewCancel.self) { params, rpc in
            guard !params.caseId.isEmpty, params.caseId.count <= 128 else {
                throw RPCError.invalidParams("params.caseId: 1 to 128 characters")
            }
            if let reason = params.reason, reason.count > 2_000 { throw RPCError.invalidParams("params.reason: at most 2000 characters") }
            let actor = ReviewActor(id: rpc.caller ?? "intake", role: "service", trace: rpc.meta.traceparent)
            return try await inbox.receive(rpc) { connection in
                try await store.cancel(params, actor: actor, on: connection)
            }
        }

        table.register(ReviewUpsertReviewer.self) { params, rpc in
            try validate(params)
            return try await store.upsertReviewer(params, actor: actor(rpc))
        }

        table.register(ReviewSetOnDuty.self) { params, rpc in
            guard !params.reviewerId.isEmpty, params.reviewerId.count <= 100 else {
                throw RPCError.invalidParams("params.reviewerId: 1 to 100 characters", zh: "params.reviewerId：1 至 100 个字符")
            }
            return try await store.setOnDuty(reviewerID: params.reviewerId, onDuty: params.onDuty, actor: actor(rpc))
        }

        table.register(ReviewListQueue.self) { params, rpc in
            try await store.listQueue(params, actor: rpc.meta.actor)
        }

        table.register(ReviewGetTask.self) { params, _ in
            try await store.getTask(params)
        }

        table.register(ReviewDecide.self) { params, rpc in
            try await store.decide(params, actor: rpc.meta.actor, trace: rpc.meta.traceparent)
        }

        table.register(ReviewStats.self) { params, _ in
            try await store.stats(since: params.since)
        }
        return table
    }

    /// The end user if the gateway named one, else the calling service.
    static func actor(_ rpc: RPCContext) -> ReviewActor {
        if let actor = rpc.meta.actor {
            return ReviewActor(id: actor.id, role: actor.roles.first ?? "staff", trace: rpc.meta.traceparent)
        }
        return ReviewActor(id: rpc.caller ?? "unknown", role: "service", trace: rpc.meta.traceparent)
    }

    /// A submission as intake sends it: every problem at once, in English and in Chinese.
    static func validate(_ params: ReviewSubmit.Params) throws {
        var problems: [(en: String, zh: String)] = []
        func text(_ value: String, _ field: String, max: Int, required: Bool = true) {
            if required, value.allSatisfy(\.isWhitespace) { problems.append(("params.\(field): required", "params.\(field)：必填")) }
            if value.count > max { problems.append(("params.\(field): at most \(max) characters", "params.\(field)：最多 \(max) 个字符")) }
        }
        text(params.caseId, "caseId", max: 100)
        text(params.trackingNumber, "trackingNumber", max: 64)
        text(params.serviceType, "serviceType", max: 100)
        text(params.serviceName, "serviceName", max: 200, required: false)
        text(params.applicant.name, "applicant.name", max: 200, required: false)
        text(params.applicant.customerKey, "applicant.customerKey", max: 200)
        text(params.applicant.idNumber, "applicant.idNumber", max: 64, required: false)
        text(params.description, "description", max: 20_000, required: false)
        if let round = params.round, round < 1 { problems.append(("params.round: 1 or more", "params.round：须不小于 1")) }
        if params.materials.count > 500 { problems.append(("params.materials: at most 500 items", "params.materials：最多 500 项")) }
        if params.requiredMaterials.count > 500 { problems.append(("params.requiredMaterials: at most 500 items", "params.requiredMaterials：最多 500 项")) }
        if !problems.isEmpty {
            throw RPCError.invalidParams(problems.map(\.en).joined(separator: "; "), zh: problems.map(\.zh).joined(separator: "；"), problems: problems)
        }
    }

    /// A reviewer as an administrator or supervisor sends it (through the gateway): every problem
    /// at once, in English (`problems`, the message) and in Chinese (`problemTexts`, the message's `zh`).
    static func validate(_ reviewer: ReviewReviewer) throws {
        var problems: [(en: String, zh: String)] = []
        if reviewer.id.isEmpty || reviewer.id.count > 100 || reviewer.id == "system" {
            problems.append(("params.id: 1 to 100 characters, not `system`", "params.id：1 至 100 个字符，且不能是 `system`"))
        }
        if reviewer.name.allSatisfy(\.isWhitespace) || reviewer.name.count > 200 {
            problems.append(("params.name: 1 to 200 characters", "params.name：1 至 200 个字符"))
        }
        if reviewer.serviceTypes.isEmpty {
            problems.append(("params.serviceTypes: at least one service type (or `*`)", "params.serviceTypes：至少一个事项（或 `*`）"))
        }
        if reviewer.serviceTypes.contains(where: { $0.isEmpty || $0.count > 100 }) {
            problems.append(("params.serviceTypes: each 1 to 100 characters", "params.serviceTypes：每项 1 至 100 个字符"))
        }
        if reviewer.supervisorId == reviewer.id {
            problems.append(("params.supervisorId: a reviewer cannot supervise themself", "params.supervisorId：审核人员不能担任自己的主管"))
        }
        if !problems.isEmpty {
            throw RPCError.invalidParams(problems.map(\.en).joined(separator: "; "), zh: problems.map(\.zh).joined(separator: "；"), problems: problems)
        }
    }
}
