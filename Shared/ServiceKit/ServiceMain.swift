import Contracts
import Logging
import Metrics
import Prometheus

#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The whole `main` of a service executable: read the configuration (failing fast with every
/// problem listed), bootstrap logging and metrics once, run until SIGTERM/SIGINT.
public enum ServiceMain {
    public static func run(_ definition: ServiceDefinition) async {
        let configuration: ServiceConfiguration
        do {
            configuration = try ServiceConfiguration(service: definition.service, environment: ProcessInfo.processInfo.environment)
        } catch {
            FileHandle.standardError.write(Data("\(definition.service.rawValue): \(error)\n".utf8))
            exit(2)
        }
        let level = configuration.logLevel
        switch configuration.logFormat {
        case .json:
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardOutput(label: label)
                handler.logLevel = level
                return handler
            }
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "onestop.\(definition.service.rawValue)")
        let app = ServiceApp(definition: definition, configuration: configuration, logger: logger, registry: registry)
        do {
            try await app.run(signals: [.sigterm, .sigint])
        } catch {
            logger.critical("service stopped on an error", metadata: ["error": .string("\(error)")])
            exit(1)
        }
    }
}
