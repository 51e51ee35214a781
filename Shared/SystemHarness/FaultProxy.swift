import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A TCP proxy on an ephemeral loopback port that forwards to one target and breaks the link on
/// demand, for the chaos run (toxiproxy and `tc netem` are not available here). Faults switch at
/// run time and apply to the connections already open as well as to new ones:
///
/// - `latency(d)`: every chunk is forwarded `d` later, in order, both ways.
/// - `drop`: open connections are closed (FIN both ways) and new ones are accepted and closed at once.
/// - `reset`: like `drop`, with an RST (`SO_LINGER` 0) instead of a FIN.
/// - `stall`: connections stay open but nothing is read, so bytes wait in the kernel's buffers;
///   new connections are accepted and held without reaching the target. Healing lets them flow.
/// - `none`: plain forwarding.
public final class FaultProxy: Sendable {
    public enum Fault: Sendable, Equatable, CustomStringConvertible {
        case none
        case latency(Duration)
        case drop
        case reset
        case stall

        public var description: String {
            switch self {
            case .none: "none"
            case .latency(let delay): "latency \(delay)"
            case .drop: "drop"
            case .reset: "reset"
            case .stall: "stall"
            }
        }
    }

    /// The loopback port clients connect to.
    public let port: Int
    public let targetHost: String
    public let targetPort: Int

    private let server: any Channel
    private let state: Mutex<State>

    private struct State {
        var fault: Fault = .none
        var links: [ObjectIdentifier: Link] = [:]
        var closed = false
    }

    /// Starts listening on `127.0.0.1:0`, forwarding to `targetHost:targetPort`.
    public init(targetHost: String = "127.0.0.1", targetPort: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws {
        let state = Mutex(State())
        self.state = state
        self.targetHost = targetHost
        self.targetPort = targetPort
        let box = ProxyBox()
        server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.autoRead, value: false)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                // The link starts once the client's channel is registered and active.
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ActivationHandler { channel in
                        guard let proxy = box.proxy else { return channel.close(promise: nil) }
                        proxy.accepted(channel)
                    })
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = server.localAddress?.port ?? 0
        box.proxy = self
    }

    /// The fault in force.
    public var fault: Fault { state.withLock { $0.fault } }

    /// How many client connections are open through the proxy (held ones included).
    public var openConnections: Int { state.withLock { $0.links.count } }

    /// Each open connection: whether both sides are active and the bytes forwarded each way.
    public var connectionStates: [String] {
        state.withLock { Array($0.links.values) }.map(\.summary)
    }

    /// Switches to `fault`; open connections are affected at once.
    public func set(_ fault: Fault) {
        let links = state.withLock { state -> [Link] in
            state.fault = fault
            return Array(state.links.values)
        }
        for link in links { apply(fault, to: link) }
    }

    /// Heals (`none`).
    public func heal() { set(.none) }

    /// Stops listening and closes every connection.
    public func close() async {
        let links = state.withLock { state -> [Link] in
            state.closed = true
            defer { state.links = [:] }
            return Array(state.links.values)
        }
        for link in links { link.close(reset: false) }
        try? await server.close()
    }

    // MARK: Connections

    private func accepted(_ inbound: any Channel) {
        let link = Link(inbound: inbound, delay: { [weak self] in
            guard case .latency(let delay) = self?.fault else { return .zero }
            return delay
        })
        let fault = state.withLock { state -> Fault? in
            guard !state.closed else { return nil }
            state.links[ObjectIdentifier(link)] = link
            return state.fault
        }
        guard let fault else {
            inbound.close(promise: nil)
            return
        }
        inbound.closeFuture.whenComplete { [weak self] _ in
            _ = self?.state.withLock { $0.links.removeValue(forKey: ObjectIdentifier(link)) }
            link.close(reset: false)
        }
        apply(fault, to: link)
    }

    private func apply(_ fault: Fault, to link: Link) {
        switch fault {
        case .drop:
            link.close(reset: false)
        case .reset:
            link.close(reset: true)
        case .stall:
            link.hold()
        case .none, .latency:
            link.flow(targetHost: targetHost, targetPort: targetPort)
        }
    }
}

/// Calls back when its channel becomes active; passes everything on.
private final class ActivationHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    private let activated: @Sendable (any Channel) -> Void

    init(_ activated: @escaping @Sendable (any Channel) -> Void) { self.activated = activated }

    func channelActive(context: ChannelHandlerContext) {
        activated(context.channel)
        context.fireChannelActive()
    }
}

/// Lets the child initialiser reach the proxy, which exists only once the bind has succeeded.
private final class ProxyBox: Sendable {
    private let value = Mutex<FaultProxy?>(nil)
    var proxy: FaultProxy? {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}

/// One client connection and its connection to the target. Both channels live on the client
/// channel's event loop; every change of state happens there.
private final class Link: Sendable {
    let inbound: any Channel
    let delay: @Sendable () -> Duration
    private let outbound = Mutex<OutboundState>(.none)
    /// Bytes forwarded to the target and back to the client.
    let toTarget = Atomic<Int>(0)
    let toClient = Atomic<Int>(0)

    var summary: String {
        let side: String
        switch outbound.withLock({ $0 }) {
        case .none: side = "not connected"
        case .connecting: side = "connecting"
        case .connected(let channel): side = "target \(channel.isActive ? "active" : "inactive")"
        case .closed: side = "closed"
        }
        return "client \(inbound.isActive ? "active" : "inactive"), \(side), \(toTarget.load(ordering: .relaxed)) B out, \(toClient.load(ordering: .relaxed)) B back"
    }

    private enum OutboundState {
        case none
        case connecting
        case connected(any Channel)
        case closed
    }

    init(inbound: any Channel, delay: @escaping @Sendable () -> Duration) {
        self.inbound = inbound
        self.delay = delay
    }

    /// Forwards (connecting to the target first if needed) and reads again on both sides.
    func flow(targetHost: String, targetPort: Int) {
        let action = outbound.withLock { state -> (any Channel)?? in
            switch state {
            case .none:
                state = .connecting
                return .some(nil)
            case .connected(let channel):
                return .some(channel)
            case .connecting, .closed:
                return nil
            }
        }
        guard let action else { return }
        guard let connected = action else {
            connect(targetHost: targetHost, targetPort: targetPort)
            return
        }
        inbound.setOption(.autoRead, value: true).whenSuccess { self.inbound.read() }
        connected.setOption(.autoRead, value: true).whenSuccess { connected.read() }
    }

    /// Stops reading on both sides (bytes wait in the kernel's buffers).
    func hold() {
        inbound.setOption(.autoRead, value: false).whenComplete { _ in }
        if case .connected(let channel) = outbound.withLock({ $0 }) {
            channel.setOption(.autoRead, value: false).whenComplete { _ in }
        }
    }

    /// Closes both sides, with an RST when `reset`.
    func close(reset: Bool) {
        let other = outbound.withLock { state -> (any Channel)? in
            defer { state = .closed }
            if case .connected(let channel) = state { return channel }
            return nil
        }
        for channel in [inbound] + (other.map { [$0] } ?? []) {
            if reset, let provider = channel as? any SocketOptionProvider {
                provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in channel.close(promise: nil) }
            } else {
                channel.close(promise: nil)
            }
        }
    }

    private func connect(targetHost: String, targetPort: Int) {
        let toTarget = RelayHandler(delay: delay, counter: { [weak self] in self?.toTarget.add($0, ordering: .relaxed) })
        let toClient = RelayHandler(delay: delay, counter: { [weak self] in self?.toClient.add($0, ordering: .relaxed) })
        let inbound = inbound
        let eventLoop = inbound.eventLoop
        ClientBootstrap(group: eventLoop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(toClient) }
            }
            .connect(host: targetHost, port: targetPort)
            .whenComplete { result in
                switch result {
                case .failure:
                    self.outbound.withLock { $0 = .closed }
                    inbound.close(promise: nil)
                case .success(let channel):
                    let stillWanted = self.outbound.withLock { state -> Bool in
                        guard case .connecting = state else { return false }
                        state = .connected(channel)
                        return true
                    }
                    // A client gone meanwhile has marked the link closed (see `accepted`).
                    guard stillWanted else {
                        channel.close(promise: nil)
                        inbound.close(promise: nil)
                        return
                    }
                    eventLoop.execute {
                        do {
                            try inbound.pipeline.syncOperations.addHandler(toTarget)
                            toTarget.partner = toClient
                            toClient.partner = toTarget
                            inbound.setOption(.autoRead, value: true).whenSuccess { inbound.read() }
                            // The target's side asked to read before it had a partner; ask again.
                            channel.read()
                        } catch {
                            channel.close(promise: nil)
                            inbound.close(promise: nil)
                        }
                    }
                }
            }
    }
}

/// Forwards what its channel reads to its partner's channel, after the link's delay, in order;
/// reads stop while the partner cannot take more (TCP backpressure), as in NIO's proxy example.
/// Event-loop confined: both handlers of a link are on one loop and touched only from it.
private final class RelayHandler: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    var partner: RelayHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    private var lastDue = NIODeadline.uptimeNanoseconds(0)
    private let delay: @Sendable () -> Duration
    /// Counts the bytes this side read (and forwards).
    private let counter: @Sendable (Int) -> Void

    init(delay: @escaping @Sendable () -> Duration, counter: @escaping @Sendable (Int) -> Void) {
        self.delay = delay
        self.counter = counter
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        counter(bytes.readableBytes)
        let wait = delay()
        let now = NIODeadline.now()
        guard wait > .zero || lastDue > now else {
            partner?.partnerWrite(bytes)
            return
        }
        let due = max(now + .nanoseconds(Int64(wait / .nanoseconds(1))), lastDue)
        lastDue = due
        context.eventLoop.scheduleTask(deadline: due) { [weak self] in self?.partner?.partnerWrite(bytes) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let partner = partner
        // Pending delayed chunks go first, then the close.
        if lastDue > .now() {
            context.eventLoop.scheduleTask(deadline: lastDue) { partner?.partnerClose() }
        } else {
            partner?.partnerClose()
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.partnerBecameWritable() }
    }

    func read(context: ChannelHandlerContext) {
        if partner?.partnerWritable ?? false {
            context.read()
        } else {
            pendingRead = true
        }
    }

    // MARK: Called by the partner

    private var partnerWritable: Bool { context?.channel.isWritable ?? false }

    private func partnerWrite(_ bytes: ByteBuffer) {
        context?.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
    }

    private func partnerClose() {
        context?.close(promise: nil)
    }

    private func partnerBecameWritable() {
        guard pendingRead, let context else { return }
        pendingRead = false
        context.read()
    }
}
