import NIOCore
import NIOPosix
import Synchronization
import SystemHarness
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The chaos run's TCP proxy against a real echo server over loopback sockets.
@Suite("Fault proxy")
struct FaultProxyTests {
    @Test func withoutAFaultBytesGoThroughBothWays() async throws {
        try await withEchoProxy { proxy in
            let client = try await TestClient.connect(port: proxy.port)
            client.send("hello\n")
            try await client.waitFor("hello\n")
            await client.close()
        }
    }

    @Test func latencyDelaysEachDirection() async throws {
        try await withEchoProxy { proxy in
            let client = try await TestClient.connect(port: proxy.port)
            client.send("warm\n")
            try await client.waitFor("warm\n")
            proxy.set(.latency(.milliseconds(200)))
            let sent = ContinuousClock.now
            client.send("slow\n")
            try await client.waitFor("warm\nslow\n")
            #expect(ContinuousClock.now - sent >= .milliseconds(380))
            await client.close()
        }
    }

    @Test func dropClosesOpenConnectionsAndRefusesNewOnesUntilHealed() async throws {
        try await withEchoProxy { proxy in
            let open = try await TestClient.connect(port: proxy.port)
            open.send("a\n")
            try await open.waitFor("a\n")

            proxy.set(.drop)
            try await open.waitUntilClosed()
            #expect(open.error == nil)
            let refused = try await TestClient.connect(port: proxy.port)
            try await refused.waitUntilClosed()

            proxy.heal()
            let later = try await TestClient.connect(port: proxy.port)
            later.send("b\n")
            try await later.waitFor("b\n")
            await later.close()
        }
    }

    @Test func resetBreaksOpenConnectionsWithAnRST() async throws {
        try await withEchoProxy { proxy in
            let open = try await TestClient.connect(port: proxy.port)
            open.send("a\n")
            try await open.waitFor("a\n")

            proxy.set(.reset)
            try await open.waitUntilClosed()
            let error = try #require(open.error as? IOError)
            #expect(error.errnoCode == ECONNRESET)
            proxy.heal()
        }
    }

    @Test func stallHoldsTheBytesUntilHealed() async throws {
        try await withEchoProxy { proxy in
            let open = try await TestClient.connect(port: proxy.port)
            open.send("a\n")
            try await open.waitFor("a\n")

            proxy.set(.stall)
            open.send("held\n")
            let fresh = try await TestClient.connect(port: proxy.port)
            fresh.send("new\n")
            try await Task.sleep(for: .milliseconds(400))
            #expect(open.text == "a\n")
            #expect(fresh.text == "")
            #expect(!open.closed && !fresh.closed)

            proxy.heal()
            try await open.waitFor("a\nheld\n")
            try await fresh.waitFor("new\n")
            await open.close()
            await fresh.close()
        }
    }

    @Test func theTargetClosingClosesTheClient() async throws {
        let server = try await EchoServer.start()
        let proxy = try await FaultProxy(targetPort: server.port)
        let client = try await TestClient.connect(port: proxy.port)
        client.send("a\n")
        try await client.waitFor("a\n")
        try await server.close()
        try await client.waitUntilClosed()
        await proxy.close()
    }

    // MARK: Helpers

    func withEchoProxy(_ body: (FaultProxy) async throws -> Void) async throws {
        let server = try await EchoServer.start()
        let proxy = try await FaultProxy(targetPort: server.port)
        do {
            try await body(proxy)
        } catch {
            await proxy.close()
            try? await server.close()
            throw error
        }
        await proxy.close()
        try? await server.close()
    }
}

/// Echoes every byte back; closes with its clients when closed.
struct EchoServer {
    let channel: any Channel
    let children: ChildChannels
    var port: Int { channel.localAddress?.port ?? 0 }

    final class ChildChannels: Sendable {
        let channels = Mutex<[any Channel]>([])
    }

    static func start() async throws -> EchoServer {
        let children = ChildChannels()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                children.channels.withLock { $0.append(child) }
                return child.eventLoop.makeCompletedFuture { try child.pipeline.syncOperations.addHandler(Echo()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return EchoServer(channel: channel, children: children)
    }

    func close() async throws {
        try await channel.close()
        for child in children.channels.withLock({ $0 }) { try? await child.close() }
    }

    private final class Echo: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.writeAndFlush(data, promise: nil)
        }
    }
}

/// A client connection that collects what it receives and how it ended.
final class TestClient: Sendable {
    private let channel: any Channel
    private let state: Collector

    private init(channel: any Channel, state: Collector) {
        self.channel = channel
        self.state = state
    }

    static func connect(port: Int) async throws -> TestClient {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return TestClient(channel: channel, state: collector)
    }

    var text: String { state.value.withLock { String(decoding: $0.bytes, as: UTF8.self) } }
    var closed: Bool { state.value.withLock { $0.closed } }
    var error: (any Error)? { state.value.withLock { $0.error } }

    func send(_ text: String) {
        channel.writeAndFlush(ByteBuffer(string: text), promise: nil)
    }

    func waitFor(_ expected: String, timeout: Duration = .seconds(5)) async throws {
        try await poll("\"\(expected)\" arrives (have \"\(text)\")", timeout: timeout) { text == expected }
    }

    func waitUntilClosed(timeout: Duration = .seconds(5)) async throws {
        try await poll("the connection closes", timeout: timeout) { closed }
    }

    func close() async {
        try? await channel.close()
    }

    private func poll(_ what: @autoclosure () -> String, timeout: Duration, _ done: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !done() {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting until \(what())")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        struct State {
            var bytes: [UInt8] = []
            var closed = false
            var error: (any Error)?
        }
        let value = Mutex(State())

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            value.withLock { $0.bytes += Array(buffer.readableBytesView) }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            value.withLock { if $0.error == nil { $0.error = error } }
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            value.withLock { $0.closed = true }
        }
    }
}
