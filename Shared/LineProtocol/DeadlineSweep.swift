import NIOCore

/// One timer for many deadlines on an event loop. Scheduling a NIO task per call costs a heap
/// entry and an allocation per request; calls almost always finish long before their deadline,
/// so a single timer armed at the earliest deadline does the same job for a fraction of the cost.
struct DeadlineSweep {
    private var armed: (deadline: NIODeadline, task: Scheduled<Void>)?

    /// Makes sure the timer fires no later than `deadline`.
    mutating func arm(for deadline: NIODeadline, on eventLoop: any EventLoop, fire: @escaping @Sendable () -> Void) {
        if let armed, armed.deadline <= deadline { return }
        armed?.task.cancel()
        armed = (deadline, eventLoop.scheduleTask(deadline: deadline, fire))
    }

    /// Called when the timer fired, before re-arming for what is left.
    mutating func fired() {
        armed = nil
    }

    mutating func cancel() {
        armed?.task.cancel()
        armed = nil
    }
}
