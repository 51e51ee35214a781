import Contracts
import Hummingbird
import JSONCoding
import LineProtocol
import Sealing
import Logging
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// What every route handler uses: the identity store, the clients of the five services, and the
/// two checks every request goes through (who may, and what the service said).
struct Gateway: Sendable {
    let settings: GatewaySettings
    let identities: IdentityStore
    let open311: Open311Store
    let bodies: JSONBodyReader
    let peers: [OneStopService: RPCClient]
    let logger: Logger

    init(context: ServiceContext, settings: GatewaySettings) {
        self.settings = settings
        identities = IdentityStore(database: context.database, settings: settings, hasher: PasswordHasher(cost: settings.passwordCost))
        open311 = Open311Store(database: context.database)
        bodies = JSONBodyReader(maxBytes: settings.maxBodyBytes, maxDepth: settings.maxJSONDepth)
        peers = context.peers
        logger = context.logger
    }

    /// Throws 401/403 unless the caller may do `action` (on `department`, for department-scoped
    /// actions); every denial is logged and written to the access audit.
    func authorise(_ action: GatewayAction, _ context: GatewayRequestContext, department: String? = nil) async throws {
        var denial = action.denial(for: context.caller)
        if denial?.kind == "unauthenticated", let problem = context.credentialProblem {
            denial?.detail = problem
        }
        if denial == nil, let department, !action.allows(context.caller, department: department) {
            denial = .forbidden("\(context.caller.id) works in \(context.caller.department ?? "-") and may not see \(department)", zh: "\(context.caller.id) 属于 \(context.caller.department ?? "-")，无权查看 \(department)")
        }
        guard let denial else { return }
        logger.notice("access denied", metadata: [
            "request.id": .string(context.requestID), "principal": .string(context.caller.id),
            "action": .string(action.rawValue), "reason": .string(denial.detail.en),
        ])
        do {
            try await identities.audit(requestID: context.requestID, principal: context.caller.id, action: action.rawValue, outcome: "denied", detail: denial.detail.en)
        } catch {
            logger.error("could not write the access audit", metadata: ["error": .string("\(error)")])
        }
        throw denial
    }

    /// Logs every login decision and writes it to the access audit: who tried, from where, and
    /// the outcome (never the password).
    func recordLogin(_ outcome: IdentityStore.LoginOutcome, user: String, _ context: GatewayRequestContext) async {
        let (message, auditOutcome, detail): (Logger.Message, String, String)
        switch outcome {
        case .success: (message, auditOutcome, detail) = ("login succeeded", "allowed", "login from \(context.clientAddress)")
        case .refused: (message, auditOutcome, detail) = ("login refused", "denied", "wrong user id or password, from \(context.clientAddress)")
        case .locked: (message, auditOutcome, detail) = ("login refused", "denied", "account locked after too many wrong passwords, from \(context.clientAddress)")
        }
        logger.notice(message, metadata: [
            "request.id": .string(context.requestID), "principal": .string(user), "action": "login",
            "outcome": .string(auditOutcome), "http.client": .string(context.clientAddress), "reason": .string(detail),
        ])
        do {
            try await identities.audit(requestID: context.requestID, principal: user, action: "login", outcome: auditOutcome, detail: detail)
        } catch {
            logger.error("could not write the access audit", metadata: ["error": .string("\(error)")])
        }
    }

    /// Calls a service method with the caller as `_meta.actor`; service errors become problems.
    func call(_ service: OneStopService, _ method: String, _ params: JSONObject, _ context: GatewayRequestContext, idempotent: Bool = false) async throws -> JSON {
        guard let client = peers[service] else {
            throw Problem(status: .internalServerError, kind: "internal", detail: "the gateway has no client for \(service.rawValue)",
                          zh: "网关没有 \(service.rawValue) 服务的客户端")
        }
        let meta = RPCMeta(traceparent: Self.traceparent(for: context.requestID), actor: context.caller.actor)
        do {
            return try await client.call(method: method, params: .object(params), meta: meta, timeout: settings.serviceTimeout, idempotent: idempotent)
        } catch let error as RPCError {
            throw Problem(error, service: service.rawValue)
        }
    }

    /// A typed call for composite routes.
    func call<M: RPCMethod>(_ service: OneStopService, _ method: M.Type, _ params: M.Params, _ context: GatewayRequestContext) async throws -> M.Result {
        let encoded = try JSONValueEncoder().encode(params)
        let result = try await call(service, M.name, encoded.objectValue ?? [:], context, idempotent: M.isIdempotent)
        do {
            return try JSONValueDecoder().decode(M.Result.self, from: result)
        } catch {
            throw Problem(status: .badGateway, kind: "internal", detail: "\(service.rawValue) answered \(M.name) in an unexpected shape",
                          zh: "\(service.rawValue) 对 \(M.name) 的答复格式不符合预期")
        }
    }

    /// A W3C traceparent whose trace id is derived from the request id, so logs of every
    /// service can be joined on it.
    static func traceparent(for requestID: String) -> String {
        let hex = requestID.replacingOccurrences(of: "-", with: "").lowercased()
        let traceID = String((hex + String(repeating: "0", count: 32)).prefix(32))
        let spanID = Hex.lowercase(SecureRandom.bytes(8))
        return "00-\(traceID)-\(spanID)-01"
    }
}
