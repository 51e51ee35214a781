import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Hummingbird
import LineProtocol
import Logging
import NIOCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The three echo servers. Each runs in a process of its own (`onestop-compare serve`), prints
/// `READY <port>` once it listens, and runs until its standard input closes.
enum EchoServers {
    static let credential = "benchmark-shared-secret"

    static func serve(_ kind: ProtocolKind, codec: Codec) async throws {
        var logger = Logger(label: "compare.server")
        // Critical only: Hummingbird logs its cancellation at shutdown as an error.
        logger.logLevel = .critical
        switch kind {
        case .lineProtocol: try await serveLineProtocol(logger: logger)
        case .grpc: try await serveGRPC(codec: codec)
        case .http: try await serveHummingbird(codec: codec, logger: logger)
        }
    }

    static func announce(port: Int) {
        print("READY \(port)")
        fflush(nil)
    }

    /// Waits for standard input to close: the parent ended or is done with this server.
    static func untilStandardInputCloses() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                var byte: UInt8 = 0
                while read(0, &byte, 1) > 0 {}
                continuation.resume()
            }
            thread.start()
        }
    }

    // MARK: Line protocol: the project's RPCServer with a credential, as every service runs it.

    static func serveLineProtocol(logger: Logger) async throws {
        var table = RPCMethodTable()
        table.register(BenchEcho.self) { params, _ in params }
        let server = RPCServer(
            configuration: RPCServerConfiguration(serviceName: "bench", credential: credential),
            methods: table,
            logger: logger
        )
        let address = try await server.start()
        announce(port: address.port!)
        await untilStandardInputCloses()
        await server.shutdown(gracePeriod: .seconds(1))
    }

    // MARK: gRPC Swift 2, unary over HTTP/2 (grpc-swift-nio-transport), JSON messages.

    static func serveGRPC(codec: Codec) async throws {
        let server = GRPCServer(
            transport: .http2NIOPosix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext),
            services: [GRPCEchoService(codec: codec)]
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            guard let port = try await server.transport.listeningAddress.ipv4?.port else {
                throw CompareError("the gRPC server has no IPv4 address")
            }
            announce(port: port)
            await untilStandardInputCloses()
            server.beginGracefulShutdown()
            try await group.waitForAll()
        }
    }

    // MARK: Hummingbird 2, HTTP/1.1 with keep-alive, JSON bodies.

    static func serveHummingbird(codec: Codec, logger: Logger) async throws {
        let router = Router()
        router.post("/echo") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 64 * 1024)
            let payload = try body.withUnsafeReadableBytes { try codec.decode($0) }
            let answer = try codec.encode(payload)
            return Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer))
            )
        }
        let application = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0), serverName: "bench", backlog: 1024),
            onServerRunning: { channel in
                announce(port: channel.localAddress?.port ?? 0)
            },
            logger: logger
        )
        await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await application.run() }
            await untilStandardInputCloses()
            group.cancelAll()
            try? await group.waitForAll()
        }
    }
}

/// A JSON message (de)serializer for gRPC Swift 2, so no protobuf code generation is needed.
struct JSONMessageSerializer: MessageSerializer {
    let codec: Codec
    func serialize<Bytes: GRPCContiguousBytes>(_ message: EchoPayload) throws -> Bytes {
        Bytes(try codec.encode(message))
    }
}

struct JSONMessageDeserializer: MessageDeserializer {
    let codec: Codec
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> EchoPayload {
        try serializedMessageBytes.withUnsafeBytes { try codec.decode($0) }
    }
}

/// `onestop.bench.Echo/Echo`, registered by hand the way generated code would.
struct GRPCEchoService: RegistrableRPCService {
    static let method = MethodDescriptor(fullyQualifiedService: "onestop.bench.Echo", method: "Echo")
    let codec: Codec

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(
            forMethod: Self.method,
            deserializer: JSONMessageDeserializer(codec: codec),
            serializer: JSONMessageSerializer(codec: codec)
        ) { request, _ in
            let single = try await ServerRequest(stream: request)
            return StreamingServerResponse(single: ServerResponse(message: single.message))
        }
    }
}

struct CompareError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
