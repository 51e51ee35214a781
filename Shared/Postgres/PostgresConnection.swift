import CLibPQ
import Foundation
import Logging
import Synchronization

/// One PostgreSQL session (a libpq `PGconn`) with a dedicated thread.
///
/// Every blocking libpq call runs on the connection's own thread, never on Swift's cooperative pool
/// or an event loop; callers simply `await`. Statements run one at a time, in call order. Most code
/// should borrow connections from a `PostgresPool` instead of opening its own.
public final class PostgresConnection: Sendable {
    private let box: PGConnectionBox
    private let worker: WorkerThread
    private let broken = Atomic<Bool>(false)
    private let closed = Atomic<Bool>(false)
    private let logger: Logger
    /// The server process serving this session (`pg_backend_pid()`).
    public let backendPID: Int32
    /// The pool's commit signals and the channels to wake when the current work commits.
    private let commitWakes = Mutex<(signals: CommitSignals?, pending: Set<String>)>((nil, []))

    private init(box: PGConnectionBox, worker: WorkerThread, backendPID: Int32, logger: Logger) {
        self.box = box
        self.worker = worker
        self.backendPID = backendPID
        self.logger = logger
    }

    deinit {
        // Free the PGconn on the connection's own thread, then let the thread end.
        worker.submit { [box] in box.finish() }
        worker.stop()
    }

    // MARK: Waking this process's listeners on commit

    /// Asks for `channel`'s listeners in this process (see `CommitSignals`) to be woken once the
    /// current transaction commits; outside a transaction, once the pool gets this connection
    /// back after the statement. False when nobody in this process listens (or the connection
    /// is not a pool's): then NOTIFY to reach other processes.
    public func wakeAfterCommit(_ channel: String) -> Bool {
        commitWakes.withLock { state in
            guard let signals = state.signals, signals.isListened(channel) else { return false }
            state.pending.insert(channel)
            return true
        }
    }

    func attach(_ signals: CommitSignals) {
        commitWakes.withLock { $0.signals = signals }
    }

    /// Wakes the listeners asked for since the last call (`committed`), or forgets them.
    func settleCommitWakes(committed: Bool) {
        let (signals, channels) = commitWakes.withLock { state in
            defer { state.pending.removeAll() }
            return (state.signals, state.pending)
        }
        if committed, !channels.isEmpty { signals?.fire(channels) }
    }

    // MARK: Opening and closing

    /// Opens a session. Throws `.connectionFailed` with libpq's reason when the server cannot be reached
    /// or refuses the login.
    public static func connect(_ configuration: PostgresConfiguration, logger: Logger) async throws -> PostgresConnection {
        let worker = WorkerThread(name: "postgres-connection")
        let box = PGConnectionBox(logger: logger)
        let pid: Int32
        do {
            pid = try await worker.run { () throws(PostgresError) -> Int32 in
                try box.open(configuration)
            }
        } catch {
            worker.stop()
            logger.debug("postgres connection failed", metadata: ["error": "\(error)"])
            throw error
        }
        var logger = logger
        logger[metadataKey: "db.backend_pid"] = "\(pid)"
        logger.debug("postgres connection opened")
        return PostgresConnection(box: box, worker: worker, backendPID: pid, logger: logger)
    }

    /// Ends the session and its thread. Later calls throw `.connectionClosed`.
    public func close() async {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let box = self.box
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let accepted = worker.submit {
                box.finish()
                continuation.resume()
            }
            if !accepted { continuation.resume() }
        }
        worker.stop()
        logger.debug("postgres connection closed")
    }

    /// True once the session failed in a way that makes it unusable (lost connection) or was closed.
    /// A pool discards broken connections instead of reusing them.
    public var isBroken: Bool {
        broken.load(ordering: .relaxed) || closed.load(ordering: .relaxed)
    }

    // MARK: Statements

    /// Runs one statement with its binds and returns the rows (empty for commands).
    ///
    /// A statement that started runs to completion even if the calling task is cancelled; bound
    /// long statements with `statement_timeout` (they then fail with `.queryCanceled`).
    @discardableResult
    public func query(_ sql: SQL) async throws -> PostgresRows {
        let text = sql.text
        var encoded: [PostgresBind] = []
        encoded.reserveCapacity(sql.binds.count)
        for value in sql.binds { encoded.append(try PostgresBind(value)) }
        let binds = encoded
        logger.trace("postgres query", metadata: ["db.statement": "\(text)"])
        let box = self.box
        return try await perform(query: text) { connection throws(PostgresError) in
            try box.withStatements { (statements) throws(PostgresError) in
                try Self.execute(connection, statements: &statements, text: text, binds: binds)
            }
        }
    }

    /// Runs one statement and returns the number of rows it inserted, updated or deleted.
    @discardableResult
    public func execute(_ sql: SQL) async throws -> Int {
        try await query(sql).affectedRows
    }

    /// Runs a script of one or more `;`-separated statements without binds (migrations, `BEGIN`).
    /// Stops at the first failing statement.
    public func simpleQuery(_ text: String) async throws {
        _ = try await simpleQueryResult(text)
    }

    /// Like `simpleQuery`, returning the last statement's result (for its command tag).
    func simpleQueryResult(_ text: String) async throws(PostgresError) -> PostgresRows {
        try await perform(query: nil) { connection throws(PostgresError) in
            try Self.consume(PQexec(connection, text), connection: connection)
        }
    }

    /// A cheap, non-blocking check used before handing out an idle pooled connection: reads whatever
    /// the server sent while the session was idle and reports whether the session is still up.
    func checkAlive() -> Bool {
        guard !isBroken else { return false }
        let alive = box.checkAlive()
        if !alive { broken.store(true, ordering: .relaxed) }
        return alive
    }

    private func perform<T: Sendable>(
        query: String?,
        _ body: @escaping @Sendable (OpaquePointer) throws(PostgresError) -> T
    ) async throws(PostgresError) -> T {
        guard !closed.load(ordering: .relaxed) else {
            throw PostgresError(code: .connectionClosed, message: "the connection was closed; acquire a new one")
        }
        let box = self.box
        do {
            return try await worker.run { () throws(PostgresError) -> T in try box.with(body) }
        } catch {
            var error = error
            if error.code == .connectionLost || error.code == .connectionClosed {
                broken.store(true, ordering: .relaxed)
                logger.debug("postgres connection lost", metadata: ["error": "\(error)"])
            }
            if error.query == nil { error.query = query }
            throw error
        }
    }

    // MARK: libpq (called on the connection thread)

    static func execute(
        _ connection: OpaquePointer, statements: inout PreparedStatementCache, text: String, binds: [PostgresBind]
    ) throws(PostgresError) -> PostgresRows {
        let types = binds.map { Oid($0.dataType.oid) }
        let copies: [UnsafeMutablePointer<CChar>?] = binds.map { bind in bind.text.flatMap { strdup($0) } }
        defer { for copy in copies { free(copy) } }
        let values: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } }
        let count = Int32(binds.count)
        let key = PreparedStatementCache.key(text: text, types: types.map { UInt32($0) })

        func unprepared() -> OpaquePointer? {
            types.withUnsafeBufferPointer { types in
                values.withUnsafeBufferPointer { values in
                    PQexecParams(connection, text, count, types.baseAddress, values.baseAddress, nil, nil, 0)
                }
            }
        }
        func run(_ name: String) -> OpaquePointer? {
            values.withUnsafeBufferPointer { values in PQexecPrepared(connection, name, count, values.baseAddress, nil, nil, 0) }
        }

        let name: String
        switch statements.plan(for: key) {
        case .unprepared:
            return try consume(unprepared(), connection: connection)
        case .prepare(let newName):
            deallocateEvicted(connection, statements: &statements)
            let preparing = types.withUnsafeBufferPointer { types in PQprepare(connection, newName, text, count, types.baseAddress) }
            do {
                _ = try consume(preparing, connection: connection)
            } catch {
                statements.forget(key, deallocate: false)
                throw error
            }
            name = newName
        case .prepared(let known):
            name = known
        }
        do {
            return try consume(run(name), connection: connection)
        } catch where error.sqlState == "26000" || (error.sqlState == "0A000" && error.message.contains("cached plan")) {
            // The server lost the statement (DEALLOCATE ALL, DISCARD) or a migration changed the
            // shape of its result: prepare it again next time. Outside a transaction nothing ran,
            // so it is safe to run it once unprepared now; inside one the transaction is aborted.
            statements.forget(key, deallocate: error.sqlState != "26000")
            guard PQtransactionStatus(connection) == PQTRANS_IDLE else { throw error }
            return try consume(unprepared(), connection: connection)
        }
    }

    /// Drops the statements evicted from the cache. Only between transactions: in an aborted
    /// transaction the `DEALLOCATE` itself would fail.
    private static func deallocateEvicted(_ connection: OpaquePointer, statements: inout PreparedStatementCache) {
        guard !statements.namesToDeallocate.isEmpty, PQtransactionStatus(connection) == PQTRANS_IDLE else { return }
        let script = statements.namesToDeallocate.map { "DEALLOCATE \($0)" }.joined(separator: "; ")
        if let result = PQexec(connection, script) { PQclear(result) }
        statements.deallocated()
    }

    /// Turns a PGresult into rows or an error, and frees it.
    static func consume(_ result: OpaquePointer?, connection: OpaquePointer) throws(PostgresError) -> PostgresRows {
        guard let result else { throw connectionError(connection) }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            break
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            throw PostgresError(code: .server, message: "COPY is not supported by this client; use INSERT ... SELECT or unnest()")
        default:
            throw serverError(result, connection: connection)
        }
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        var names: [String] = []
        var types: [PostgresDataType] = []
        for column in 0..<columnCount {
            names.append(PQfname(result, Int32(column)).map { String(cString: $0) } ?? "?column?")
            types.append(PostgresDataType(oid: UInt32(PQftype(result, Int32(column)))))
        }
        var cells: [String?] = []
        cells.reserveCapacity(rowCount * columnCount)
        for row in 0..<Int32(rowCount) {
            for column in 0..<Int32(columnCount) {
                if PQgetisnull(result, row, column) != 0 {
                    cells.append(nil)
                } else {
                    cells.append(String(cString: PQgetvalue(result, row, column)))
                }
            }
        }
        let tag = PQcmdStatus(result).map { String(cString: $0) } ?? ""
        let affected = PQcmdTuples(result).flatMap { Int(String(cString: $0)) } ?? 0
        return PostgresRows(
            storage: .init(columnNames: names, columnTypes: types, cells: cells),
            count: rowCount,
            affectedRows: affected,
            commandTag: tag
        )
    }

    static func serverError(_ result: OpaquePointer, connection: OpaquePointer) -> PostgresError {
        func field(_ code: Character) -> String? {
            PQresultErrorField(result, Int32(code.asciiValue!)).map { String(cString: $0) }
        }
        let sqlState = field("C")
        let message = field("M") ?? PQresultErrorMessage(result).map { String(cString: $0).trimmingTrailingNewlines } ?? "unknown error"
        var code = sqlState.map(PostgresError.code(forSQLState:)) ?? .server
        if PQstatus(connection) == CONNECTION_BAD { code = .connectionLost }
        return PostgresError(
            code: code, sqlState: sqlState, message: message, detail: field("D"), hint: field("H"),
            constraint: field("n"), table: field("t")
        )
    }

    static func connectionError(_ connection: OpaquePointer) -> PostgresError {
        let reason = PQerrorMessage(connection).map { String(cString: $0).trimmingTrailingNewlines } ?? "unknown error"
        if PQstatus(connection) == CONNECTION_BAD {
            return PostgresError(code: .connectionLost, message: "the database connection was lost (\(reason))")
        }
        return PostgresError(code: .server, message: reason)
    }
}

/// Owns a `PGconn`. The pointer lives in a `Mutex`, which makes the box `Sendable`; in practice only
/// the connection's thread locks it (plus the pool's non-blocking `checkAlive` while it is idle).
final class PGConnectionBox: Sendable {
    private let pointer = Mutex<OpaquePointer?>(nil)
    private let statements = Mutex(PreparedStatementCache(capacity: 0))
    private let noticeSink: NoticeSink

    init(logger: Logger) {
        noticeSink = NoticeSink(logger: logger)
    }

    /// Session settings the value decoders depend on.
    static let sessionSetup = "SET TimeZone TO 'UTC'; SET DateStyle TO 'ISO, MDY'; SET IntervalStyle TO 'iso_8601'; SET bytea_output TO 'hex'"

    deinit { finish() }

    /// Connects (blocking) and returns the backend pid.
    func open(_ configuration: PostgresConfiguration) throws(PostgresError) -> Int32 {
        try pointer.withLock { (handle) throws(PostgresError) -> Int32 in
            var keywords = ["dbname", "client_encoding"]
            var values = [configuration.connectionString, "UTF8"]
            if let name = configuration.applicationName {
                keywords.append("application_name")
                values.append(name)
            }
            handle = withCStringArray(keywords) { keywords in
                withCStringArray(values) { values in PQconnectdbParams(keywords, values, 1) }
            }
            guard let connection = handle else {
                throw PostgresError(code: .connectionFailed, message: "libpq could not allocate a connection (out of memory)")
            }
            guard PQstatus(connection) == CONNECTION_OK else {
                let reason = PQerrorMessage(connection).map { String(cString: $0).trimmingTrailingNewlines } ?? "unknown error"
                PQfinish(connection)
                handle = nil
                throw PostgresError(
                    code: .connectionFailed,
                    message: "could not connect to PostgreSQL (\(reason)); check the connection settings and that the server is up"
                )
            }
            noticeSink.install(on: connection)
            statements.withLock { $0 = PreparedStatementCache(capacity: configuration.maxPreparedStatements) }
            do throws(PostgresError) {
                _ = try PostgresConnection.consume(PQexec(connection, Self.sessionSetup), connection: connection)
            } catch {
                PQfinish(connection)
                handle = nil
                throw PostgresError(code: .connectionFailed, message: "could not set up the session: \(error.message)")
            }
            return PQbackendPID(connection)
        }
    }

    func with<T>(_ body: @Sendable (OpaquePointer) throws(PostgresError) -> T) throws(PostgresError) -> T {
        try pointer.withLock { (handle) throws(PostgresError) -> T in
            guard let connection = handle else {
                throw PostgresError(code: .connectionClosed, message: "the connection was closed; acquire a new one")
            }
            return try body(connection)
        }
    }

    /// The session's prepared statements; called on the connection thread inside `with`.
    func withStatements<T>(_ body: (inout PreparedStatementCache) throws(PostgresError) -> T) throws(PostgresError) -> T {
        try statements.withLock { (cache) throws(PostgresError) -> T in try body(&cache) }
    }

    func finish() {
        pointer.withLock { handle in
            if let connection = handle { PQfinish(connection) }
            handle = nil
        }
    }

    func checkAlive() -> Bool {
        pointer.withLock { handle in
            guard let connection = handle, PQstatus(connection) == CONNECTION_OK else { return false }
            // Anything readable on an idle session is a notice, a notification, or the server's
            // goodbye (a FATAL message, then EOF). Read until nothing is left or the session is down.
            for _ in 0..<4 {
                var descriptor = pollfd(fd: PQsocket(connection), events: Int16(POLLIN), revents: 0)
                guard poll(&descriptor, 1, 0) > 0 else { return true }
                if PQconsumeInput(connection) == 0 || PQstatus(connection) != CONNECTION_OK { return false }
                while let notification = PQnotifies(connection) { PQfreemem(notification) }
            }
            return PQstatus(connection) == CONNECTION_OK
        }
    }

}

/// Routes server notices (`NOTICE: relation already exists`, the FATAL goodbye of a terminated
/// session) to the logger at debug level instead of libpq's default, stderr. Whoever installs it
/// must keep it alive as long as the PGconn.
final class NoticeSink: Sendable {
    let logger: Logger
    init(logger: Logger) { self.logger = logger }

    func install(on connection: OpaquePointer) {
        PQsetNoticeProcessor(connection, { context, message in
            guard let context, let message else { return }
            let sink = Unmanaged<NoticeSink>.fromOpaque(context).takeUnretainedValue()
            sink.logger.debug("postgres notice", metadata: ["db.notice": "\(String(cString: message).trimmingTrailingNewlines)"])
        }, Unmanaged.passUnretained(self).toOpaque())
    }
}

/// Calls `body` with a NULL-terminated array of C strings.
func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { for copy in copies { free(copy) } }
    var pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } }
    pointers.append(nil)
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

extension PostgresConnection {
    /// Closes without waiting (used by the pool for broken or surplus connections).
    func discard() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        worker.submit { [box] in box.finish() }
        worker.stop()
    }
}
