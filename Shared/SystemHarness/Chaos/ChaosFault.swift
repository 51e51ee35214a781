/// One fault of the chaos schedule, injected for a while and then healed.
public enum ChaosFault: Sendable, Equatable, CustomStringConvertible {
    /// SIGKILL, down for the pause, then started again (waiting until it is ready).
    case kill(OneStopSystem.Part)
    /// The system's Postgres stopped (`pg_ctl stop -m fast`), then started again.
    case databaseOutage
    /// SIGSTOP, then SIGCONT: the process keeps its sockets and leases but does nothing.
    case freeze(OneStopSystem.Part)
    /// The routing → notification link broken through the proxy (drop, reset or stall), then healed.
    case linkCut(FaultProxy.Fault)

    public var description: String {
        switch self {
        case .kill(let part): "SIGKILL \(part.rawValue)"
        case .databaseOutage: "Postgres stop/start"
        case .freeze(let part): "SIGSTOP/SIGCONT \(part.rawValue)"
        case .linkCut(let fault): "routing→notification link \(fault)"
        }
    }

    /// A fault by name: a part's name (killed), `database`, `freeze` (notification), `link`
    /// (drop), `link-reset`, `link-stall`.
    public init?(name: String) {
        switch name {
        case "database": self = .databaseOutage
        case "freeze": self = .freeze(.notification)
        case "link": self = .linkCut(.drop)
        case "link-reset": self = .linkCut(.reset)
        case "link-stall": self = .linkCut(.stall)
        default:
            guard let part = OneStopSystem.Part(rawValue: name) else { return nil }
            self = .kill(part)
        }
    }

    /// One round: every service and a review worker killed in turn, the database outage, the
    /// notification service frozen, the routing → notification link cut. Later rounds cut the
    /// link with the proxy's other faults (reset, stall) as well.
    public static func round(_ number: Int) -> [ChaosFault] {
        let parts: [OneStopSystem.Part] = [.gateway, .intake, .review, .reviewWorker, .routing, .notification, .complaints]
        let cuts: [FaultProxy.Fault] = [.drop, .reset, .stall]
        return parts.map(ChaosFault.kill) + [.databaseOutage, .freeze(.notification), .linkCut(cuts[number % cuts.count])]
    }
}

/// A fault as it happened: when (seconds from the start of the load) and for how long.
public struct InjectedFault: Sendable {
    public var fault: ChaosFault
    public var at: Double
    public var lasted: Double
    /// Anything that went wrong injecting or healing it.
    public var problem: String?
}

extension OneStopSystem {
    /// Injects `fault`, holds it for `hold`, heals it; a killed part is started again and waited for.
    func inject(_ fault: ChaosFault, hold: Duration) async throws {
        switch fault {
        case .kill(let part):
            await kill(part)
            try await Task.sleep(for: hold)
            try await restart(part)
        case .databaseOutage:
            try await stopDatabase()
            do {
                try await Task.sleep(for: hold)
            } catch {
                try await startDatabase()
                throw error
            }
            try await startDatabase()
        case .freeze(let part):
            suspend(part)
            try? await Task.sleep(for: hold)
            resume(part)
        case .linkCut(let cut):
            guard let proxy = routingToNotification else { throw EndToEndError("the system was started without linkFaults") }
            proxy.set(cut)
            try? await Task.sleep(for: hold)
            proxy.heal()
        }
    }
}
