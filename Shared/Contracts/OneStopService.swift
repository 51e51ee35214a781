/// The services of OneStop and where they listen by default on one machine (`make run`).
/// Deployments override the addresses with `ONESTOP_<NAME>_ADDRESSES`.
public enum OneStopService: String, Sendable, CaseIterable, Codable {
    case gateway
    case intake
    case review
    case routing
    case notification
    case complaints

    /// The line-protocol port in the local layout: 7100 + position.
    public var defaultRPCPort: Int { 7100 + Self.allCases.firstIndex(of: self)! }

    /// The admin HTTP port (`/healthz`, `/readyz`, `/metrics`) in the local layout.
    public var defaultAdminPort: Int { 9100 + Self.allCases.firstIndex(of: self)! }

    /// Its database and role in the local cluster.
    public var defaultDatabaseName: String { "onestop_\(rawValue)" }
}
