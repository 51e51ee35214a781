import LineProtocol
import Postgres

/// Database failures as callers see them: transient ones are `unavailable` (retryable, so relays
/// try again and clients may retry idempotent calls); a unique violation is a `conflict`.
extension PostgresError: RPCErrorConvertible {
    public var rpcError: RPCError {
        switch code {
        case .uniqueViolation:
            return .conflict("the record already exists (\(constraint ?? "unique constraint"))", zh: "该记录已存在（\(constraint ?? "唯一约束")）")
        case .connectionFailed, .connectionLost, .connectionClosed, .poolTimeout, .poolClosed,
             .serializationFailure, .deadlock, .queryCanceled:
            return .unavailable("the service's database is unavailable or busy (\(code)); retry shortly")
        default:
            return .internal("a database statement failed (\(code)); the error is logged by the service")
        }
    }
}
