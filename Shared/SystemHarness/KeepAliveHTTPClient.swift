import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// HTTP/1.1 connections kept alive to one server, one request in flight on each, as a browser
/// or an integration's HTTP library uses them. A client of its own, so the benchmark figures
/// measure the gateway and not a general-purpose client's pooling; the chaos run uses it too,
/// with a timeout per request and a fresh connection where the server went away.
public final class KeepAliveHTTPClient: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var body: ByteBuffer
    }

    /// A request that got no answer within the client's timeout (its connection is closed).
    public struct Timeout: Error, CustomStringConvertible {
        public var description: String { "no answer within the timeout" }
    }

    private let port: Int
    private let timeout: Duration?
    private let group: any EventLoopGroup
    private let slots: [Slot]
    private let queue: SlotQueue

    /// Opens `connections` connections to `127.0.0.1:port`. With a `timeout`, a request not
    /// answered in time fails with `Timeout`; a connection that failed is opened again on its next use.
    public init(port: Int, connections count: Int, timeout: Duration? = nil,
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws {
        self.port = port
        self.timeout = timeout
        self.group = group
        let slots = (0..<count).map { _ in Slot() }
        self.slots = slots
        queue = SlotQueue(slots)
        for slot in slots {
            let connection = try await Self.connect(port: port, group: group)
            slot.connection.withLock { $0 = connection }
        }
    }

    /// Sends one request on the next free connection (waiting for one if all are busy).
    public func send(_ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: ByteBuffer? = nil) async throws -> Response {
        let slot = await queue.take()
        let outcome: Result<Response, any Error>
        do {
            outcome = .success(try await send(on: slot, method, path, headers: headers, body: body))
        } catch {
            outcome = .failure(error)
            if let broken = slot.connection.withLock({ connection in defer { connection = nil }; return connection }) {
                broken.channel.close(promise: nil)
            }
        }
        await queue.give(slot)
        return try outcome.get()
    }

    public func close() async {
        for slot in slots {
            if let connection = slot.connection.withLock({ $0 }) { try? await connection.channel.close() }
        }
    }

    private func send(on slot: Slot, _ method: HTTPMethod, _ path: String, headers: [(String, String)], body: ByteBuffer?) async throws -> Response {
        let existing = slot.connection.withLock { $0 }
        let connection: Connection
        if let existing, existing.channel.isActive {
            connection = existing
        } else {
            existing?.channel.close(promise: nil)
            connection = try await Self.connect(port: port, group: group)
            slot.connection.withLock { $0 = connection }
        }
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: "127.0.0.1")
        head.headers.add(name: "Connection", value: "keep-alive")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        if let body {
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        }
        let request = head
        let channel = connection.channel
        let handler = connection.handler
        let promise = channel.eventLoop.makePromise(of: Response.self)
        let timeout = timeout
        channel.eventLoop.execute {
            handler.expect(promise)
            channel.write(HTTPClientRequestPart.head(request), promise: nil)
            if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            if let timeout {
                let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout / .nanoseconds(1)))) {
                    promise.fail(Timeout())
                    channel.close(promise: nil)
                }
                promise.futureResult.whenComplete { _ in timer.cancel() }
            }
        }
        return try await promise.futureResult.get()
    }

    private static func connect(port: Int, group: any EventLoopGroup) async throws -> Connection {
        let handler = ResponseHandler()
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return Connection(channel: channel, handler: handler)
    }

    private struct Connection: Sendable {
        let channel: any Channel
        let handler: ResponseHandler
    }

    /// One connection's place: the connection itself, or nil until it is (re)opened.
    private final class Slot: Sendable {
        let connection = Mutex<Connection?>(nil)
    }

    /// Free slots and the callers waiting for one, first come first served.
    private actor SlotQueue {
        private var free: [Slot]
        private var waiting: [CheckedContinuation<Slot, Never>] = []

        init(_ slots: [Slot]) { free = slots }

        func take() async -> Slot {
            if let slot = free.popLast() { return slot }
            return await withCheckedContinuation { waiting.append($0) }
        }

        func give(_ slot: Slot) {
            if waiting.isEmpty { free.append(slot) } else { waiting.removeFirst().resume(returning: slot) }
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
