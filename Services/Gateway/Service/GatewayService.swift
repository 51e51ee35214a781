import Contracts
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import ServiceKit
import ServiceLifecycle

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The gateway: the public HTTP API in front of the five services, with its own database of
/// staff users, sessions, API tokens, guessing counters and the access audit.
public enum GatewayService {
    public static var definition: ServiceDefinition {
        definition(environment: ProcessInfo.processInfo.environment)
    }

    /// `onHTTPReady` is told the address of the HTTP listener once it listens (tests use port 0).
    public static func definition(
        environment: [String: String],
        onHTTPReady: @escaping @Sendable (SocketAddress) async -> Void = { _ in }
    ) -> ServiceDefinition {
        ServiceDefinition(
            service: .gateway,
            migrationsDirectory: Bundle.module.url(forResource: "Migrations", withExtension: nil),
            backgroundServices: { context in
                // A setting that cannot work stops the gateway at start (it used to log and run on
                // without its HTTP listener, a door that looked open and answered nothing).
                let settings = try GatewaySettings(environment: environment)
                return [GatewayHTTPServer(gateway: Gateway(context: context, settings: settings), onReady: onHTTPReady)]
            }
        )
    }

    /// Every route of the public API (also the source of the OpenAPI document).
    static var routes: [RouteSpec] {
        CustomerRoutes.routes + CaseRoutes.routes + TimelineRoutes.routes + ProcessingRoutes.routes + ComplaintRoutes.routes
            + AdministrationRoutes.routes + KPIRoutes.routes + IdentityRoutes.routes + Open311Routes.routes
    }

    /// Every service method the public API calls, for tests that stand in for the services.
    public static var calledMethods: [(service: OneStopService, method: String)] {
        routes.compactMap(\.forwardsTo) + [
            (.intake, IntakeRegisterCase.name), (.intake, IntakeTrackCase.name),
            (.complaints, ComplaintsRate.name), (.complaints, ComplaintsFile.name),
            (.intake, IntakeGetCase.name), (.review, ReviewGetTask.name), (.routing, RoutingGetAssignment.name), (.complaints, ComplaintsList.name),
            (.intake, IntakeStats.name), (.review, ReviewStats.name), (.routing, RoutingStats.name), (.complaints, ComplaintsStats.name),
            (.intake, IntakeListCatalog.name), (.intake, IntakeFindCases.name),
        ]
    }

    /// Each route as "METHOD /path" with its action, for tests walking the permission matrix.
    public static var routeTable: [(method: String, path: String, action: String, takesBody: Bool)] {
        routes.map { ($0.method.rawValue, $0.path, $0.action.rawValue, $0.body != .none) }
    }

    /// The OpenAPI document as served at `/openapi.json`.
    public static var openAPIDocument: String { OpenAPIDocument.make(routes: routes).jsonString }
}

/// The public HTTP listener (Hummingbird).
struct GatewayHTTPServer: Service {
    let gateway: Gateway
    let onReady: @Sendable (SocketAddress) async -> Void

    func run() async throws {
        if try await gateway.identities.bootstrapAdministrator() {
            gateway.logger.notice("created the first administrator from ONESTOP_GATEWAY_BOOTSTRAP_ADMIN")
        }
        let routes = GatewayService.routes
        let document = OpenAPIDocument.make(routes: routes).jsonString
        let router = Router(context: GatewayRequestContext.self)
        router.add(middleware: ProblemMiddleware(logger: gateway.logger))
        router.add(middleware: AuthenticationMiddleware(identities: gateway.identities, logger: gateway.logger))
        router.add(middleware: RateLimitMiddleware(limiter: RateLimiter(perSecond: gateway.settings.rateLimitPerSecond, burst: gateway.settings.rateLimitBurst)))
        router.get("/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: document)))
        }
        let gateway = gateway
        for route in routes {
            router.on(RouterPath(route.path), method: route.method) { request, context in
                try await route.handler(request, context, gateway)
            }
        }
        let settings = gateway.settings
        let onReady = onReady
        let logger = gateway.logger
        let connections = ConnectionCount(limit: settings.maxConnections)
        let readTimeout = TimeAmount.nanoseconds(Int64(settings.readTimeout.components.seconds) * 1_000_000_000 + Int64(settings.readTimeout.components.attoseconds / 1_000_000_000))
        let http1 = HTTPServerBuilder.http1(configuration: .init(
            additionalChannelHandlers: [ConnectionGuard(count: connections, readTimeout: readTimeout, logger: logger)],
            idleTimeout: readTimeout
        ))
        let application = Application(
            router: router,
            server: try settings.tls.map { try .tls(http1, tlsConfiguration: $0.tlsConfiguration) } ?? http1,
            configuration: ApplicationConfiguration(
                address: .hostname(settings.httpHost, port: settings.httpPort),
                serverName: "onestop-gateway"
            ),
            onServerRunning: { channel in
                if let address = channel.localAddress {
                    logger.info("gateway HTTP listening", metadata: [
                        "http.address": .string("\(address)"), "http.tls": .string(settings.tls == nil ? "off" : "on"),
                    ])
                    await onReady(address)
                }
            },
            logger: logger
        )
        try await application.run()
    }
}
