import Logging
import NIOCore
import NIOSSL
import NIOTLS

/// Sits right after the NIOSSL handler and watches the handshake; passes everything through.
///
/// - Server side: logs a refused handshake (no client certificate, an untrusted one, a plaintext
///   peer) with the reason, at warning like a refused `sys.hello`.
/// - Client side: fails `handshakeDone` when the handshake fails, the connection closes first, or
///   it takes longer than the timeout (a plaintext listener never answers the client's hello);
///   records every TLS failure in the connection's `RPCTLSReport`.
final class RPCTLSHandshakeHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    enum Side {
        case server(Logger)
        case client(peer: String, timeout: TimeAmount, report: RPCTLSReport)
    }

    private enum Handshake { case pending, completed, failed }

    private let side: Side
    private var handshake = Handshake.pending
    private var timer: Scheduled<Void>?
    /// Client side: completes when the handshake is done. Made in `handlerAdded` and always
    /// settled by `handlerRemoved`, so it cannot leak.
    private var handshakeDone: EventLoopPromise<Void>?

    init(side: Side) {
        self.side = side
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if case .client(_, _, let report) = side {
            let promise = context.eventLoop.makePromise(of: Void.self)
            handshakeDone = promise
            report.handshake = promise.futureResult
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        if case .client(let peer, let timeout, _) = side {
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            timer = context.eventLoop.scheduleTask(in: timeout) {
                handler.value.fail("no TLS handshake with \(peer) within \(timeout.nanoseconds / 1_000_000) ms: does that listener use TLS?")
                bound.value.close(promise: nil)
            }
        }
        context.fireChannelActive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event, handshake == .pending {
            handshake = .completed
            timer?.cancel()
            handshakeDone?.succeed(())
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let reason = RPCTLS.explain(error)
        switch side {
        case .server(let logger):
            if handshake == .completed {
                logger.debug("TLS error", metadata: ["error": .string(reason)])
            } else if case NIOSSLError.uncleanShutdown? = error as? NIOSSLError {
                logger.debug("a peer left during the TLS handshake")
            } else {
                logger.warning("refused a TLS handshake", metadata: ["error": .string(reason)])
            }
        case .client(let peer, _, _):
            // After the handshake, only TLS's own errors (a refusal of this client's
            // certificate arrives then with TLS 1.3) explain what follows.
            if handshake == .pending || error is NIOSSLError || error is NIOSSLExtraError || error is BoringSSLError {
                fail("TLS with \(peer) failed: \(reason)")
            }
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .client(let peer, _, _) = side, handshake == .pending {
            fail("\(peer) closed the connection during the TLS handshake: does that listener use TLS, and trust this client's certificate?")
        }
        timer?.cancel()
        context.fireChannelInactive()
    }

    /// A channel that never connected is never inactive: settle the promise here too.
    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        if handshake == .pending {
            handshake = .failed
            handshakeDone?.fail(RPCError.unavailable("the connection closed before its TLS handshake"))
        }
    }

    private func fail(_ reason: String) {
        guard case .client(_, _, let report) = side else { return }
        report.record(reason)
        timer?.cancel()
        if handshake == .pending {
            handshake = .failed
            handshakeDone?.fail(RPCError.unavailable(report.reason ?? reason))
        }
    }
}
