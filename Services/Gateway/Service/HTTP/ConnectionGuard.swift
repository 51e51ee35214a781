import Contracts
import HTTPTypes
import JSONCoding
import Logging
import NIOCore
import NIOHTTPTypes
import Synchronization

/// How many HTTP connections are open, shared by every connection's `ConnectionGuard`.
final class ConnectionCount: Sendable {
    let limit: Int
    private let open = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    var current: Int { open.load(ordering: .relaxed) }

    /// Counts a new connection in; false when it would pass the limit (it is then not counted).
    func admit() -> Bool {
        while true {
            let now = open.load(ordering: .relaxed)
            guard now < limit else { return false }
            if open.compareExchange(expected: now, desired: now + 1, ordering: .relaxed).exchanged { return true }
        }
    }

    func leave() { open.subtract(1, ordering: .relaxed) }
}

/// Per connection, after HTTP decoding: the connection limit and the read timeout.
///
/// - Over `ONESTOP_GATEWAY_MAX_CONNECTIONS` the connection's first request is answered
///   503 with a problem body and the connection closed, instead of the server silently not
///   accepting (which leaves clients hanging in the listen backlog).
/// - A request must arrive whole, head and body, within `ONESTOP_GATEWAY_READ_TIMEOUT_MS` of the
///   connection opening or of the previous answer. Hummingbird's idle timeout restarts with
///   every body chunk, so a client dripping a body (or headers) a byte at a time would
///   otherwise hold its connection for ever (slowloris).
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let count: ConnectionCount
    private let readTimeout: TimeAmount
    private let logger: Logger
    private var admitted = false
    private var counted = false
    private var timer: Scheduled<Void>?
    private var refused = false
    /// Requests read whole and not yet answered (HTTP/1.1 pipelining); the timer waits for 0.
    private var unanswered = 0

    init(count: ConnectionCount, readTimeout: TimeAmount, logger: Logger) {
        self.count = count
        self.readTimeout = readTimeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        admitted = count.admit()
        counted = admitted
        if !admitted {
            logger.warning("refusing an HTTP connection over the connection limit", metadata: [
                "http.connections.limit": .stringConvertible(count.limit),
                "http.peer": .string(context.channel.remoteAddress?.description ?? "?"),
            ])
        }
        startTimer(context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    private func release() {
        timer?.cancel()
        timer = nil
        if counted {
            counted = false
            count.leave()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        guard admitted else {
            if case .head(let head) = part, !refused {
                refuse(context: context, language: Language(acceptLanguage: head.headerFields[.acceptLanguage]))
            }
            return
        }
        if case .end = part {
            unanswered += 1
            timer?.cancel()
            timer = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), admitted {
            unanswered = max(0, unanswered - 1)
            if unanswered == 0 { startTimer(context: context) }
        }
        context.write(data, promise: promise)
    }

    private func startTimer(context: ChannelHandlerContext) {
        timer?.cancel()
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: readTimeout) {
            handler.value.timedOut(context: bound.value)
        }
    }

    private func timedOut(context: ChannelHandlerContext) {
        timer = nil
        logger.info("closing an HTTP connection that sent no complete request within the read timeout", metadata: [
            "http.read_timeout_ms": .stringConvertible(readTimeout.nanoseconds / 1_000_000),
            "http.peer": .string(context.channel.remoteAddress?.description ?? "?"),
        ])
        context.close(promise: nil)
    }

    /// Answers before any route runs, so in the problem shape the routes use, in the language
    /// the request asked for.
    private func refuse(context: ChannelHandlerContext, language: Language) {
        refused = true
        let detail = LocalizedText(
            zhCN: "网关连接数已达上限，请稍后重试",
            en: "the gateway is at its connection limit; retry in a moment"
        )
        let body = JSON.object([
            "type": "https://onestop.example/problems/overloaded",
            "title": .string(Problem.title("overloaded", language)),
            "status": 503,
            "kind": "overloaded",
            "detail": .string(detail.text(in: language)),
            "retryAfterSeconds": 1,
        ]).jsonString
        var head = HTTPResponse(status: .serviceUnavailable)
        head.headerFields[.contentType] = "application/problem+json"
        head.headerFields[.contentLanguage] = language.rawValue
        head.headerFields[.contentLength] = String(body.utf8.count)
        head.headerFields[.retryAfter] = "1"
        head.headerFields[.connection] = "close"
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(string: body))), promise: nil)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
    }
}
