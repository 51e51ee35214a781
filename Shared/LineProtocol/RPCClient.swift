import JSONCoding
import Logging
import NIOCore
import NIOPosix
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A client pool for one service: a few connections per replica, calls spread by least requests
/// in flight, pipelined on each connection, with a deadline on every call and reconnects with
/// backoff and jitter.
///
/// ```swift
/// let answer = try await client.call(SysPing.self, RPCEmpty())
/// ```
public final class RPCClient: Sendable {
    public let configuration: RPCClientConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let slots: [RPCClientSlot]
    private let nextID = Atomic<Int64>(1)
    private let nextSlot = Atomic<Int>(0)

    public init(configuration: RPCClientConfiguration, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger) {
        self.configuration = configuration
        self.group = eventLoopGroup
        self.logger = logger
        var slots: [RPCClientSlot] = []
        for round in 0..<configuration.connectionsPerTarget {
            for target in configuration.targets {
                slots.append(RPCClientSlot(target: target, index: round, configuration: configuration, group: eventLoopGroup, logger: logger))
            }
        }
        self.slots = slots
    }

    // MARK: Calls

    /// Calls a method defined in `Contracts` and decodes its result.
    public func call<M: RPCMethod>(
        _ method: M.Type,
        _ params: M.Params,
        meta: RPCMeta = RPCMeta(),
        timeout: Duration? = nil
    ) async throws -> M.Result {
        let encoded: JSON
        do {
            encoded = try JSONValueEncoder().encode(params)
        } catch {
            throw RPCError.invalidParams("params of \(M.name) could not be encoded: \(error)")
        }
        let result = try await call(method: M.name, params: encoded, meta: meta, timeout: timeout, idempotent: M.isIdempotent)
        do {
            return try JSONValueDecoder().decode(M.Result.self, from: result)
        } catch let error as DecodingError {
            throw RPCError.internal("the answer of \(M.name) from \(configuration.serviceName) does not match the contract: \(RPCParams.describe(error, root: "result"))")
        }
    }

    /// Calls a method by name with raw JSON params (an object, or nil). `_meta` is added to the
    /// params object; the deadline defaults to now + timeout.
    public func call(
        method: String,
        params: JSON?,
        meta: RPCMeta = RPCMeta(),
        timeout: Duration? = nil,
        idempotent: Bool = false
    ) async throws -> JSON {
        let timeout = timeout ?? configuration.defaultTimeout
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        var meta = meta
        if meta.deadline == nil {
            meta.deadline = Int64(Date().timeIntervalSince1970 * 1000) + Int64(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        }
        var paramsWithMeta = params
        if case .object(var object)? = params {
            object["_meta"] = meta.json
            paramsWithMeta = .object(object)
        } else if params == nil {
            paramsWithMeta = .object(["_meta": meta.json])
        }
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        var request = ByteBuffer()
        RPCCodec.write(RPCRequest(id: .integer(id), method: method, params: paramsWithMeta), into: &request)

        var attempt = 0
        while true {
            do {
                let connection = try await connection(before: deadline)
                return try await connection.send(id: id, request: request, deadline: deadline)
            } catch let failure as RPCCallFailure {
                attempt += 1
                let error = failure.error
                let mayRetry: Bool
                switch failure {
                case .notSent: mayRetry = true
                case .sent: mayRetry = idempotent && error.isRetryable && error.kind != .deadlineExceeded
                }
                guard mayRetry, attempt <= configuration.maxRetries, NIODeadline.now() < deadline else {
                    throw error
                }
                let pause = RetryBackoff.delay(attempt: attempt, initial: configuration.initialBackoff, maximum: configuration.maxBackoff)
                if NIODeadline.now() + TimeAmount(pause) >= deadline { throw error }
                try await Task.sleep(for: pause)
            }
        }
    }

    /// Closes every connection; later calls fail with `unavailable`.
    public func shutdown() async {
        for slot in slots {
            await slot.shutdown()
        }
    }

    // MARK: Connections

    /// A ready connection with the fewest calls in flight; connects idle slots as a side effect
    /// so the pool fills up, and waits for one to connect when none is ready.
    private func connection(before deadline: NIODeadline) async throws(RPCCallFailure) -> RPCClientSlot.Ready {
        var lastError: RPCError?
        while true {
            var best: RPCClientSlot.Ready?
            var connecting: EventLoopFuture<RPCClientSlot.Ready>?
            var earliestRetry: NIODeadline?
            let start = nextSlot.wrappingAdd(1, ordering: .relaxed).oldValue
            for offset in 0..<slots.count {
                let slot = slots[(start &+ offset) % slots.count]
                switch slot.poll() {
                case .ready(let ready):
                    if best == nil || ready.load < best!.load { best = ready }
                case .connecting(let future):
                    connecting = connecting ?? future
                case .backingOff(let until, let error):
                    lastError = error
                    earliestRetry = min(earliestRetry ?? until, until)
                case .shutDown:
                    throw .notSent(.unavailable("the client for \(configuration.serviceName) is shut down"))
                }
            }
            if let best { return best }
            if let connecting {
                do {
                    return try await connecting.get()
                } catch let failure as RPCCallFailure {
                    lastError = failure.error
                    continue
                } catch {
                    lastError = .unavailable("could not connect to \(configuration.serviceName): \(error)")
                    continue
                }
            }
            guard let earliestRetry, earliestRetry < deadline else {
                throw .notSent(lastError ?? .unavailable("no connection to \(configuration.serviceName) before the deadline"))
            }
            let wait = earliestRetry - NIODeadline.now()
            if wait > .zero {
                do { try await Task.sleep(nanoseconds: UInt64(wait.nanoseconds)) } catch {
                    throw .notSent(.unavailable("the call to \(configuration.serviceName) was cancelled"))
                }
            }
        }
    }
}
