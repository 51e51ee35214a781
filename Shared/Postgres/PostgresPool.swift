import Logging
import Synchronization

/// Isolation level for `PostgresPool.withTransaction`.
public enum PostgresIsolation: Sendable, Hashable {
    case readCommitted, repeatableRead, serializable

    var sql: String {
        switch self {
        case .readCommitted: "READ COMMITTED"
        case .repeatableRead: "REPEATABLE READ"
        case .serializable: "SERIALIZABLE"
        }
    }
}

/// A snapshot of the pool for metrics.
public struct PostgresPoolStatistics: Sendable, Hashable {
    /// Connections open or being opened.
    public var open: Int
    /// Open connections nobody is using.
    public var idle: Int
    /// Connections lent out (or being opened for a caller).
    public var inUse: Int
    /// Callers waiting for a connection.
    public var waiting: Int
}

/// A bounded set of connections shared by a service.
///
/// Connections open on demand up to `maxConnections`. When all are busy, callers wait in FIFO order
/// for up to `acquireTimeout`, then get `.poolTimeout`. A connection that broke (server restart,
/// `pg_terminate_backend`) is dropped when returned, and a fresh one is opened on the next demand;
/// idle connections are checked before reuse.
public final class PostgresPool: Sendable {
    public let configuration: PostgresConfiguration
    private let acquireTimeout: Duration
    private let logger: Logger
    private let state: Mutex<PoolStateMachine>
    /// Listeners in this process woken when this pool's transactions commit (instead of NOTIFY).
    public let commitSignals = CommitSignals()

    public init(
        configuration: PostgresConfiguration,
        maxConnections: Int,
        acquireTimeout: Duration = .seconds(5),
        logger: Logger
    ) {
        self.configuration = configuration
        self.acquireTimeout = acquireTimeout
        self.logger = logger
        self.state = Mutex(PoolStateMachine(maxConnections: maxConnections))
    }

    /// The pool's size limit.
    public var maxConnections: Int { state.withLock { $0.maxConnections } }

    public var statistics: PostgresPoolStatistics {
        state.withLock {
            PostgresPoolStatistics(open: $0.open, idle: $0.idle.count, inUse: $0.inUse, waiting: $0.waiting)
        }
    }

    // MARK: Using connections

    /// Lends a connection to `body` and takes it back afterwards, even if `body` throws.
    /// Do not keep the connection beyond `body`.
    public func withConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await acquire()
        let result: T
        do {
            result = try await body(connection)
        } catch {
            connection.settleCommitWakes(committed: false)
            release(connection)
            throw error
        }
        // The body's transaction committed (or its statements ran on their own and did).
        connection.settleCommitWakes(committed: true)
        release(connection)
        return result
    }

    /// Runs `body` in a transaction: `BEGIN`, then `COMMIT` if it returns, `ROLLBACK` if it throws.
    ///
    /// On a serialization failure (40001) or deadlock (40P01) the whole body runs again, up to
    /// `maxAttempts` times in all, after a short jittered pause; so `body` must not have side effects
    /// outside the database. The last failure is rethrown.
    public func withTransaction<T: Sendable>(
        isolation: PostgresIsolation = .readCommitted,
        maxAttempts: Int = 5,
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await withConnection { connection in
                    try await connection.simpleQuery("BEGIN ISOLATION LEVEL \(isolation.sql)")
                    let result: T
                    do {
                        result = try await body(connection)
                    } catch {
                        await rollback(connection)
                        throw error
                    }
                    let commit = try await connection.simpleQueryResult("COMMIT")
                    if commit.commandTag == "ROLLBACK" {
                        throw PostgresError(
                            code: .server, sqlState: "25P02",
                            message: "the transaction was rolled back at COMMIT because a statement in it failed "
                                + "and the error was caught inside the transaction; let the error propagate instead"
                        )
                    }
                    return result
                }
            } catch let error as PostgresError where error.isRetryableTransactionFailure && attempt < maxAttempts {
                let delay = Self.backoff(attempt: attempt)
                logger.debug(
                    "postgres transaction retry",
                    metadata: ["db.sqlstate": "\(error.sqlState ?? "")", "db.attempt": "\(attempt)"]
                )
                attempt += 1
                try await Task.sleep(for: delay)
            }
        }
    }

    /// Runs one statement on a pooled connection.
    @discardableResult
    public func query(_ sql: SQL) async throws -> PostgresRows {
        try await withConnection { try await $0.query(sql) }
    }

    /// Runs one statement on a pooled connection and returns the affected row count.
    @discardableResult
    public func execute(_ sql: SQL) async throws -> Int {
        try await withConnection { try await $0.execute(sql) }
    }

    /// `SELECT 1` on a pooled connection, for readiness checks.
    public func ping() async throws {
        _ = try await query("SELECT 1")
    }

    /// Closes idle connections and fails waiting callers; later acquires throw `.poolClosed`.
    /// Connections still lent out are closed when they come back.
    public func close() async {
        let (idle, waiters) = state.withLock { $0.close() }
        for waiter in waiters { waiter.resume(throwing: PoolStateMachine.closedError) }
        for connection in idle { await connection.close() }
        logger.debug("postgres pool closed")
    }

    // MARK: Acquire and release

    private func acquire() async throws -> PostgresConnection {
        while true {
            switch state.withLock({ $0.acquire() }) {
            case .use(let connection):
                if let connection = reuseIfAlive(connection) { return connection }
            case .create:
                return try await openConnection()
            case .fail(let error):
                throw error
            case .wait:
                switch try await waitForLease() {
                case .existing(let connection):
                    if let connection = reuseIfAlive(connection) { return connection }
                case .create:
                    return try await openConnection()
                }
            }
        }
    }

    /// Returns the connection if it survived its idle time; otherwise drops it (nil).
    private func reuseIfAlive(_ connection: PostgresConnection) -> PostgresConnection? {
        if connection.checkAlive() { return connection }
        logger.debug("postgres dropping dead idle connection", metadata: ["db.backend_pid": "\(connection.backendPID)"])
        perform(state.withLock { $0.release(connection, reusable: false) })
        return nil
    }

    private func openConnection() async throws -> PostgresConnection {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration, logger: logger)
            connection.attach(commitSignals)
        } catch {
            perform(state.withLock { $0.creationFailed() })
            throw error
        }
        if state.withLock({ $0.closed }) {
            perform(state.withLock { $0.release(connection, reusable: false) })
            throw PoolStateMachine.closedError
        }
        return connection
    }

    private func release(_ connection: PostgresConnection) {
        let reusable = !connection.isBroken
        perform(state.withLock { $0.release(connection, reusable: reusable) })
    }

    private func perform(_ action: PoolStateMachine.ReleaseAction) {
        switch action {
        case .none:
            break
        case .discard(let connection):
            connection?.discard()
        case .handOff(let continuation, let lease, let connection):
            connection?.discard()
            continuation.resume(returning: lease)
        }
    }

    /// Waits in line for up to `acquireTimeout`.
    private func waitForLease() async throws -> PoolStateMachine.Lease {
        let id = state.withLock { $0.makeWaiterID() }
        let timeout = acquireTimeout
        let lease: PoolStateMachine.Lease? = try await withThrowingTaskGroup(of: PoolStateMachine.Lease?.self) { group in
            group.addTask { try await self.waitInLine(id: id) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            if let first = try await group.next(), let lease = first {
                group.cancelAll()
                return lease
            }
            // Timed out: leave the line. If a lease arrived in the meantime, keep it.
            group.cancelAll()
            do {
                if let late = try await group.next(), let lease = late { return lease }
            } catch {}
            return nil
        }
        if let lease { return lease }
        try Task.checkCancellation()
        let max = state.withLock { $0.maxConnections }
        logger.info("postgres pool timeout", metadata: ["db.pool.size": "\(max)"])
        throw PostgresError(
            code: .poolTimeout,
            message: "all \(max) database connections stayed busy for \(Self.format(timeout)); "
                + "raise ONESTOP_DB_POOL_SIZE or look for slow queries and long transactions"
        )
    }

    private func waitInLine(id: Int) async throws -> PoolStateMachine.Lease {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<PoolStateMachine.Lease, any Error>) in
                switch state.withLock({ $0.enqueue(id: id, continuation: continuation) }) {
                case .none: break
                case .resume(let continuation, let result): continuation.resume(with: result)
                }
            }
        } onCancel: {
            state.withLock { $0.cancelWaiter(id: id) }?.resume(throwing: CancellationError())
        }
    }

    private func rollback(_ connection: PostgresConnection) async {
        guard !connection.isBroken else { return }
        do {
            try await connection.simpleQuery("ROLLBACK")
        } catch {
            logger.debug("postgres rollback failed", metadata: ["error": "\(error)"])
        }
    }

    /// 10 ms, 20 ms, 40 ms … capped at 320 ms, each ±50 % so retrying transactions drift apart.
    static func backoff(attempt: Int) -> Duration {
        let base = 10.0 * Double(1 << min(attempt - 1, 5))
        return .milliseconds(Int(base * Double.random(in: 0.5...1.5)))
    }

    static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let value = Double(seconds) + Double(attoseconds) / 1e18
        return value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
    }
}
