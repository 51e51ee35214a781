import Foundation
import NIOCore
import NIOPosix

/// A minimal HTTP/1.1 GET for tests of admin ports: one request per connection, read to close.
public enum HTTPTestClient {
    public struct Response: Sendable {
        public let status: Int
        public let body: String
    }

    public static func get(host: String = "127.0.0.1", port: Int, path: String) async throws -> Response {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        var received = ByteBuffer()
        try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n"))
            for try await var chunk in inbound {
                received.writeBuffer(&chunk)
            }
        }
        let text = String(buffer: received)
        guard let headerEnd = text.range(of: "\r\n\r\n"),
              let statusLine = text.split(separator: "\r\n", maxSplits: 1).first,
              let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "")
        else {
            throw HTTPTestError(description: "not an HTTP response: \(text.prefix(80))")
        }
        var body = String(text[headerEnd.upperBound...])
        if text[..<headerEnd.lowerBound].lowercased().contains("transfer-encoding: chunked") {
            body = dechunk(body)
        }
        return Response(status: status, body: body)
    }

    private static func dechunk(_ text: String) -> String {
        var rest = Substring(text)
        var out = ""
        while let lineEnd = rest.range(of: "\r\n"), let size = Int(rest[..<lineEnd.lowerBound], radix: 16), size > 0 {
            let start = lineEnd.upperBound
            let bytes = Array(rest[start...].utf8)
            out += String(decoding: bytes.prefix(size), as: UTF8.self)
            rest = Substring(String(decoding: bytes.dropFirst(size + 2), as: UTF8.self))
        }
        return out
    }
}

public struct HTTPTestError: Error, CustomStringConvertible {
    public let description: String
}
