import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// A minimal HTTP/1.1 GET for tests of admin ports: one request per connection, read to close.
public enum HTTPTestClient {
    public struct Response: Sendable {
        public let status: Int
        public let body: String
        /// Header names in lower case; repeated headers joined with ", " (Set-Cookie kept apart).
        public let headers: [String: String]
        public let setCookies: [String]

        public init(status: Int, body: String, headers: [String: String] = [:], setCookies: [String] = []) {
            self.status = status
            self.body = body
            self.headers = headers
            self.setCookies = setCookies
        }
    }

    public static func get(host: String = "127.0.0.1", port: Int, path: String) async throws -> Response {
        try await send(host: host, port: port, method: "GET", path: path)
    }

    /// One request on its own connection (`Connection: close`), read to the end. With
    /// `tlsTrustRoots` (PEM CA certificates) it is HTTPS, the server's certificate checked
    /// against them and against `host`.
    public static func send(
        host: String = "127.0.0.1", port: Int, method: String, path: String,
        headers: [(String, String)] = [], body: String? = nil, tlsTrustRoots: [UInt8]? = nil
    ) async throws -> Response {
        let tls = try tlsTrustRoots.map { roots in
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(roots))
            return try NIOSSLContext(configuration: configuration)
        }
        let isIPAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: isIPAddress ? nil : host))
                    }
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body {
            if !headers.contains(where: { $0.0.lowercased() == "content-type" }) { head += "Content-Type: application/json\r\n" }
            head += "Content-Length: \(body.utf8.count)\r\n"
        }
        head += "\r\n"
        var received = ByteBuffer()
        try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: head + (body ?? "")))
            do {
                for try await var chunk in inbound {
                    received.writeBuffer(&chunk)
                }
            } catch NIOSSLError.uncleanShutdown where received.readableBytes > 0 {
                // A TLS server that closes without close_notify after `Connection: close`.
            }
        }
        let text = String(buffer: received)
        guard let headerEnd = text.range(of: "\r\n\r\n"),
              let statusLine = text.split(separator: "\r\n", maxSplits: 1).first,
              let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "")
        else {
            throw HTTPTestError(description: "not an HTTP response: \(text.prefix(80))")
        }
        var responseHeaders: [String: String] = [:]
        var cookies: [String] = []
        for line in text[..<headerEnd.lowerBound].split(separator: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if name == "set-cookie" { cookies.append(value) }
            responseHeaders[name] = responseHeaders[name].map { "\($0), \(value)" } ?? value
        }
        var responseBody = String(text[headerEnd.upperBound...])
        if responseHeaders["transfer-encoding"]?.lowercased().contains("chunked") == true {
            responseBody = dechunk(responseBody)
        }
        return Response(status: status, body: responseBody, headers: responseHeaders, setCookies: cookies)
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
