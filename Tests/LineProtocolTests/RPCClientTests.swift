import JSONCoding
import LineProtocol
import NIOCore
import Testing
import RPCTesting

@Suite("Line protocol client pool")
struct RPCClientTests {
    private func client(port: Int, credential: String? = nil, timeout: Duration = .seconds(5)) -> RPCClient {
        testClient(port: port, credential: credential, timeout: timeout)
    }

    @Test func typedCallsRoundTripAndPipeline() async throws {
        try await withServer({ $0.credential = "a-long-shared-service-secret" }) { _, port in
            let client = client(port: port, credential: "a-long-shared-service-secret")
            let answers = try await withThrowingTaskGroup(of: Echo.Params.self) { group in
                for index in 0..<200 {
                    group.addTask {
                        try await client.call(Echo.self, Echo.Params(text: "m\(index) 中文", delayMilliseconds: index % 3 == 0 ? 20 : nil))
                    }
                }
                var collected: [Echo.Params] = []
                for try await answer in group { collected.append(answer) }
                return collected
            }
            #expect(Set(answers.map(\.text)) == Set((0..<200).map { "m\($0) 中文" }))
            let ping = try await client.call(SysPing.self, RPCEmpty())
            #expect(ping.time > 0)
            await client.shutdown()
        }
    }

    @Test func aWrongCredentialIsReportedAsUnauthenticated() async throws {
        try await withServer({ $0.credential = "a-long-shared-service-secret" }) { _, port in
            let client = client(port: port, credential: "not-the-right-secret-at-all", timeout: .milliseconds(500))
            do {
                _ = try await client.call(SysPing.self, RPCEmpty())
                Issue.record("the call must fail")
            } catch let error as RPCError {
                #expect(error.kind == .unauthenticated)
            }
            await client.shutdown()
        }
    }

    @Test func serverErrorsArriveAsRPCErrors() async throws {
        try await withServer { _, port in
            let client = client(port: port)
            do {
                _ = try await client.call(method: "nope", params: nil)
                Issue.record("the call must fail")
            } catch let error as RPCError {
                #expect(error.code == -32601)
            }
            await client.shutdown()
        }
    }

    @Test func aCallPastItsTimeoutFailsWithDeadlineExceeded() async throws {
        try await withServer { _, port in
            let client = client(port: port)
            let started = ContinuousClock.now
            do {
                _ = try await client.call(Echo.self, Echo.Params(text: "slow", delayMilliseconds: 5000), timeout: .milliseconds(200))
                Issue.record("the call must time out")
            } catch let error as RPCError {
                #expect(error.kind == .deadlineExceeded)
            }
            #expect(ContinuousClock.now - started < .seconds(2))
            await client.shutdown()
        }
    }

    @Test func theClientReconnectsAfterTheServerRestarts() async throws {
        let first = RPCServer(configuration: RPCServerConfiguration(serviceName: "test"), methods: testMethods(), logger: testLogger)
        let port = try await first.start().port!
        let client = client(port: port)
        #expect(try await client.call(Echo.self, Echo.Params(text: "before")).text == "before")
        await first.shutdown(gracePeriod: .seconds(1))

        // While the server is down, calls fail as unavailable (after their retries).
        do {
            _ = try await client.call(Echo.self, Echo.Params(text: "down"), timeout: .milliseconds(300))
            Issue.record("no server is listening")
        } catch let error as RPCError {
            #expect(error.kind == .unavailable || error.kind == .deadlineExceeded)
        }

        // Tests run in parallel: another test's outgoing connection may briefly hold the port.
        let second = RPCServer(configuration: RPCServerConfiguration(serviceName: "test", port: port), methods: testMethods(), logger: testLogger)
        for attempt in 1...50 {
            do {
                try await second.start()
                break
            } catch where attempt < 50 {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(try await client.call(Echo.self, Echo.Params(text: "after"), timeout: .seconds(5)).text == "after")
        await client.shutdown()
        await second.shutdown(gracePeriod: .seconds(1))
    }

    @Test func callsSpreadOverSeveralReplicas() async throws {
        let servers = (0..<2).map { _ in RPCServer(configuration: RPCServerConfiguration(serviceName: "test"), methods: testMethods(), logger: testLogger) }
        var targets: [RPCTarget] = []
        for server in servers {
            targets.append(RPCTarget(host: "127.0.0.1", port: try await server.start().port!))
        }
        let client = RPCClient(configuration: RPCClientConfiguration(serviceName: "test", targets: targets, callerName: "tests"), logger: testLogger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<100 {
                group.addTask { _ = try await client.call(Echo.self, Echo.Params(text: "\(index)", delayMilliseconds: 10)) }
            }
            try await group.waitForAll()
        }
        #expect(servers.allSatisfy { $0.openConnectionCount > 0 })
        await client.shutdown()
        for server in servers { await server.shutdown(gracePeriod: .seconds(1)) }
    }
}
