import LineProtocol
import NIOCore
import NIOPosix
import Synchronization

/// A raw line client for tests: sends text as-is and reads answer lines, so tests see exactly
/// what a peer such as `nc` would.
public final class LineTestClient: Sendable {
    private let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    private let inbox = LineInbox()
    private let pumping = Mutex(false)

    private init(channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>) {
        self.channel = channel
    }

    public static func connect(host: String = "127.0.0.1", port: Int) async throws -> LineTestClient {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return LineTestClient(channel: channel)
    }

    /// Reads from the socket into the line stream until the server closes; run it in a child
    /// task for the life of the client (`withLineClient` does).
    func pump() async {
        pumping.withLock { $0 = true }
        var framer = LineFramer(maxLineLength: 64 << 20)
        do {
            try await channel.executeThenClose { inbound, _ in
                for try await buffer in inbound {
                    framer.append(buffer)
                    while case .line(let line)? = framer.next() {
                        await inbox.push(String(buffer: line))
                    }
                }
            }
        } catch {}
        await inbox.finish()
    }

    public func send(_ text: String) async throws {
        try await channel.channel.writeAndFlush(ByteBuffer(string: text))
    }

    public func send(bytes: [UInt8]) async throws {
        try await channel.channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    /// Half-closes the sending side (EOF for the server).
    public func finishSending() async throws {
        try await channel.channel.close(mode: .output)
    }

    /// The next line, or nil when the connection closed or `timeout` passed.
    public func readLine(timeout: Duration = .seconds(5)) async -> String? {
        await inbox.next(timeout: timeout)
    }

    /// Closes the connection. A client whose reading loop never ran still has to finish its
    /// async channel's writer, which `executeThenClose` does.
    public func close() async {
        if pumping.withLock({ $0 }) {
            try? await channel.channel.close()
        } else {
            try? await channel.executeThenClose { _, _ in }
        }
    }
}

/// Connects a raw line client, runs `body`, closes.
public func withLineClient<T: Sendable>(port: Int, _ body: (LineTestClient) async throws -> T) async throws -> T {
    let client = try await LineTestClient.connect(port: port)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.pump() }
        defer { group.cancelAll() }
        let result = try await body(client)
        await client.close()
        return result
    }
}

/// Lines received and not yet read; a read that times out leaves the stream usable.
private actor LineInbox {
    private var lines: [String] = []
    private var finished = false
    private var waiter: (id: Int, continuation: CheckedContinuation<String?, Never>)?
    private var nextWaiterID = 0

    func push(_ line: String) {
        if let waiter {
            self.waiter = nil
            waiter.continuation.resume(returning: line)
        } else {
            lines.append(line)
        }
    }

    func finish() {
        finished = true
        waiter?.continuation.resume(returning: nil)
        waiter = nil
    }

    func next(timeout: Duration) async -> String? {
        if !lines.isEmpty { return lines.removeFirst() }
        if finished { return nil }
        nextWaiterID += 1
        let id = nextWaiterID
        return await withCheckedContinuation { continuation in
            waiter = (id, continuation)
            Task {
                try? await Task.sleep(for: timeout)
                self.expire(id)
            }
        }
    }

    private func expire(_ id: Int) {
        guard let waiter, waiter.id == id else { return }
        self.waiter = nil
        waiter.continuation.resume(returning: nil)
    }
}
