import JSONCoding
import RPCTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Hostile HTTP clients against a real gateway: each gets a clear error or a bounded, logged
/// disconnect, and other clients are served meanwhile.
@Suite("Gateway under abuse")
struct GatewayAbuseTests {
    static let catalogRequest = "GET /v1/catalog HTTP/1.1\r\nHost: localhost\r\n\r\n"

    @Test("idle connections up to the limit leave the gateway serving; the one over it gets 503")
    func connectionLimit() async throws {
        let limit = 60
        try await GatewayFixture.with(environment: ["ONESTOP_GATEWAY_MAX_CONNECTIONS": "\(limit)"]) { gateway in
            var idle: [RawTCPSocket] = []
            for _ in 0..<(limit - 1) { idle.append(try RawTCPSocket(port: gateway.port)) }
            // Accepted in order; the pauses let the gateway count them in (and the normal
            // client's connection out) on a loaded machine.
            try await Task.sleep(for: .seconds(1))
            // The last slot serves a normal client (one connection per request) meanwhile.
            #expect(try await gateway.request("GET", "/v1/catalog").status == 200)
            try await Task.sleep(for: .seconds(1))
            idle.append(try RawTCPSocket(port: gateway.port))
            try await Task.sleep(for: .seconds(1))
            let extra = try RawTCPSocket(port: gateway.port)
            try await extra.send(Self.catalogRequest)
            let (bytes, closed) = try await extra.readUntilClosed(limit: .seconds(5))
            let answer = String(decoding: bytes, as: UTF8.self)
            #expect(answer.hasPrefix("HTTP/1.1 503"), "\(answer.prefix(200))")
            #expect(answer.contains(#""kind":"overloaded""#))
            #expect(answer.contains("connection limit"))
            #expect(closed)
            // In the language the refused request asked for.
            let chinese = try RawTCPSocket(port: gateway.port)
            try await chinese.send("GET /v1/catalog HTTP/1.1\r\nHost: localhost\r\nAccept-Language: zh-CN\r\n\r\n")
            let (chineseBytes, _) = try await chinese.readUntilClosed(limit: .seconds(5))
            let chineseAnswer = String(decoding: chineseBytes, as: UTF8.self)
            #expect(chineseAnswer.hasPrefix("HTTP/1.1 503"), "\(chineseAnswer.prefix(200))")
            #expect(chineseAnswer.contains("网关连接数已达上限"), "\(chineseAnswer.prefix(400))")
            #expect(chineseAnswer.lowercased().contains("content-language: zh-cn"))
            // A slot freed is a slot served.
            idle.removeAll()
            try await Task.sleep(for: .seconds(1))
            #expect(try await gateway.request("GET", "/v1/catalog").status == 200)
        }
    }

    @Test("byte-at-a-time headers and bodies are cut off by the read timeout while others are served")
    func slowloris() async throws {
        try await GatewayFixture.with(environment: ["ONESTOP_GATEWAY_READ_TIMEOUT_MS": "800"]) { gateway in
            let slowHead = try RawTCPSocket(port: gateway.port, timeout: .milliseconds(20))
            let slowBody = try RawTCPSocket(port: gateway.port, timeout: .milliseconds(20))
            try await slowBody.send("POST /v1/public/track HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n")
            let head = Array("GET /v1/catalog HTTP/1.1\r\nHost: localhost\r\nX-Padding: \(String(repeating: "a", count: 100))\r\n".utf8)
            let started = ContinuousClock.now
            var headClosed: Duration?
            var bodyClosed: Duration?
            var index = 0
            while (headClosed == nil || bodyClosed == nil), ContinuousClock.now - started < .seconds(8) {
                if headClosed == nil, try await Self.isClosed(slowHead, afterSending: head[index % head.count]) {
                    headClosed = ContinuousClock.now - started
                }
                if bodyClosed == nil, try await Self.isClosed(slowBody, afterSending: UInt8(ascii: " ")) {
                    bodyClosed = ContinuousClock.now - started
                }
                index += 1
                if index % 5 == 0 {
                    #expect(try await gateway.request("GET", "/v1/catalog").status == 200)
                }
            }
            // 800 ms allowed; generous for a loaded machine, and without the guard never.
            #expect(try #require(headClosed, "a byte-at-a-time request head was never cut off") < .seconds(5))
            #expect(try #require(bodyClosed, "a byte-at-a-time body was never cut off") < .seconds(5))
        }
    }

    /// Sends one byte; true when the peer has closed (the send fails or the close is read).
    static func isClosed(_ socket: RawTCPSocket, afterSending byte: UInt8) async throws -> Bool {
        guard (try? await socket.send([byte])) == 1 else { return true }
        return try await socket.readUntilClosed(limit: .milliseconds(40)).closed
    }

    @Test("a client pipelining requests it never reads does not grow the gateway's memory")
    func neverReads() async throws {
        try await GatewayFixture.with { gateway in
            let document = try await gateway.request("GET", "/openapi.json")
            #expect(document.status == 200)
            let greedy = try RawTCPSocket(port: gateway.port, receiveBuffer: 16 << 10, timeout: .milliseconds(500))
            let request = Array("GET /openapi.json HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
            let count = 1000
            var batch: [UInt8] = []
            for _ in 0..<count { batch += request }
            let before = residentBytes()
            _ = try await greedy.send(batch)
            try await Task.sleep(for: .seconds(1))
            // Served meanwhile.
            #expect(try await gateway.request("GET", "/v1/catalog").status == 200)
            let grown = residentBytes() - before
            // Unbounded, the answers would be count × the document.
            let unbounded = count * document.body.utf8.count
            #expect(grown < min(unbounded / 2, 64 << 20), "resident memory grew by \(grown >> 20) MiB (all answers: \(unbounded >> 20) MiB)")
        }
    }

    @Test("deep nesting, huge bodies and invalid UTF-8 get clear problems and reach no service")
    func hostileBodies() async throws {
        try await GatewayFixture.with { gateway in
            let before = gateway.backend?.calls.count ?? 0
            let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
            let deepAnswer = try await gateway.request("POST", "/v1/public/track", json: deep)
            #expect(deepAnswer.status == 400)
            #expect(try json(deepAnswer.body)["kind"] == "invalid_params")
            let deepObjects = String(repeating: #"{"a":"#, count: 60_000) + "1" + String(repeating: "}", count: 60_000)
            #expect(try await gateway.request("POST", "/v1/public/track", json: deepObjects).status == 400)
            // 8 MiB: past the 1 MiB default body limit.
            let huge = #"{"trackingNumber":""# + String(repeating: "9", count: 8 << 20) + #""}"#
            let hugeAnswer = try await gateway.request("POST", "/v1/public/track", json: huge)
            #expect(hugeAnswer.status == 413)
            #expect(try json(hugeAnswer.body)["kind"] == "payload_too_large")
            // Invalid UTF-8 inside a string, sent raw.
            let socket = try RawTCPSocket(port: gateway.port)
            let body: [UInt8] = Array(#"{"trackingNumber":""#.utf8) + [0xC0, 0xAF, 0xED, 0xA0, 0x80] + Array(#"","accessCode":"x"}"#.utf8)
            try await socket.send("POST /v1/public/track HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n")
            _ = try await socket.send(body)
            let (bytes, closed) = try await socket.readUntilClosed(limit: .seconds(30))
            let answer = String(decoding: bytes, as: UTF8.self)
            #expect(answer.hasPrefix("HTTP/1.1 400"), "\(answer.prefix(200)) (closed: \(closed))")
            #expect(answer.contains("invalid_params"))
            #expect((gateway.backend?.calls.count ?? 0) == before)
            #expect(try await gateway.request("GET", "/v1/catalog").status == 200)
        }
    }
}

/// This process's resident memory, from /proc/self/statm.
func residentBytes() -> Int {
    let fd = open("/proc/self/statm", O_RDONLY)
    guard fd >= 0 else { return 0 }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 256)
    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, 256) }
    guard n > 0 else { return 0 }
    let fields = String(decoding: buffer[..<n], as: UTF8.self).split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
