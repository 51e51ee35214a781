import Contracts
import Hummingbird
import NIOCore

/// Per-request state: the request id every response carries, who is calling, and from where.
struct GatewayRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    var requestID = ""
    var caller = Caller.anonymous
    /// Why a presented credential was not accepted (expired session, revoked token), told to the
    /// client when the route needs a login.
    var credentialProblem: LocalizedText?
    var language = Language.en
    let clientAddress: String

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        clientAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// The gateway reads bodies itself with its own limit (`ONESTOP_GATEWAY_MAX_BODY_BYTES`).
    var maxUploadSize: Int { Int.max }
}

/// The two languages of the hall; `Accept-Language` chooses, English otherwise.
enum Language: String, Sendable {
    case zhCN = "zh-CN"
    case en

    init(acceptLanguage: String?) {
        guard let header = acceptLanguage?.lowercased() else { self = .en; return }
        // The first listed language we speak wins; q-values are rarely used by real clients.
        for part in header.split(separator: ",") {
            let tag = part.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            if tag.hasPrefix("zh") { self = .zhCN; return }
            if tag.hasPrefix("en") { self = .en; return }
        }
        self = .en
    }
}
