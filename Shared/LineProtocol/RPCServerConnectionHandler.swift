import JSONCoding
import Logging
import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One server connection: frames lines, checks the hello, runs calls concurrently (each in its
/// own task), answers them as they finish and coalesces the answers into one write per event
/// loop tick. Lives on its channel's event loop; tasks come back to it with `execute`.
///
/// Backpressure: at most `maxInFlightPerConnection` calls run at once, and nothing new starts
/// while answers wait for a peer that does not read them (the channel is not writable); either
/// way buffered lines wait and the socket is not read, so TCP slows the peer down.
///
/// Idle: a connection that completes no line and is answered nothing for `idleTimeout` is
/// closed. Bytes alone do not count, so a peer dripping a line one byte at a time (slowloris)
/// is bounded by the same timeout as a silent one.
final class RPCServerConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Sent by `RPCServer.shutdown`: finish what runs, take nothing new, close.
    struct Drain {}

    private struct RunningCall {
        let task: Task<Void, Never>
        let deadline: NIODeadline
        let id: RPCID?
        let method: String
    }

    private let dispatcher: RPCDispatcher
    private let admitted: Bool
    private let maxInFlight: Int
    private let logger: Logger
    private var framer: LineFramer
    private var context: ChannelHandlerContext?
    /// Where this connection's calls run: its own event loop (see `EventLoopTaskExecutor`).
    private var callExecutor: EventLoopTaskExecutor?
    private var outbound = ByteBuffer()
    private var flushScheduled = false
    private var inFlight = 0
    private var readHeld = false
    private var draining = false
    private var inputClosed = false
    private var closing = false
    private var authenticated: Bool
    private var caller: String?
    private var nextCallNumber = 0
    /// Calls with a deadline, so the deadline can answer for them and cancel their task.
    private var callsWithDeadline: [Int: RunningCall] = [:]
    private var deadlineSweep = DeadlineSweep()
    private let idleTimeout: TimeAmount
    /// When a line was last completed or a call last finished.
    private var lastProgress = NIODeadline.now()
    private var idleCheck: Scheduled<Void>?

    init(dispatcher: RPCDispatcher, admitted: Bool, logger: Logger) {
        self.dispatcher = dispatcher
        self.admitted = admitted
        self.maxInFlight = dispatcher.configuration.maxInFlightPerConnection
        self.framer = LineFramer(maxLineLength: dispatcher.configuration.maxLineLength)
        self.authenticated = dispatcher.configuration.credential == nil
        self.idleTimeout = TimeAmount(dispatcher.configuration.idleTimeout)
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        callExecutor = EventLoopTaskExecutor(eventLoop: context.eventLoop)
        outbound = context.channel.allocator.buffer(capacity: 4096)
        lastProgress = .now()
        scheduleIdleCheck(at: lastProgress + idleTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleCheck?.cancel()
        idleCheck = nil
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        if !admitted {
            respond(RPCResponse(id: .null, outcome: .failure(.overloaded("the server is at its connection limit or shutting down; retry another replica or later"))))
            closeAfterFlush()
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closing = true
        idleCheck?.cancel()
        idleCheck = nil
        deadlineSweep.cancel()
        callsWithDeadline.removeAll()
        context.fireChannelInactive()
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        framer.append(unwrapInboundIn(data))
        processFrames()
    }

    func read(context: ChannelHandlerContext) {
        if inFlight >= maxInFlight || draining || closing || !context.channel.isWritable {
            readHeld = true
        } else {
            context.read()
        }
    }

    /// The peer caught up with its answers: take its next requests.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            resumeReading()
        }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case ChannelEvent.inputClosed:
            inputClosed = true
            processFrames()
            if !closing, !draining, inFlight < maxInFlight, let last = framer.finish() {
                handle(last)
            }
            closeIfIdleAndFinished()
        case is Drain:
            draining = true
            closeIfIdleAndFinished()
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error", metadata: ["error": .string(String(describing: error))])
        closing = true
        context.close(promise: nil)
    }

    private func processFrames() {
        while !closing, !draining, inFlight < maxInFlight, context?.channel.isWritable ?? false, let frame = framer.next() {
            handle(frame)
        }
    }

    // MARK: Idle connections

    private func scheduleIdleCheck(at deadline: NIODeadline) {
        guard let context else { return }
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        idleCheck = context.eventLoop.scheduleTask(deadline: deadline) { handler.value.checkIdle() }
    }

    /// Closes the connection when nothing was completed for `idleTimeout` and no call runs; a
    /// peer with calls running is busy, not idle.
    private func checkIdle() {
        idleCheck = nil
        guard !closing else { return }
        let due = lastProgress + idleTimeout
        if inFlight > 0 || !callsWithDeadline.isEmpty {
            scheduleIdleCheck(at: .now() + idleTimeout)
        } else if due > .now() {
            scheduleIdleCheck(at: due)
        } else {
            let partial = framer.pendingByteCount
            if partial > 0 || !authenticated {
                // A slow or silent sender holding a slot: worth a line in the log.
                logger.info(
                    "closing a connection that completed no line within the idle timeout",
                    metadata: ["rpc.partial.bytes": .stringConvertible(partial), "rpc.authenticated": .stringConvertible(authenticated)]
                )
            } else {
                logger.debug("closing idle connection")
            }
            closeAfterFlush()
        }
    }

    private func handle(_ frame: LineFramer.Frame) {
        lastProgress = .now()
        switch frame {
        case .oversized(let byteCount, let snippet):
            logger.warning(
                "dropped an over-long line",
                metadata: ["rpc.line.bytes": .stringConvertible(byteCount), "rpc.line.start": .string(String(decoding: snippet, as: UTF8.self))]
            )
            respond(RPCResponse(id: .null, outcome: .failure(.lineTooLong(byteCount: byteCount, limit: framer.maxLineLength))))
        case .line(let line):
            switch RPCCodec.decodeInbound(line) {
            case .single(.invalid(let response)):
                respond(response)
                if !authenticated { closeAfterFlush() }
            case .single(.request(let request)):
                if authenticated {
                    start(request)
                } else {
                    greet(request)
                }
            case .batch(let calls):
                if authenticated {
                    start(calls)
                } else {
                    respond(RPCResponse(id: .null, outcome: .failure(.unauthenticated("the first request on this port must be sys.hello (not a batch)"))))
                    closeAfterFlush()
                }
            }
        }
    }

    /// The first request of a connection on a listener with a credential.
    private func greet(_ request: RPCRequest) {
        switch dispatcher.hello(request) {
        case .success(let (caller, result)):
            authenticated = true
            self.caller = caller
            if let id = request.id {
                respond(RPCResponse(id: id, outcome: .success((try? JSONValueEncoder().encode(result)) ?? .null)))
            }
        case .failure(let error):
            logger.warning("refused a connection without a valid hello", metadata: ["rpc.method": .string(request.method)])
            respond(RPCResponse(id: request.id ?? .null, outcome: .failure(error)))
            closeAfterFlush()
        }
    }

    // MARK: Running calls

    private func start(_ request: RPCRequest) {
        let meta = request.params?["_meta"] == nil ? RPCMeta() : RPCMeta(params: request.params)
        var deadline: Int64?
        if let metaDeadline = meta.deadline {
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            guard metaDeadline > now else {
                if let id = request.id {
                    respond(RPCResponse(id: id, outcome: .failure(.deadlineExceeded("the caller's deadline for \(request.method) had passed when the request arrived"))))
                }
                return
            }
            deadline = metaDeadline - now
        }
        inFlight += 1
        nextCallNumber &+= 1
        let callNumber = nextCallNumber
        let eventLoop = context!.eventLoop
        let handler = NIOLoopBound(self, eventLoop: eventLoop)
        let dispatcher = self.dispatcher
        let caller = self.caller
        let logger = self.logger
        let task = Task(executorPreference: callExecutor) {
            let response = await dispatcher.run(request, meta: meta, caller: caller, logger: logger)
            if eventLoop.inEventLoop {
                handler.value.finish(callNumber, response, count: 1)
            } else {
                eventLoop.execute { handler.value.finish(callNumber, response, count: 1) }
            }
        }
        if let deadline {
            let due = NIODeadline.now() + .milliseconds(deadline)
            callsWithDeadline[callNumber] = RunningCall(task: task, deadline: due, id: request.id, method: request.method)
            deadlineSweep.arm(for: due, on: eventLoop) { handler.value.sweepDeadlines() }
        }
    }

    /// A batch runs as one unit; its answer is one array line (nothing for all-notifications).
    private func start(_ calls: [RPCInboundCall]) {
        var requests: [RPCRequest] = []
        var answers: [RPCResponse] = []
        for call in calls {
            switch call {
            case .request(let request): requests.append(request)
            case .invalid(let response): answers.append(response)
            }
        }
        inFlight += requests.count
        nextCallNumber &+= 1
        let callNumber = nextCallNumber
        let eventLoop = context!.eventLoop
        let handler = NIOLoopBound(self, eventLoop: eventLoop)
        let dispatcher = self.dispatcher
        let caller = self.caller
        let logger = self.logger
        let count = requests.count
        Task(executorPreference: callExecutor) {
            let responses = await withTaskGroup(of: RPCResponse?.self) { group in
                for request in requests {
                    group.addTask {
                        await dispatcher.run(request, meta: RPCMeta(params: request.params), caller: caller, logger: logger)
                    }
                }
                var collected = answers
                for await response in group {
                    if let response { collected.append(response) }
                }
                return collected
            }
            eventLoop.execute { handler.value.finishBatch(callNumber, responses, count: count) }
        }
    }

    private func finish(_ callNumber: Int, _ response: RPCResponse?, count: Int) {
        if expiredCalls.remove(callNumber) != nil {
            return  // its deadline already answered for it
        }
        callsWithDeadline.removeValue(forKey: callNumber)
        inFlight -= count
        lastProgress = .now()
        if let response { respond(response) }
        resumeReading()
    }

    private func finishBatch(_ callNumber: Int, _ responses: [RPCResponse], count: Int) {
        inFlight -= count
        lastProgress = .now()
        if !responses.isEmpty, !closing {
            RPCCodec.write(responses, into: &outbound)
            scheduleFlush()
        }
        resumeReading()
    }

    /// Calls whose deadline fired, so their late result is dropped.
    private var expiredCalls: Set<Int> = []

    /// Answers every call past its deadline and cancels its task; re-arms for the rest.
    private func sweepDeadlines() {
        deadlineSweep.fired()
        guard !closing, let eventLoop = context?.eventLoop else { return }
        let now = NIODeadline.now()
        var earliest: NIODeadline?
        for (callNumber, call) in callsWithDeadline {
            if call.deadline <= now {
                expire(callNumber, call)
            } else {
                earliest = min(earliest ?? call.deadline, call.deadline)
            }
        }
        if let earliest {
            let handler = NIOLoopBound(self, eventLoop: eventLoop)
            deadlineSweep.arm(for: earliest, on: eventLoop) { handler.value.sweepDeadlines() }
        }
        resumeReading()
    }

    private func expire(_ callNumber: Int, _ running: RunningCall) {
        callsWithDeadline.removeValue(forKey: callNumber)
        running.task.cancel()
        expiredCalls.insert(callNumber)
        inFlight -= 1
        if let id = running.id {
            respond(RPCResponse(id: id, outcome: .failure(.deadlineExceeded("\(running.method) did not finish before the caller's deadline"))))
        }
    }

    private func resumeReading() {
        guard !closing else { return }
        processFrames()
        if inputClosed || draining {
            closeIfIdleAndFinished()
        } else if readHeld, inFlight < maxInFlight, context?.channel.isWritable ?? false {
            readHeld = false
            context?.read()
        }
    }

    // MARK: Writing

    private func respond(_ response: RPCResponse) {
        guard !closing else { return }
        RPCCodec.write(response, into: &outbound)
        scheduleFlush()
    }

    private func scheduleFlush() {
        guard !flushScheduled, let context else { return }
        flushScheduled = true
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute { handler.value.flush() }
    }

    private func flush() {
        flushScheduled = false
        guard let context, outbound.readableBytes > 0 else { return }
        context.writeAndFlush(wrapOutboundOut(outbound), promise: nil)
        outbound = context.channel.allocator.buffer(capacity: 4096)
    }

    private func closeIfIdleAndFinished() {
        if inFlight == 0, callsWithDeadline.isEmpty {
            closeAfterFlush()
        }
    }

    private func closeAfterFlush() {
        guard !closing, let context else { return }
        closing = true
        flush()
        context.close(promise: nil)
    }
}
