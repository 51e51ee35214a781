import NIOCore
import NIOPosix
import Synchronization

/// A tiny HTTP/1.1 server standing in for an external system (e.g. a verification service):
/// every request is answered after `delay` with `status` and `body`. Keep-alive connections are
/// served request after request. Good enough for clients under test; not a general server.
public final class StubHTTPServer: Sendable {
    public struct Behaviour: Sendable {
        public var delay: Duration
        public var status: Int
        public var body: String
        public init(delay: Duration = .zero, status: Int = 200, body: String = "{}") {
            self.delay = delay
            self.status = status
            self.body = body
        }
    }

    private let behaviour: Mutex<Behaviour>
    private let requests = Atomic<Int>(0)
    private let channel: Mutex<(any Channel)?> = Mutex(nil)

    public init(_ behaviour: Behaviour = Behaviour()) {
        self.behaviour = Mutex(behaviour)
    }

    /// Requests received so far (answered or not).
    public var requestCount: Int { requests.load(ordering: .relaxed) }

    public func setBehaviour(_ new: Behaviour) { behaviour.withLock { $0 = new } }
    var currentBehaviour: Behaviour { behaviour.withLock { $0 } }
    func countRequest() { requests.wrappingAdd(1, ordering: .relaxed) }

    /// Starts listening on 127.0.0.1 (port 0 = any free port); returns the port.
    @discardableResult
    public func start(port: Int = 0) async throws -> Int {
        let bound = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(StubHTTPHandler(server: self))
                }
            }
            .bind(host: "127.0.0.1", port: port)
            .get()
        channel.withLock { $0 = bound }
        return bound.localAddress?.port ?? 0
    }

    /// Stops listening (open connections are closed too).
    public func stop() async {
        let open = channel.withLock { value -> (any Channel)? in
            defer { value = nil }
            return value
        }
        try? await open?.close()
    }
}

/// Reads requests (headers + Content-Length body) and answers each after the stub's delay.
private final class StubHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let server: StubHTTPServer
    private var buffer = ByteBuffer()
    private var busy = false

    init(server: StubHTTPServer) {
        self.server = server
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        answerNext(context: context)
    }

    private func answerNext(context: ChannelHandlerContext) {
        guard !busy else { return }
        let view = buffer.readableBytesView
        guard let end = view.firstRange(of: [13, 10, 13, 10]) else { return }
        let headerLength = end.upperBound - view.startIndex
        let header = String(decoding: view[view.startIndex..<end.lowerBound], as: UTF8.self).lowercased()
        var bodyLength = 0
        for line in header.split(separator: "\r\n") where line.hasPrefix("content-length:") {
            bodyLength = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        guard buffer.readableBytes >= headerLength + bodyLength else { return }
        buffer.moveReaderIndex(forwardBy: headerLength + bodyLength)
        buffer.discardReadBytes()
        server.countRequest()
        busy = true
        let behaviour = server.currentBehaviour
        let respond = { [self] in
            let body = Array(behaviour.body.utf8)
            var out = context.channel.allocator.buffer(capacity: body.count + 128)
            out.writeString("HTTP/1.1 \(behaviour.status) \(behaviour.status == 200 ? "OK" : "Status")\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n")
            out.writeBytes(body)
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
            busy = false
            answerNext(context: context)
        }
        if behaviour.delay == .zero {
            respond()
        } else {
            let nanos = behaviour.delay.components.seconds * 1_000_000_000 + behaviour.delay.components.attoseconds / 1_000_000_000
            context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(nanos)) { respond() }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
