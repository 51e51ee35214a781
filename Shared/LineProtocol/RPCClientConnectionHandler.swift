import JSONCoding
import NIOCore

/// Why a call failed, as the client's retry logic needs to know it.
enum RPCCallFailure: Error {
    /// The request never left this process: always safe to try elsewhere.
    case notSent(RPCError)
    /// The server may have seen it.
    case sent(RPCError)

    var error: RPCError {
        switch self {
        case .notSent(let error), .sent(let error): error
        }
    }
}

/// One client connection: writes requests (coalesced per event loop tick), frames answers and
/// completes the matching promise. Lives on its channel's event loop.
final class RPCClientConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        let promise: EventLoopPromise<JSON>
        let deadline: NIODeadline
    }

    private let peerDescription: String
    private let silenceLimit: TimeAmount
    /// Since when calls have waited with nothing at all read from the peer; nil when nothing
    /// waits or the peer has spoken since the last call went out.
    private var unansweredSince: NIODeadline?
    private var framer: LineFramer
    private var context: ChannelHandlerContext?
    private var outbound = ByteBuffer()
    private var flushScheduled = false
    private var pending: [Int64: Pending] = [:]
    private var closed = false
    private var deadlineSweep = DeadlineSweep()

    init(peerDescription: String, maxLineLength: Int, silenceLimit: Duration) {
        self.peerDescription = peerDescription
        self.silenceLimit = TimeAmount(silenceLimit)
        self.framer = LineFramer(maxLineLength: maxLineLength)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        outbound = context.channel.allocator.buffer(capacity: 4096)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Sends one request line; `promise` completes with the result, or fails with an
    /// `RPCCallFailure`.
    func send(id: Int64, request: ByteBuffer, deadline: NIODeadline, promise: EventLoopPromise<JSON>) {
        guard !closed, let context else {
            promise.fail(RPCCallFailure.notSent(.unavailable("connection to \(peerDescription) is closed")))
            return
        }
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        pending[id] = Pending(promise: promise, deadline: deadline)
        if unansweredSince == nil { unansweredSince = .now() }
        deadlineSweep.arm(for: deadline, on: context.eventLoop) { handler.value.sweepDeadlines() }
        var request = request
        outbound.writeBuffer(&request)
        if !flushScheduled {
            flushScheduled = true
            context.eventLoop.execute { handler.value.flush() }
        }
    }

    private func flush() {
        flushScheduled = false
        guard let context, outbound.readableBytes > 0 else { return }
        context.writeAndFlush(wrapOutboundOut(outbound), promise: nil)
        outbound = context.channel.allocator.buffer(capacity: 4096)
    }

    /// Fails every call past its deadline; re-arms for the rest.
    ///
    /// A connection on which calls have gone unanswered, with not one byte from the peer, for
    /// `silenceLimit` is closed here: a peer that was frozen, or a link that went dark without a
    /// FIN or RST, otherwise keeps its connection looking ready, and every later call sent on it
    /// waits out its whole deadline. Closed, the pool connects afresh (and backs off while the
    /// peer stays unreachable), and the calls still waiting fail as not answered.
    private func sweepDeadlines() {
        deadlineSweep.fired()
        let now = NIODeadline.now()
        if let since = unansweredSince, now - since >= silenceLimit, let context {
            fail(everything: .unavailable("\(peerDescription) answered nothing for \(silenceLimit.nanoseconds / 1_000_000) ms; the connection was dropped and the call may or may not have taken effect"))
            closed = true
            context.close(promise: nil)
            return
        }
        var earliest: NIODeadline?
        for (id, call) in pending {
            if call.deadline <= now {
                pending.removeValue(forKey: id)
                call.promise.fail(RPCCallFailure.sent(.deadlineExceeded("no answer from \(peerDescription) before the deadline")))
            } else {
                earliest = min(earliest ?? call.deadline, call.deadline)
            }
        }
        if let earliest, let context {
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            deadlineSweep.arm(for: earliest, on: context.eventLoop) { handler.value.sweepDeadlines() }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        unansweredSince = nil
        framer.append(unwrapInboundIn(data))
        while let frame = framer.next() {
            guard case .line(let line) = frame else {
                fail(everything: .internal("\(peerDescription) sent an answer over the line limit"))
                context.close(promise: nil)
                return
            }
            let responses: [RPCResponse]
            do {
                responses = try RPCCodec.decodeResponses(line)
            } catch {
                fail(everything: .internal("\(peerDescription) sent an unreadable answer: \(error.message)"))
                context.close(promise: nil)
                return
            }
            for response in responses {
                complete(response)
            }
        }
        if !pending.isEmpty { unansweredSince = .now() }
    }

    private func complete(_ response: RPCResponse) {
        guard case .integer(let id) = response.id, let call = pending.removeValue(forKey: id) else {
            // An answer with id null is the server refusing the connection (over its limit,
            // hello refused): it concerns every call.
            if response.id == .null, case .failure(let error) = response.outcome {
                fail(everything: error)
            }
            return
        }
        switch response.outcome {
        case .success(let result): call.promise.succeed(result)
        case .failure(let error): call.promise.fail(RPCCallFailure.sent(error))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        fail(everything: .unavailable("connection to \(peerDescription) closed before the answer; the call may or may not have taken effect"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func fail(everything error: RPCError) {
        let calls = pending
        pending.removeAll()
        unansweredSince = nil
        deadlineSweep.cancel()
        for call in calls.values {
            call.promise.fail(RPCCallFailure.sent(error))
        }
    }
}
