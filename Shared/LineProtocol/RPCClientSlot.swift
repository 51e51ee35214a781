import JSONCoding
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// One connection of a client pool and its state machine:
/// idle → connecting → ready → (closed) → idle, with backoff after failures.
final class RPCClientSlot: Sendable {
    /// A connected, greeted channel.
    struct Ready: Sendable {
        let channel: any Channel
        let handler: NIOLoopBound<RPCClientConnectionHandler>
        let inFlight: RPCInFlightCounter

        var load: Int { inFlight.value }

        func send(id: Int64, request: ByteBuffer, deadline: NIODeadline) async throws -> JSON {
            inFlight.add(1)
            defer { inFlight.add(-1) }
            let promise = channel.eventLoop.makePromise(of: JSON.self)
            let handler = self.handler
            channel.eventLoop.execute {
                handler.value.send(id: id, request: request, deadline: deadline, promise: promise)
            }
            return try await promise.futureResult.get()
        }
    }

    enum Poll {
        case ready(Ready)
        case connecting(EventLoopFuture<Ready>)
        case backingOff(until: NIODeadline, lastError: RPCError)
        case shutDown
    }

    private enum State {
        case idle(failures: Int, retryAt: NIODeadline, lastError: RPCError?)
        case connecting(EventLoopFuture<Ready>, failures: Int)
        case ready(Ready)
        case shutDown
    }

    let target: RPCTarget
    private let configuration: RPCClientConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let state: Mutex<State>

    init(target: RPCTarget, index: Int, configuration: RPCClientConfiguration, group: any EventLoopGroup, logger: Logger) {
        self.target = target
        self.configuration = configuration
        self.group = group
        self.logger = logger
        self.state = Mutex(.idle(failures: 0, retryAt: .uptimeNanoseconds(0), lastError: nil))
    }

    /// The slot's state; an idle slot past its backoff starts connecting.
    func poll() -> Poll {
        let now = NIODeadline.now()
        return state.withLock { state -> Poll in
            switch state {
            case .ready(let ready):
                return .ready(ready)
            case .connecting(let future, _):
                return .connecting(future)
            case .shutDown:
                return .shutDown
            case .idle(let failures, let retryAt, let lastError):
                if retryAt > now, let lastError {
                    return .backingOff(until: retryAt, lastError: lastError)
                }
                let future = connect()
                state = .connecting(future, failures: failures)
                return .connecting(future)
            }
        }
    }

    private func connect() -> EventLoopFuture<Ready> {
        let configuration = self.configuration
        let target = self.target
        let peer = "\(configuration.serviceName) at \(target)"
        let eventLoop = group.next()
        let tlsReport = configuration.tls.map { _ in RPCTLSReport() }
        let connected = ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls = configuration.tls, let tlsReport {
                        try RPCTLS.addClientHandlers(
                            tls, target: target, peer: peer, handshakeTimeout: configuration.connectTimeout, report: tlsReport, to: channel
                        )
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        RPCClientConnectionHandler(
                            peerDescription: peer, maxLineLength: configuration.maxLineLength, silenceLimit: configuration.silenceLimit
                        )
                    )
                }
            }
            .connect(host: target.host, port: target.port)
            .flatMapThrowing { channel -> Ready in
                // Linux may connect a socket to itself when the target port is free and in the
                // ephemeral range (TCP simultaneous open): that is no server, and it would hold
                // the port the server needs to come back on.
                if let local = channel.localAddress, let remote = channel.remoteAddress, local == remote {
                    channel.close(promise: nil)
                    throw RPCError.unavailable("\(self.target.host):\(self.target.port) is not listening (the connection reached itself)")
                }
                let handler = try channel.pipeline.syncOperations.handler(type: RPCClientConnectionHandler.self)
                return Ready(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop), inFlight: RPCInFlightCounter())
            }
            .flatMapErrorThrowing { error -> Ready in
                throw RPCCallFailure.notSent(.unavailable("could not connect to \(peer): \(error); is it running?"))
            }
            .flatMap { ready -> EventLoopFuture<Ready> in
                // With TLS, a connection is usable once the handshake is done; its failure says why.
                guard let tlsReport else { return eventLoop.makeSucceededFuture(ready) }
                guard let handshake = tlsReport.handshake else {
                    ready.channel.close(promise: nil)
                    return eventLoop.makeFailedFuture(RPCCallFailure.notSent(.unavailable("TLS with \(peer) was not set up")))
                }
                return handshake.map { ready }.flatMapError { error in
                    ready.channel.close(promise: nil)
                    let reason = error as? RPCError ?? .unavailable("TLS with \(peer) failed: \(error)")
                    return eventLoop.makeFailedFuture(RPCCallFailure.notSent(reason))
                }
            }
        let greeted = connected.flatMap { ready -> EventLoopFuture<Ready> in
            guard let credential = configuration.credential else { return eventLoop.makeSucceededFuture(ready) }
            let hello = SysHello.Params(service: configuration.callerName, credential: credential)
            let params = (try? JSONValueEncoder().encode(hello)) ?? .null
            var request = ByteBuffer()
            RPCCodec.write(RPCRequest(id: .integer(0), method: SysHello.name, params: params), into: &request)
            let promise = eventLoop.makePromise(of: JSON.self)
            ready.handler.value.send(id: 0, request: request, deadline: .now() + TimeAmount(configuration.connectTimeout), promise: promise)
            return promise.futureResult.map { _ in ready }.flatMapError { error in
                let closedByPeer = !ready.channel.isActive
                ready.channel.close(promise: nil)
                var reason = (error as? RPCCallFailure)?.error ?? .unavailable("\(error)")
                if let tlsFailure = tlsReport?.reason {
                    // TLS 1.3: a refused client certificate arrives after the handshake.
                    reason = .unavailable(tlsFailure)
                } else if closedByPeer, configuration.tls == nil, reason.kind == .unavailable {
                    reason = .unavailable("\(peer) closed the connection before answering sys.hello; if that listener requires TLS, configure TLS for this client")
                }
                // A refused hello is a configuration fault: say so, but nothing was sent.
                return eventLoop.makeFailedFuture(RPCCallFailure.notSent(reason))
            }
        }
        greeted.whenComplete { [self] (result: Result<Ready, any Error>) in
            switch result {
            case .success(let ready):
                let keep = state.withLock { state -> Bool in
                    guard case .connecting = state else { return false }
                    state = .ready(ready)
                    return true
                }
                if !keep {
                    ready.channel.close(promise: nil)
                    return
                }
                ready.channel.closeFuture.whenComplete { [self] _ in
                    state.withLock { state in
                        if case .ready(let current) = state, current.channel === ready.channel {
                            // Reconnect at once the first time; backoff applies if that fails.
                            state = .idle(failures: 0, retryAt: .now(), lastError: nil)
                        }
                    }
                }
            case .failure(let error):
                let reason = (error as? RPCCallFailure)?.error ?? .unavailable("could not connect to \(peer): \(error)")
                state.withLock { state in
                    guard case .connecting(_, let failures) = state else { return }
                    let pause = RetryBackoff.delay(attempt: failures + 1, initial: configuration.initialBackoff, maximum: configuration.maxBackoff)
                    state = .idle(failures: failures + 1, retryAt: .now() + TimeAmount(pause), lastError: reason)
                }
                logger.debug("connect failed", metadata: ["rpc.target": .string(peer), "error": .string(reason.message)])
            }
        }
        return greeted
    }

    func shutdown() async {
        let current = state.withLock { state -> State in
            let old = state
            state = .shutDown
            return old
        }
        switch current {
        case .ready(let ready):
            try? await ready.channel.close()
        case .connecting(let future, _):
            if let ready = try? await future.get() { try? await ready.channel.close() }
        default:
            break
        }
    }
}

/// Calls in flight on one connection, read by the pool to pick the least loaded.
final class RPCInFlightCounter: Sendable {
    private let count = Atomic<Int>(0)
    var value: Int { count.load(ordering: .relaxed) }
    func add(_ delta: Int) { count.wrappingAdd(delta, ordering: .relaxed) }
}
