import HTTPTypes
import Hummingbird
import Logging
import ServiceKit
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
}

/// The outermost layer: a request id on every response (taken from the client when it sent a
/// sane one), the response language, and every error turned into an RFC 9457 problem.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let given = request.headers[.requestID], (8...128).contains(given.count),
           given.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) {
            context.requestID = given
        } else {
            context.requestID = UUID.v7().lowercasedString
        }
        context.language = Language(acceptLanguage: request.headers[.acceptLanguage])
        var response: Response
        // Open311 clients read errors in GeoReport v2's own format, also for failures before
        // the route (credential, rate limit, no such path).
        let open311 = request.uri.path.hasPrefix(Open311Routes.base + "/") ? Open311Format(path: request.uri.path) : nil
        func render(_ problem: Problem) -> Response {
            if let open311 { return open311.response(problem, language: Open311Routes.language(request, context)) }
            return problem.response(requestID: context.requestID, path: request.uri.path, language: context.language)
        }
        do {
            response = try await next(request, context)
        } catch let problem as Problem {
            response = render(problem)
        } catch let error as HTTPError {
            // The router's own errors (no such route, wrong method).
            let kind = error.status == .notFound ? "not_found" : error.status == .methodNotAllowed ? "method_not_allowed" : "invalid_params"
            let detail = error.body ?? (error.status == .notFound ? "no route \(request.method) \(request.uri.path)" : "\(error.status)")
            let zh = switch error.status {
            case .notFound: "没有此路由：\(request.method) \(request.uri.path)"
            case .methodNotAllowed: "此路径不接受 \(request.method) 请求"
            default: "请求无效（\(detail)）"
            }
            response = render(Problem(status: error.status, kind: kind, detail: detail, zh: zh))
        } catch {
            logger.error("request failed", metadata: ["request.id": .string(context.requestID), "error": .string("\(error)")])
            response = render(Problem(status: .internalServerError, kind: "internal", detail: "the gateway failed; quote request id \(context.requestID)",
                                      zh: "网关处理失败；咨询时请提供请求编号 \(context.requestID)"))
        }
        response.headers[.requestID] = context.requestID
        response.headers[.cacheControl] = response.headers[.cacheControl] ?? "no-store"
        response.headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        return response
    }
}

/// Establishes the caller from `Authorization: Bearer <token>` or the session cookie. A bad
/// credential does not fail the request here: routes that need a login say why it was refused.
/// Every refused token or session is logged (never the credential itself).
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let identities: IdentityStore
    let logger: Logger
    static let cookieName = "onestop_session"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let authorization = request.headers[.authorization] {
            guard authorization.lowercased().hasPrefix("bearer ") else {
                throw Problem.unauthenticated("the Authorization header must be 'Bearer <API token>'", zh: "Authorization 请求头须为“Bearer <API 令牌>”")
            }
            let token = String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces)
            switch try await identities.caller(bearer: token) {
            case .valid(let caller): context.caller = caller
            case .invalid(let reason):
                logger.notice("API token refused", metadata: [
                    "request.id": .string(context.requestID), "http.client": .string(context.clientAddress), "reason": .string(reason.en),
                ])
                throw Problem.unauthenticated(reason)
            }
        } else if let cookie = Self.sessionCookie(in: request) {
            switch try await identities.session(cookie: cookie) {
            case .valid(let caller): context.caller = caller
            case .invalid(let reason):
                logger.notice("session cookie refused", metadata: [
                    "request.id": .string(context.requestID), "http.client": .string(context.clientAddress), "reason": .string(reason.en),
                ])
                context.credentialProblem = reason
            }
        }
        return try await next(request, context)
    }

    static func sessionCookie(in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if parts.count == 2, parts[0] == cookieName, !parts[1].isEmpty { return parts[1] }
            }
        }
        return nil
    }
}

/// Token buckets per client: the API token or user when there is one, else the address.
/// In memory, per gateway replica: each replica enforces the limit on what it serves.
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let rate: Double
    private let burst: Double
    private let buckets = Mutex<[String: Bucket]>([:])

    init(perSecond rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
    }

    /// nil when the request may go ahead; otherwise seconds until it may.
    func take(_ key: String, now: ContinuousClock.Instant = .now) -> Int? {
        buckets.withLock { buckets in
            if buckets.count > 100_000 {
                // Full buckets carry no information; dropping them bounds memory under a flood.
                buckets = buckets.filter { Self.refilled($0.value, now: now, rate: rate, burst: burst) < burst }
            }
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: now)
            bucket.tokens = Self.refilled(bucket, now: now, rate: rate, burst: burst)
            bucket.updated = now
            guard bucket.tokens >= 1 else {
                buckets[key] = bucket
                return Int(((1 - bucket.tokens) / rate).rounded(.up))
            }
            bucket.tokens -= 1
            buckets[key] = bucket
            return nil
        }
    }

    private static func refilled(_ bucket: Bucket, now: ContinuousClock.Instant, rate: Double, burst: Double) -> Double {
        let elapsed = now - bucket.updated
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return min(burst, bucket.tokens + seconds * rate)
    }
}

struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let limiter: RateLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let key: String
        switch context.caller.credential {
        case .token(let id, _): key = "token:\(id)"
        case .session: key = "user:\(context.caller.id)"
        case .none: key = "address:\(context.clientAddress)"
        }
        if let wait = limiter.take(key) {
            throw Problem.tooManyRequests("too many requests from this client; try again in \(wait) s", zh: "此客户端请求过于频繁，请 \(wait) 秒后重试", retryAfterSeconds: wait)
        }
        return try await next(request, context)
    }
}
