import JSONCoding
import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Runs calls against the method table (plus the built-ins) and turns every outcome, including
/// thrown errors, into a response. The one place where errors become RPC errors.
struct RPCDispatcher: Sendable {
    let configuration: RPCServerConfiguration
    let methods: RPCMethodTable

    init(configuration: RPCServerConfiguration, methods: RPCMethodTable, health: @escaping @Sendable () async -> SysHealth.Result) {
        self.configuration = configuration
        var table = methods
        let serviceName = configuration.serviceName
        table.register(SysPing.self) { _, _ in
            SysPing.Result(time: Int64(Date().timeIntervalSince1970 * 1000))
        }
        table.register(SysHealth.self) { _, _ in await health() }
        let catalogWithoutDescribe = table.catalog
        table.register(SysDescribe.self) { _, _ in
            let describe = SysDescribe.MethodInfo(name: SysDescribe.name, idempotent: true, summary: SysDescribe.summary)
            let hello = SysDescribe.MethodInfo(name: SysHello.name, idempotent: true, summary: SysHello.summary)
            return SysDescribe.Result(
                service: serviceName,
                methods: (catalogWithoutDescribe + [describe, hello]).sorted { $0.name < $1.name }
            )
        }
        self.methods = table
    }

    /// Checks a `sys.hello`. Returns the caller's service name, or the error to answer before
    /// closing the connection.
    func hello(_ request: RPCRequest) -> Result<(caller: String, result: SysHello.Result), RPCError> {
        guard request.method == SysHello.name else {
            return .failure(.unauthenticated("the first request on this port must be sys.hello with the service credential"))
        }
        let params: SysHello.Params
        do {
            params = try RPCParams.decode(SysHello.Params.self, from: request.params)
        } catch {
            return .failure(.unauthenticated("sys.hello needs params {service, credential}: \(error.message)"))
        }
        if let expected = configuration.credential, !constantTimeEquals(Array(params.credential.utf8), Array(expected.utf8)) {
            return .failure(.unauthenticated("sys.hello from \(params.service): wrong service credential; check ONESTOP_SERVICE_SECRET on both sides"))
        }
        return .success((params.service, SysHello.Result(service: configuration.serviceName, protocolVersion: rpcProtocolVersion)))
    }

    /// Runs one call; nil for a notification.
    func run(_ request: RPCRequest, meta: RPCMeta, caller: String?, logger: Logger) async -> RPCResponse? {
        let outcome = await outcome(of: request, meta: meta, caller: caller, logger: logger)
        guard let id = request.id else { return nil }
        return RPCResponse(id: id, outcome: outcome)
    }

    private func outcome(of request: RPCRequest, meta: RPCMeta, caller: String?, logger: Logger) async -> Result<JSON, RPCError> {
        if request.method == SysHello.name {
            return hello(request).map { (try? JSONValueEncoder().encode($0.result)) ?? .null }
        }
        guard let entry = methods.entry(for: request.method) else {
            return .failure(.methodNotFound(request.method))
        }
        var logger = logger
        if let traceparent = meta.traceparent { logger[metadataKey: "trace.parent"] = .string(traceparent) }
        let context = RPCContext(method: request.method, meta: meta, caller: caller, logger: logger)
        let started = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - started
            entry.duration.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        }
        do {
            return .success(try await entry.handler(request.params, context))
        } catch {
            entry.failures.increment()
            return .failure(Self.rpcError(for: error, method: request.method, logger: logger))
        }
    }

    static func rpcError(for error: any Error, method: String, logger: Logger) -> RPCError {
        switch error {
        case let error as RPCError:
            return error
        case let error as any RPCErrorConvertible:
            return error.rpcError
        case is CancellationError:
            return .deadlineExceeded("\(method) was cancelled before it finished")
        default:
            logger.error("handler failed", metadata: ["rpc.method": .string(method), "error.type": .string(String(reflecting: type(of: error))), "error": .string(String(describing: error))])
            return .internal("\(method) failed inside the service; the error is logged there")
        }
    }
}

/// Compares secrets without leaking their common prefix length through timing.
func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
    var difference = UInt8(truncatingIfNeeded: lhs.count ^ rhs.count)
    for index in 0..<max(lhs.count, rhs.count) {
        let left = index < lhs.count ? lhs[index] : 0
        let right = index < rhs.count ? rhs[index] : 0
        difference |= left ^ right
    }
    return difference == 0
}
