import JSONCoding
import LineProtocol
import NIOCore
import Testing
import RPCTesting

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

@Suite("Line protocol server over real sockets")
struct RPCServerTests {
    /// Every example of the JSON-RPC 2.0 specification's examples section, in order.
    @Test func specificationExamples() async throws {
        try await withServer { _, port in
            try await withLineClient(port: port) { client in
                func exchange(_ request: String) async throws -> JSON {
                    try await client.send(request + "\n")
                    return try json(await client.readLine())
                }
                #expect(try await exchange(#"{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}"#) == ["jsonrpc": "2.0", "result": 19, "id": 1])
                #expect(try await exchange(#"{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}"#) == ["jsonrpc": "2.0", "result": -19, "id": 2])
                #expect(try await exchange(#"{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}"#) == ["jsonrpc": "2.0", "result": 19, "id": 3])
                #expect(try await exchange(#"{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}"#) == ["jsonrpc": "2.0", "result": 19, "id": 4])

                // Notifications are never answered, not even for an unknown method: the next
                // line read answers the request after them.
                try await client.send(#"{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}"# + "\n")
                try await client.send(#"{"jsonrpc": "2.0", "method": "foobar"}"# + "\n")

                let missing = try await exchange(#"{"jsonrpc": "2.0", "method": "foobar", "id": "1"}"#)
                #expect(missing["error"]?["code"] == -32601)
                #expect(missing["id"] == "1")

                let parse = try await exchange(#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#)
                #expect(parse["error"]?["code"] == -32700)
                #expect(parse["id"] == .null)

                let invalid = try await exchange(#"{"jsonrpc": "2.0", "method": 1, "params": "bar"}"#)
                #expect(invalid["error"]?["code"] == -32600)
                #expect(invalid["id"] == .null)

                let batchParse = try await exchange(#"[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},{"jsonrpc": "2.0", "method"]"#)
                #expect(batchParse["error"]?["code"] == -32700)
                #expect(batchParse["id"] == .null)

                let empty = try await exchange("[]")
                #expect(empty["error"]?["code"] == -32600)
                #expect(empty["id"] == .null)

                let one = try await exchange("[1]")
                #expect(one.arrayValue?.count == 1)
                #expect(one[0]?["error"]?["code"] == -32600)

                let three = try await exchange("[1,2,3]")
                #expect(three.arrayValue?.map { $0["error"]?["code"] } == [-32600, -32600, -32600])

                let mixed = try await exchange("""
                    [{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},{"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},{"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},{"foo": "boo"},{"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},{"jsonrpc": "2.0", "method": "get_data", "id": "9"}]
                    """)
                let answers = try #require(mixed.arrayValue)
                #expect(answers.count == 5)
                func answer(_ id: JSON) -> JSON? { answers.first { $0["id"] == id && ($0["result"] != nil || $0["error"]?["code"] != -32600) } }
                #expect(answer("1")?["result"] == 7)
                #expect(answer("2")?["result"] == 19)
                #expect(answer("5")?["error"]?["code"] == -32601)
                #expect(answer("9")?["result"] == ["hello", 5])
                #expect(answers.contains { $0["id"] == .null && $0["error"]?["code"] == -32600 })

                // A batch of notifications gets no answer at all: the ping after it is next.
                try await client.send(#"[{"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},{"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}]"# + "\n")
                let ping = try await exchange(#"{"jsonrpc":"2.0","method":"sys.ping","id":"after"}"#)
                #expect(ping["id"] == "after")
            }
        }
    }

    @Test func overLongLineIsAnsweredAndTheConnectionKeepsWorking() async throws {
        try await withServer({ $0.maxLineLength = 1024 }) { _, port in
            try await withLineClient(port: port) { client in
                try await client.send(#"{"jsonrpc":"2.0","method":"test.echo","params":{"text":""# + String(repeating: "x", count: 5000) + "\"},\"id\":1}\n")
                let error = try json(await client.readLine())
                #expect(error["error"]?["code"] == -32600)
                #expect(error["error"]?["data"]?["limit"] == 1024)
                #expect(error["error"]?["message"]?.stringValue?.contains("1024") == true)
                try await client.send(#"{"jsonrpc":"2.0","method":"test.echo","params":{"text":"fine"},"id":2}"# + "\n")
                let answer = try json(await client.readLine())
                #expect(answer["result"]?["text"] == "fine")
            }
        }
    }

    @Test func invalidUTF8AndJSONFailOnlyTheirLine() async throws {
        try await withServer { _, port in
            try await withLineClient(port: port) { client in
                try await client.send(bytes: Array(#"{"jsonrpc":"2.0","method":"x"#.utf8) + [0xC3, 0x28] + Array("\"}\n".utf8))
                #expect(try json(await client.readLine())["error"]?["code"] == -32700)
                try await client.send("not json\r\n\r\n")
                #expect(try json(await client.readLine())["error"]?["code"] == -32700)
                try await client.send(#"{"jsonrpc":"2.0","method":"sys.ping","id":3}"# + "\r\n")
                #expect(try json(await client.readLine())["id"] == 3)
            }
        }
    }

    @Test func badParamsNameTheFieldAndCrashesAreInternal() async throws {
        try await withServer { _, port in
            try await withLineClient(port: port) { client in
                try await client.send(#"{"jsonrpc":"2.0","method":"test.echo","params":{"text":5},"id":1}"# + "\n")
                let bad = try json(await client.readLine())
                #expect(bad["error"]?["code"] == -32602)
                #expect(bad["error"]?["data"]?["kind"] == "invalid_params")
                #expect(bad["error"]?["message"]?.stringValue?.contains("params.text") == true)
                try await client.send(#"{"jsonrpc":"2.0","method":"test.crash","id":2}"# + "\n")
                let crash = try json(await client.readLine())
                #expect(crash["error"]?["code"] == -32603)
                #expect(crash["error"]?["data"]?["kind"] == "internal")
            }
        }
    }

    @Test func pipelinedCallsAreAnsweredAsTheyFinish() async throws {
        try await withServer { _, port in
            try await withLineClient(port: port) { client in
                let lines = [(1, 400), (2, 150), (3, 0)].map { id, delay in
                    #"{"jsonrpc":"2.0","method":"test.echo","params":{"text":"\#(id)","delayMilliseconds":\#(delay)},"id":\#(id)}"#
                }
                try await client.send(lines.joined(separator: "\n") + "\n")
                var order: [JSON] = []
                for _ in 0..<3 {
                    order.append(try json(await client.readLine())["id"] ?? .null)
                }
                #expect(order == [3, 2, 1])
            }
        }
    }

    @Test func theInFlightBoundStopsReading() async throws {
        let gate = Gate()
        try await withServer({ $0.maxInFlightPerConnection = 4 }, methods: testMethods(gate: gate)) { _, port in
            try await withLineClient(port: port) { client in
                let requests = (1...50).map { #"{"jsonrpc":"2.0","method":"test.block","id":\#($0)}"# }
                try await client.send(requests.joined(separator: "\n") + "\n")
                try await Task.sleep(for: .milliseconds(300))
                #expect(gate.started == 4)
                gate.open()
                var answered = Set<JSON>()
                for _ in 1...50 {
                    answered.insert(try json(await client.readLine())["id"] ?? .null)
                }
                #expect(answered.count == 50)
                #expect(gate.maxRunning == 4)
            }
        }
    }

    @Test func helloIsRequiredFirstOnInternalListeners() async throws {
        try await withServer({ $0.credential = "a-long-shared-service-secret" }) { _, port in
            try await withLineClient(port: port) { client in
                try await client.send(#"{"jsonrpc":"2.0","method":"sys.ping","id":1}"# + "\n")
                let refused = try json(await client.readLine())
                #expect(refused["error"]?["data"]?["kind"] == "unauthenticated")
                #expect(await client.readLine(timeout: .seconds(2)) == nil, "the connection must close")
            }
            try await withLineClient(port: port) { client in
                try await client.send(#"{"jsonrpc":"2.0","method":"sys.hello","params":{"service":"intake","credential":"wrong-secret-of-some-length"},"id":1}"# + "\n")
                #expect(try json(await client.readLine())["error"]?["data"]?["kind"] == "unauthenticated")
                #expect(await client.readLine(timeout: .seconds(2)) == nil)
            }
            try await withLineClient(port: port) { client in
                try await client.send(#"{"jsonrpc":"2.0","method":"sys.hello","params":{"service":"intake","credential":"a-long-shared-service-secret"},"id":1}"# + "\n")
                let hello = try json(await client.readLine())
                #expect(hello["result"]?["service"] == "test")
                try await client.send(#"{"jsonrpc":"2.0","method":"sys.describe","id":2}"# + "\n")
                let describe = try json(await client.readLine())
                let names = describe["result"]?["methods"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
                #expect(names.contains("sys.hello") && names.contains("sys.ping") && names.contains("sys.health") && names.contains("test.echo"))
            }
        }
    }

    @Test func aCallPastItsDeadlineIsAnsweredWithDeadlineExceeded() async throws {
        try await withServer { _, port in
            try await withLineClient(port: port) { client in
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                try await client.send(#"{"jsonrpc":"2.0","method":"test.echo","params":{"text":"slow","delayMilliseconds":3000,"_meta":{"deadline":\#(now + 150)}},"id":1}"# + "\n")
                let started = ContinuousClock.now
                let answer = try json(await client.readLine())
                #expect(answer["error"]?["data"]?["kind"] == "deadline_exceeded")
                #expect(ContinuousClock.now - started < .seconds(2))
                try await client.send(#"{"jsonrpc":"2.0","method":"test.echo","params":{"text":"late","_meta":{"deadline":\#(now - 1000)}},"id":2}"# + "\n")
                #expect(try json(await client.readLine())["error"]?["data"]?["kind"] == "deadline_exceeded")
            }
        }
    }

    @Test func theConnectionLimitRefusesExtraConnections() async throws {
        try await withServer({ $0.maxConnections = 1 }) { _, port in
            try await withLineClient(port: port) { first in
                try await first.send(#"{"jsonrpc":"2.0","method":"sys.ping","id":1}"# + "\n")
                #expect(try json(await first.readLine())["id"] == 1)
                try await withLineClient(port: port) { second in
                    let refusal = try json(await second.readLine())
                    #expect(refusal["error"]?["data"]?["kind"] == "overloaded")
                    #expect(await second.readLine(timeout: .seconds(2)) == nil)
                }
            }
        }
    }

    @Test func idleConnectionsAreClosed() async throws {
        try await withServer({ $0.idleTimeout = .milliseconds(200) }) { _, port in
            try await withLineClient(port: port) { client in
                #expect(await client.readLine(timeout: .seconds(3)) == nil)
            }
        }
    }

    @Test func aLastLineWithoutNewlineIsAnsweredAtEndOfInput() async throws {
        try await withServer { _, port in
            try await withLineClient(port: port) { client in
                try await client.send(#"{"jsonrpc":"2.0","method":"test.echo","params":{"text":"eof","delayMilliseconds":100},"id":1}"#)
                try await client.finishSending()
                #expect(try json(await client.readLine())["result"]?["text"] == "eof")
                #expect(await client.readLine(timeout: .seconds(2)) == nil)
            }
        }
    }

    @Test func gracefulShutdownFinishesInFlightCalls() async throws {
        var configuration = RPCServerConfiguration(serviceName: "test")
        configuration.port = 0
        let server = RPCServer(configuration: configuration, methods: testMethods(), logger: testLogger)
        let port = try await server.start().port!
        try await withLineClient(port: port) { client in
            try await client.send(#"{"jsonrpc":"2.0","method":"test.echo","params":{"text":"finishing","delayMilliseconds":500},"id":1}"# + "\n")
            try await Task.sleep(for: .milliseconds(100))
            async let stopped: Void = server.shutdown(gracePeriod: .seconds(5))
            let answer = try json(await client.readLine())
            #expect(answer["result"]?["text"] == "finishing")
            #expect(await client.readLine(timeout: .seconds(2)) == nil, "closed after the drain")
            await stopped
        }
        #expect(server.openConnectionCount == 0)
    }
}
