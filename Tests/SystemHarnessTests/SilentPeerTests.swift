import LineProtocol
import Logging
import SystemHarness
import Testing

/// The line-protocol client against a peer that goes silent without closing (the fault proxy's
/// stall: bytes wait in the kernel, no FIN, no RST), as a frozen process or a dark link looks.
@Suite("Line protocol client: a peer that goes silent")
struct SilentPeerTests {
    static let logger = Logger(label: "silent-peer") { _ in SwiftLogNoOpLogHandler() }

    @Test func aConnectionSilentPastTheLimitIsDroppedAndTheNextOneWorksOnceTheLinkHeals() async throws {
        let methods = RPCMethodTable()
        let server = RPCServer(configuration: RPCServerConfiguration(serviceName: "peer"), methods: methods, logger: Self.logger)
        let port = try await server.start().port!
        let proxy = try await FaultProxy(targetPort: port)
        var configuration = RPCClientConfiguration(
            serviceName: "peer", targets: [RPCTarget(host: "127.0.0.1", port: proxy.port)], callerName: "tests",
            connectionsPerTarget: 1, defaultTimeout: .milliseconds(200), connectTimeout: .milliseconds(300),
            initialBackoff: .milliseconds(20), maxBackoff: .milliseconds(100), maxRetries: 0
        )
        configuration.silenceLimit = .milliseconds(600)
        let client = RPCClient(configuration: configuration, logger: Self.logger)

        _ = try await client.call(method: SysPing.name, params: nil)
        #expect(server.acceptedConnectionCount == 1)

        proxy.set(.stall)
        var errors: [String] = []
        let started = ContinuousClock.now
        while ContinuousClock.now - started < .milliseconds(1500) {
            do {
                _ = try await client.call(method: SysPing.name, params: nil)
                Issue.record("a call through a stalled link cannot be answered")
            } catch let error as RPCError {
                errors.append(error.message)
            }
        }
        #expect(errors.contains { $0.contains("answered nothing for 600 ms") }, "\(errors)")

        proxy.heal()
        let healed = ContinuousClock.now
        var answered = false
        while !answered, ContinuousClock.now - healed < .seconds(10) {
            answered = (try? await client.call(method: SysPing.name, params: nil)) != nil
        }
        #expect(answered)
        // The stalled connection was given up: the answer came over a new one.
        #expect(server.acceptedConnectionCount >= 2)

        await client.shutdown()
        await proxy.close()
        await server.shutdown(gracePeriod: .zero)
    }

    @Test func aSlowButLivePeerKeepsItsConnection() async throws {
        var methods = RPCMethodTable()
        methods.register(SlowAnswer.self) { _, _ in
            try await Task.sleep(for: .milliseconds(400))
            return RPCEmpty()
        }
        let server = RPCServer(configuration: RPCServerConfiguration(serviceName: "peer"), methods: methods, logger: Self.logger)
        let port = try await server.start().port!
        var configuration = RPCClientConfiguration(
            serviceName: "peer", targets: [RPCTarget(host: "127.0.0.1", port: port)], callerName: "tests",
            connectionsPerTarget: 1, defaultTimeout: .milliseconds(200), maxRetries: 0
        )
        configuration.silenceLimit = .milliseconds(600)
        let client = RPCClient(configuration: configuration, logger: Self.logger)
        // Every call outlives its deadline, but the server answers each at its deadline (with
        // deadline_exceeded), so the connection is never silent.
        for _ in 0..<8 {
            do {
                _ = try await client.call(SlowAnswer.self, RPCEmpty())
            } catch let error as RPCError {
                #expect(!error.message.contains("answered nothing"), "\(error.message)")
            }
        }
        #expect(server.acceptedConnectionCount == 1)
        await client.shutdown()
        await server.shutdown(gracePeriod: .zero)
    }
}

/// Answers after 400 ms, past the 200 ms deadline the tests give it.
enum SlowAnswer: RPCMethod {
    typealias Params = RPCEmpty
    typealias Result = RPCEmpty
    static let name = "test.slow"
}
