#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Routing's notion of "now": real time, or (for end-to-end tests that must see working days
/// pass in seconds) real time run `speed` times faster from a fixed origin.
///
/// Every instant routing reasons about goes through one clock: its own "now" and the instants
/// other services send (a case's acceptance time), so a case accepted a real second ago is a
/// simulated `speed` seconds old, not days older or younger than routing's today.
public struct RoutingClock: Sendable {
    /// Where simulated and real time coincide (process start, by default).
    public let origin: Date
    /// Simulated seconds per real second; 1 = real time.
    public let speed: Int

    public init(origin: Date = Date(), speed: Int = 1) {
        precondition(speed >= 1, "a routing clock runs at least at real speed")
        self.origin = origin
        self.speed = speed
    }

    /// The simulated instant of a real one. Instants before the origin are left as they are:
    /// scaling them would throw a case accepted a minute before start days into the past.
    public func instant(at real: Date) -> Date {
        guard speed != 1, real > origin else { return real }
        return origin.addingTimeInterval(real.timeIntervalSince(origin) * Double(speed))
    }

    public func now() -> Date { instant(at: Date()) }
}
