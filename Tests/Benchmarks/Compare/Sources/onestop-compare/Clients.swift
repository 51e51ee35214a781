import GRPCCore
import GRPCNIOTransportHTTP2Posix
import LineProtocol
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// What is compared.
enum ProtocolKind: String, Codable, Sendable, CaseIterable {
    case lineProtocol = "onestop"
    case grpc
    case http = "hummingbird"

    var title: String {
        switch self {
        case .lineProtocol: "OneStop NDJSON JSON-RPC"
        case .grpc: "gRPC Swift 2 (HTTP/2, unary)"
        case .http: "Hummingbird 2 (HTTP/1.1 keep-alive)"
        }
    }

    /// HTTP/1.1 without pipelining carries one request at a time per connection, so a client
    /// keeps C × F requests in flight on C × F keep-alive connections (as a pool would).
    func transportConnections(connections: Int, inFlight: Int) -> Int {
        self == .http ? connections * inFlight : connections
    }
}

/// A connected client for one scenario: `echo` sends on the given logical connection.
protocol EchoClient: Sendable {
    func echo(_ payload: EchoPayload, connection: Int, worker: Int) async throws -> EchoPayload
    func shutdown() async
}

func makeClient(_ kind: ProtocolKind, port: Int, connections: Int, inFlight: Int, codec: Codec) async throws -> any EchoClient {
    switch kind {
    case .lineProtocol: try await LineProtocolEchoClient(port: port, connections: connections)
    case .grpc: try await GRPCEchoClient(port: port, connections: connections, codec: codec)
    case .http: try await HTTPEchoClient(port: port, connections: connections * inFlight, inFlight: inFlight, codec: codec)
    }
}

// MARK: Line protocol

/// One `RPCClient` per connection (one connection each), greeted with `sys.hello` and the
/// credential on connect, exactly as services call each other.
struct LineProtocolEchoClient: EchoClient {
    let clients: [RPCClient]

    init(port: Int, connections: Int) async throws {
        var logger = Logger(label: "compare.client")
        logger.logLevel = .error
        clients = (0..<connections).map { _ in
            RPCClient(
                configuration: RPCClientConfiguration(
                    serviceName: "bench",
                    targets: [RPCTarget(host: "127.0.0.1", port: port)],
                    callerName: "compare",
                    credential: EchoServers.credential,
                    connectionsPerTarget: 1
                ),
                logger: logger
            )
        }
        for client in clients { _ = try await client.call(SysPing.self, RPCEmpty()) }
    }

    func echo(_ payload: EchoPayload, connection: Int, worker: Int) async throws -> EchoPayload {
        try await clients[connection].call(BenchEcho.self, payload)
    }

    func shutdown() async {
        for client in clients { await client.shutdown() }
    }
}

// MARK: gRPC Swift 2

/// One `GRPCClient` per connection: with a single address, each keeps one HTTP/2 connection.
final class GRPCEchoClient: EchoClient {
    private let clients: [GRPCClient<HTTP2ClientTransport.Posix>]
    private let runners: [Task<Void, any Error>]
    private let serializer: JSONMessageSerializer
    private let deserializer: JSONMessageDeserializer

    init(port: Int, connections: Int, codec: Codec) async throws {
        var clients: [GRPCClient<HTTP2ClientTransport.Posix>] = []
        var runners: [Task<Void, any Error>] = []
        for _ in 0..<connections {
            let client = GRPCClient(
                transport: try .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
            )
            clients.append(client)
            runners.append(Task { try await client.runConnections() })
        }
        self.clients = clients
        self.runners = runners
        self.serializer = JSONMessageSerializer(codec: codec)
        self.deserializer = JSONMessageDeserializer(codec: codec)
        // Connect each before measuring, as the other clients do.
        for index in 0..<connections {
            _ = try await echo(.sample, connection: index, worker: 0)
        }
    }

    func echo(_ payload: EchoPayload, connection: Int, worker: Int) async throws -> EchoPayload {
        try await clients[connection].unary(
            request: ClientRequest(message: payload),
            descriptor: GRPCEchoService.method,
            serializer: serializer,
            deserializer: deserializer,
            options: .defaults
        ) { response in
            try response.message
        }
    }

    func shutdown() async {
        for client in clients { client.beginGracefulShutdown() }
        for runner in runners { _ = try? await runner.value }
    }
}

// MARK: HTTP/1.1

/// A minimal keep-alive HTTP/1.1 client on NIO: one request at a time per connection, no
/// pipelining. Worker `f` of logical connection `c` owns connection `c × inFlight + f`.
struct HTTPEchoClient: EchoClient {
    let connections: [HTTPConnection]
    let inFlight: Int
    let codec: Codec

    init(port: Int, connections count: Int, inFlight: Int, codec: Codec) async throws {
        var connections: [HTTPConnection] = []
        for _ in 0..<count {
            connections.append(try await HTTPConnection.connect(port: port))
        }
        self.connections = connections
        self.inFlight = inFlight
        self.codec = codec
    }

    func echo(_ payload: EchoPayload, connection: Int, worker: Int) async throws -> EchoPayload {
        let body = try codec.encode(payload)
        let answer = try await connections[connection * inFlight + worker].post(body)
        return try answer.withUnsafeReadableBytes { try codec.decode($0) }
    }

    func shutdown() async {
        for connection in connections { try? await connection.channel.close() }
    }
}

struct HTTPConnection: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<HTTPEchoHandler>

    static func connect(port: Int) async throws -> HTTPConnection {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(HTTPEchoHandler())
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        let handler = try await channel.eventLoop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.handler(type: HTTPEchoHandler.self), eventLoop: channel.eventLoop)
        }.get()
        return HTTPConnection(channel: channel, handler: handler)
    }

    func post(_ body: [UInt8]) async throws -> ByteBuffer {
        let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
        let handler = self.handler
        channel.eventLoop.execute { handler.value.send(body, promise: promise) }
        return try await promise.futureResult.get()
    }
}

final class HTTPEchoHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private var context: ChannelHandlerContext?
    private var pending: EventLoopPromise<ByteBuffer>?
    private var status: HTTPResponseStatus = .ok
    private var body = ByteBuffer()

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func send(_ payload: [UInt8], promise: EventLoopPromise<ByteBuffer>) {
        guard let context, pending == nil else {
            promise.fail(CompareError(context == nil ? "the HTTP connection is closed" : "a request is already in flight on this connection"))
            return
        }
        pending = promise
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "127.0.0.1")
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(payload.count))
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/echo", headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: payload)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = head.status
            body.clear()
        case .body(var part):
            body.writeBuffer(&part)
        case .end:
            guard let promise = pending else { return }
            pending = nil
            if status == .ok {
                promise.succeed(body)
            } else {
                promise.fail(CompareError("HTTP \(status.code) from the server"))
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        pending?.fail(CompareError("the HTTP connection closed"))
        pending = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        pending?.fail(error)
        pending = nil
        context.close(promise: nil)
    }
}
