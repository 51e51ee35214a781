import CLibPQ
import Foundation
import Logging
import Synchronization

/// Receives LISTEN/NOTIFY messages on a dedicated session and thread.
///
///     let listener = PostgresListener(configuration: config, channels: ["case_events"], logger: logger)
///     for try await message in listener.notifications() where message.kind == .notification { ... }
///
/// The thread waits with `poll()` on the session socket plus a wake-up pipe, so `close()` or
/// cancelling the consuming task ends it promptly. A lost session is reopened (with backoff) and
/// LISTEN re-issued; the stream then yields a `.reconnected` marker, because notifies sent in the gap
/// are gone and the caller should re-read what it tracks.
public final class PostgresListener: Sendable {
    private let configuration: PostgresConfiguration
    private let channels: [String]
    private let logger: Logger
    private let sessions = Mutex<[ListenerSession]>([])
    private let closed = Atomic<Bool>(false)

    public init(configuration: PostgresConfiguration, channels: [String], logger: Logger) {
        self.configuration = configuration
        self.channels = channels
        self.logger = logger
    }

    deinit {
        for session in sessions.withLock({ $0 }) { session.stop() }
    }

    /// Starts a session and streams its notifications. Each call opens its own session. The stream
    /// finishes when the consuming task is cancelled or `close()` is called; it does not fail on lost
    /// connections (it reconnects).
    public func notifications() -> AsyncThrowingStream<PostgresNotification, any Error> {
        let (stream, continuation) = AsyncThrowingStream<PostgresNotification, any Error>.makeStream(
            bufferingPolicy: .bufferingOldest(Self.bufferLimit)
        )
        guard !closed.load(ordering: .relaxed), let session = ListenerSession(
            configuration: configuration, channels: channels, logger: logger, continuation: continuation
        ) else {
            continuation.finish()
            return stream
        }
        sessions.withLock { sessions in
            sessions.removeAll { $0.isFinished }
            sessions.append(session)
        }
        continuation.onTermination = { _ in session.stop() }
        session.start()
        return stream
    }

    /// Stops every session and waits for their threads to end.
    public func close() async {
        closed.store(true, ordering: .relaxed)
        let sessions = self.sessions.withLock { sessions in
            defer { sessions = [] }
            return sessions
        }
        for session in sessions {
            session.stop()
            await session.waitUntilFinished()
        }
    }

    /// Notifications buffered for a slow consumer before new ones are dropped (with a warning).
    static let bufferLimit = 10_000
}

/// One listening session: a thread, a PGconn it owns exclusively, and a self-pipe to wake it.
final class ListenerSession: Sendable {
    private struct State {
        var stopping = false
        var finished = false
        var pipeOpen = true
        var finishWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let configuration: PostgresConfiguration
    private let channels: [String]
    private let logger: Logger
    private let continuation: AsyncThrowingStream<PostgresNotification, any Error>.Continuation
    private let state = Mutex(State())
    private let readFD: Int32
    private let writeFD: Int32
    private let noticeSink: NoticeSink

    /// Longest pause between reconnect attempts.
    static let maxBackoffMilliseconds: Int32 = 5_000

    init?(
        configuration: PostgresConfiguration, channels: [String], logger: Logger,
        continuation: AsyncThrowingStream<PostgresNotification, any Error>.Continuation
    ) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            logger.error("postgres listener could not create a pipe", metadata: ["errno": "\(errno)"])
            return nil
        }
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        readFD = fds[0]
        writeFD = fds[1]
        self.configuration = configuration
        self.channels = channels
        self.logger = logger
        self.continuation = continuation
        self.noticeSink = NoticeSink(logger: logger)
    }

    func start() {
        let thread = Thread { [self] in
            run()
            continuation.finish()
            let waiters = state.withLock { state in
                state.finished = true
                state.pipeOpen = false
                close(readFD)
                close(writeFD)
                defer { state.finishWaiters = [] }
                return state.finishWaiters
            }
            for waiter in waiters { waiter.resume() }
        }
        thread.name = "postgres-listener"
        thread.start()
    }

    func stop() {
        state.withLock { state in
            state.stopping = true
            if state.pipeOpen {
                var byte: UInt8 = 1
                _ = write(writeFD, &byte, 1)
            }
        }
    }

    func waitUntilFinished() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state in
                if state.finished { return true }
                state.finishWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    private var stopping: Bool { state.withLock { $0.stopping } }

    var isFinished: Bool { state.withLock { $0.finished } }

    // MARK: The thread

    private func run() {
        var connectedBefore = false
        var failures = 0
        while !stopping {
            if let connection = connect() {
                failures = 0
                if listen(on: connection) {
                    continuation.yield(PostgresNotification(kind: connectedBefore ? .reconnected : .listening))
                    connectedBefore = true
                    logger.debug("postgres listener listening", metadata: ["db.channels": "\(channels.joined(separator: ","))"])
                    receive(on: connection)
                }
                PQfinish(connection)
                if stopping { return }
                logger.info("postgres listener lost its connection; reconnecting")
            }
            failures += 1
            let backoff = min(Self.maxBackoffMilliseconds, 100 << Int32(min(failures - 1, 6)))
            waitForWakeUp(milliseconds: backoff)
        }
    }

    /// Opens a session without blocking the stop signal (PQconnectStart + poll).
    private func connect() -> OpaquePointer? {
        var keywords = ["dbname", "client_encoding"]
        var values = [configuration.connectionString, "UTF8"]
        if let name = configuration.applicationName {
            keywords.append("application_name")
            values.append(name)
        }
        let started = withCStringArray(keywords) { keywords in
            withCStringArray(values) { values in PQconnectStartParams(keywords, values, 1) }
        }
        guard let connection = started else { return nil }
        var status = PGRES_POLLING_WRITING
        while true {
            if PQstatus(connection) == CONNECTION_BAD || status == PGRES_POLLING_FAILED {
                logger.info(
                    "postgres listener could not connect",
                    metadata: ["error": "\(PQerrorMessage(connection).map { String(cString: $0).trimmingTrailingNewlines } ?? "")"]
                )
                PQfinish(connection)
                return nil
            }
            if status == PGRES_POLLING_OK {
                noticeSink.install(on: connection)
                return connection
            }
            let events = status == PGRES_POLLING_READING ? Int16(POLLIN) : Int16(POLLOUT)
            switch waitForSocket(PQsocket(connection), events: events, milliseconds: -1) {
            case .stop:
                PQfinish(connection)
                return nil
            case .ready, .timeout:
                status = PQconnectPoll(connection)
            }
        }
    }

    private func listen(on connection: OpaquePointer) -> Bool {
        for channel in channels {
            let quoted = "\"" + channel.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            guard let result = PQexec(connection, "LISTEN \(quoted)") else { return false }
            let ok = PQresultStatus(result) == PGRES_COMMAND_OK
            PQclear(result)
            if !ok { return false }
        }
        return true
    }

    /// Delivers notifications until the session drops or a stop is requested.
    private func receive(on connection: OpaquePointer) {
        while true {
            while let notify = PQnotifies(connection) {
                let message = PostgresNotification(
                    channel: String(cString: notify.pointee.relname),
                    payload: String(cString: notify.pointee.extra)
                )
                PQfreemem(notify)
                if case .dropped = continuation.yield(message) {
                    logger.warning("postgres listener buffer full; notification dropped")
                }
            }
            switch waitForSocket(PQsocket(connection), events: Int16(POLLIN), milliseconds: -1) {
            case .stop: return
            case .ready, .timeout:
                if PQconsumeInput(connection) == 0 || PQstatus(connection) != CONNECTION_OK { return }
            }
        }
    }

    private enum WaitResult { case ready, timeout, stop }

    private func waitForSocket(_ socket: Int32, events: Int16, milliseconds: Int32) -> WaitResult {
        while true {
            if stopping { return .stop }
            var fds = [
                pollfd(fd: socket, events: events, revents: 0),
                pollfd(fd: readFD, events: Int16(POLLIN), revents: 0),
            ]
            let count = poll(&fds, 2, milliseconds)
            if count < 0 {
                if errno == EINTR { continue }
                return .ready  // let libpq report the problem
            }
            if count == 0 { return .timeout }
            if fds[1].revents != 0 { drainPipe() }
            if stopping { return .stop }
            if fds[0].revents != 0 { return .ready }
        }
    }

    private func waitForWakeUp(milliseconds: Int32) {
        var descriptor = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)
        if poll(&descriptor, 1, milliseconds) > 0 { drainPipe() }
    }

    private func drainPipe() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(readFD, &buffer, buffer.count) > 0 {}
    }
}
