/// The pool's bookkeeping as a value: each event returns the action the pool must perform
/// (outside the lock). No I/O happens here, so the rules can be tested on their own.
struct PoolStateMachine {
    /// What a waiter receives: a ready connection, or permission to open a new one.
    enum Lease: Sendable {
        case existing(PostgresConnection)
        case create
    }

    enum AcquireAction {
        case use(PostgresConnection)
        case create
        case wait
        case fail(PostgresError)
    }

    enum EnqueueAction {
        case none
        case resume(CheckedContinuation<Lease, any Error>, Result<Lease, any Error>)
    }

    enum ReleaseAction {
        case none
        case discard(PostgresConnection?)
        case handOff(CheckedContinuation<Lease, any Error>, Lease, discarding: PostgresConnection?)
    }

    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<Lease, any Error>
    }

    let maxConnections: Int
    private(set) var idle: [PostgresConnection] = []
    /// Connections that exist or are being opened.
    private(set) var open = 0
    /// Leased connections, including those being opened for a caller.
    private(set) var inUse = 0
    private var waiters: [Waiter] = []
    /// Waiter ids handed out but not yet queued; a cancellation that arrives in between lands here.
    private var pending: Set<Int> = []
    private var cancelledBeforeQueued: Set<Int> = []
    private var nextWaiterID = 0
    private(set) var closed = false

    init(maxConnections: Int) {
        self.maxConnections = max(1, maxConnections)
    }

    var waiting: Int { waiters.count }

    /// Takes an idle connection or a creation slot, without waiting.
    mutating func acquire() -> AcquireAction {
        if closed { return .fail(Self.closedError) }
        if let connection = idle.popLast() {
            inUse += 1
            return .use(connection)
        }
        if open < maxConnections {
            open += 1
            inUse += 1
            return .create
        }
        return .wait
    }

    mutating func makeWaiterID() -> Int {
        defer { nextWaiterID += 1 }
        pending.insert(nextWaiterID)
        return nextWaiterID
    }

    /// Queues a waiter (FIFO) unless something is available by now.
    mutating func enqueue(id: Int, continuation: CheckedContinuation<Lease, any Error>) -> EnqueueAction {
        pending.remove(id)
        if cancelledBeforeQueued.remove(id) != nil {
            return .resume(continuation, .failure(CancellationError()))
        }
        switch acquire() {
        case .use(let connection): return .resume(continuation, .success(.existing(connection)))
        case .create: return .resume(continuation, .success(.create))
        case .fail(let error): return .resume(continuation, .failure(error))
        case .wait:
            waiters.append(Waiter(id: id, continuation: continuation))
            return .none
        }
    }

    /// Removes a waiter whose task was cancelled or timed out; returns its continuation to fail.
    mutating func cancelWaiter(id: Int) -> CheckedContinuation<Lease, any Error>? {
        if let index = waiters.firstIndex(where: { $0.id == id }) {
            return waiters.remove(at: index).continuation
        }
        if pending.contains(id) { cancelledBeforeQueued.insert(id) }
        return nil
    }

    /// A leased connection comes back. Broken ones are dropped, and their slot goes to a waiter.
    mutating func release(_ connection: PostgresConnection, reusable: Bool) -> ReleaseAction {
        if !reusable || closed {
            open -= 1
            inUse -= 1
            return handOffCreationSlot(discarding: connection)
        }
        if !waiters.isEmpty {
            let waiter = waiters.removeFirst()
            return .handOff(waiter.continuation, .existing(connection), discarding: nil)
        }
        inUse -= 1
        idle.append(connection)
        return .none
    }

    /// Opening a connection failed: free its slot.
    mutating func creationFailed() -> ReleaseAction {
        open -= 1
        inUse -= 1
        return handOffCreationSlot(discarding: nil)
    }

    private mutating func handOffCreationSlot(discarding connection: PostgresConnection?) -> ReleaseAction {
        if !closed, !waiters.isEmpty {
            let waiter = waiters.removeFirst()
            open += 1
            inUse += 1
            return .handOff(waiter.continuation, .create, discarding: connection)
        }
        return .discard(connection)
    }

    /// Closes the pool: returns the idle connections to close and the waiters to fail.
    mutating func close() -> (idle: [PostgresConnection], waiters: [CheckedContinuation<Lease, any Error>]) {
        closed = true
        let idle = self.idle
        self.idle = []
        open -= idle.count
        let waiters = self.waiters.map(\.continuation)
        self.waiters = []
        return (idle, waiters)
    }

    static let closedError = PostgresError(
        code: .poolClosed,
        message: "the database pool is closed (the service is shutting down); the call was not run"
    )
}
