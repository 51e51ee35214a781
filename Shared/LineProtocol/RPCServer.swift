import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A line-protocol server: accepts connections, frames lines, dispatches JSON-RPC calls to a
/// method table and answers as calls finish.
///
/// Lifecycle: `start()` binds and returns the address; `shutdown(gracePeriod:)` stops accepting,
/// lets in-flight calls finish (up to the grace period), then closes every connection.
public final class RPCServer: Sendable {
    public let configuration: RPCServerConfiguration
    let dispatcher: RPCDispatcher
    private let group: any EventLoopGroup
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var serverChannel: (any Channel)?
        var connections: [ObjectIdentifier: any Channel] = [:]
        var acceptedConnections = 0
        var isShuttingDown = false
    }

    public init(
        configuration: RPCServerConfiguration,
        methods: RPCMethodTable,
        health: @escaping @Sendable () async -> SysHealth.Result = { .init(status: "ok", checks: [:]) },
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        self.configuration = configuration
        self.group = eventLoopGroup
        var logger = logger
        logger[metadataKey: "rpc.server"] = .string(configuration.serviceName)
        self.logger = logger
        self.dispatcher = RPCDispatcher(configuration: configuration, methods: methods, health: health)
    }

    /// The bound address once started.
    public var localAddress: SocketAddress? {
        state.withLock { $0.serverChannel?.localAddress }
    }

    public var openConnectionCount: Int { state.withLock { $0.connections.count } }
    /// Connections admitted since the server started.
    public var acceptedConnectionCount: Int { state.withLock { $0.acceptedConnections } }

    @discardableResult
    public func start() async throws -> SocketAddress {
        let configuration = self.configuration
        let logger = self.logger
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let admitted = self.admit(channel)
                    var connectionLogger = logger
                    connectionLogger[metadataKey: "rpc.peer"] = .string(channel.remoteAddress?.description ?? "?")
                    let handler = RPCServerConnectionHandler(
                        dispatcher: self.dispatcher,
                        admitted: admitted,
                        logger: connectionLogger
                    )
                    if let tls = configuration.tls {
                        try RPCTLS.addServerHandlers(tls, to: channel, logger: connectionLogger)
                    }
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        state.withLock { $0.serverChannel = channel }
        let address = channel.localAddress!
        logger.info("listening", metadata: [
            "rpc.address": .string(address.description),
            "rpc.tls": .string(configuration.tls.map { $0.requiresClientCertificate ? "mutual" : "server" } ?? "off"),
        ])
        return address
    }

    /// Registers a connection; returns false when over the connection limit or shutting down
    /// (the handler then answers `overloaded`/`unavailable` and closes).
    private func admit(_ channel: any Channel) -> Bool {
        let id = ObjectIdentifier(channel)
        let admitted = state.withLock { state -> Bool in
            guard !state.isShuttingDown, state.connections.count < configuration.maxConnections else { return false }
            state.connections[id] = channel
            state.acceptedConnections += 1
            return true
        }
        if admitted {
            channel.closeFuture.whenComplete { [self] _ in
                _ = state.withLock { $0.connections.removeValue(forKey: id) }
            }
        }
        return admitted
    }

    /// Stops accepting, asks every connection to finish its in-flight calls and close, and after
    /// `gracePeriod` closes what is still open.
    public func shutdown(gracePeriod: Duration = .seconds(10)) async {
        let (serverChannel, connections) = state.withLock { state in
            state.isShuttingDown = true
            return (state.serverChannel, Array(state.connections.values))
        }
        try? await serverChannel?.close()
        for connection in connections {
            connection.pipeline.fireUserInboundEventTriggered(RPCServerConnectionHandler.Drain())
        }
        let deadline = ContinuousClock.now + gracePeriod
        for connection in connections {
            _ = try? await Self.wait(for: connection.closeFuture, until: deadline)
        }
        for connection in connections where connection.isActive {
            logger.warning("closing a connection with calls still running after the grace period")
            try? await connection.close()
        }
        logger.info("stopped")
    }

    /// Waits for `future` until `deadline`; nil when the deadline came first.
    private static func wait(for future: EventLoopFuture<Void>, until deadline: ContinuousClock.Instant) async throws -> Void? {
        let promise = future.eventLoop.makePromise(of: Void?.self)
        future.whenComplete { _ in promise.succeed(()) }
        let remaining = deadline - ContinuousClock.now
        let timer = future.eventLoop.scheduleTask(in: TimeAmount(max(remaining, .zero))) { promise.succeed(nil) }
        defer { timer.cancel() }
        return try await promise.futureResult.get()
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
