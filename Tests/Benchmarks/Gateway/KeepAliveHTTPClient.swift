import NIOCore
import NIOHTTP1
import NIOPosix

/// HTTP/1.1 connections kept alive to one server, one request in flight on each, as a browser
/// or an integration's HTTP library uses them. A benchmark client of its own, so the figures
/// measure the gateway and not a general-purpose client's pooling.
final class KeepAliveHTTPClient: Sendable {
    struct Response: Sendable {
        var status: Int
        var body: ByteBuffer
    }

    private let connections: ConnectionQueue
    private let channels: [any Channel]

    /// Opens `connections` connections to `127.0.0.1:port`.
    init(port: Int, connections count: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws {
        var channels: [any Channel] = []
        var opened: [Connection] = []
        for _ in 0..<count {
            let handler = ResponseHandler()
            let channel = try await ClientBootstrap(group: group)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                }
                .connect(host: "127.0.0.1", port: port).get()
            channels.append(channel)
            opened.append(Connection(channel: channel, handler: handler))
        }
        self.channels = channels
        connections = ConnectionQueue(opened)
    }

    /// Sends one request on the next free connection (waiting for one if all are busy).
    func send(_ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: ByteBuffer? = nil) async throws -> Response {
        let connection = await connections.take()
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: "127.0.0.1")
        head.headers.add(name: "Connection", value: "keep-alive")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        if let body {
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        }
        let promise = connection.channel.eventLoop.makePromise(of: Response.self)
        connection.channel.eventLoop.execute {
            connection.handler.expect(promise)
            connection.channel.write(HTTPClientRequestPart.head(head), promise: nil)
            if let body { connection.channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
            connection.channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }
        let outcome: Result<Response, any Error>
        do { outcome = .success(try await promise.futureResult.get()) } catch { outcome = .failure(error) }
        await connections.give(connection)
        return try outcome.get()
    }

    func close() async {
        for channel in channels { try? await channel.close() }
    }

    private struct Connection: Sendable {
        let channel: any Channel
        let handler: ResponseHandler
    }

    /// Free connections and the callers waiting for one, first come first served.
    private actor ConnectionQueue {
        private var free: [Connection]
        private var waiting: [CheckedContinuation<Connection, Never>] = []

        init(_ connections: [Connection]) { free = connections }

        func take() async -> Connection {
            if let connection = free.popLast() { return connection }
            return await withCheckedContinuation { waiting.append($0) }
        }

        func give(_ connection: Connection) {
            if waiting.isEmpty { free.append(connection) } else { waiting.removeFirst().resume(returning: connection) }
        }
    }

    /// Collects one response at a time; its state lives on the channel's event loop.
    private final class ResponseHandler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart

        private var promise: EventLoopPromise<Response>?
        private var status = 0
        private var body = ByteBuffer()

        func expect(_ promise: EventLoopPromise<Response>) {
            self.promise = promise
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                status = Int(head.status.code)
                body.clear()
            case .body(var part):
                body.writeBuffer(&part)
            case .end:
                promise?.succeed(Response(status: status, body: body))
                promise = nil
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise?.fail(error)
            promise = nil
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise?.fail(ChannelError.ioOnClosedChannel)
            promise = nil
        }
    }
}
