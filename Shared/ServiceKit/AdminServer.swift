import Hummingbird
import Logging
import NIOCore
import Prometheus

/// The admin HTTP port of a service: `/healthz` (the process answers), `/readyz` (its database is
/// reachable and its migrations are applied), `/metrics` (Prometheus text).
enum AdminServer {
    static func make(
        configuration: ServiceConfiguration,
        readiness: @escaping @Sendable () async -> [String: String],
        registry: PrometheusCollectorRegistry,
        logger: Logger,
        onRunning: @escaping @Sendable (SocketAddress) async -> Void
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("healthz") { _, _ in
            "ok\n"
        }
        router.get("readyz") { _, _ -> Response in
            let problems = await readiness().filter { $0.value != "ok" }
            let body = problems.isEmpty
                ? "ready\n"
                : problems.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "\n") + "\n"
            return Response(
                status: problems.isEmpty ? .ok : .serviceUnavailable,
                headers: [.contentType: "text/plain; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: body))
            )
        }
        router.get("metrics") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
            )
        }
        return Application(
            router: router,
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.adminHost, port: configuration.adminPort),
                serverName: "onestop-\(configuration.service.rawValue)-admin"
            ),
            onServerRunning: { channel in
                if let address = channel.localAddress { await onRunning(address) }
            },
            logger: logger
        )
    }
}
