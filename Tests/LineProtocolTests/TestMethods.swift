import JSONCoding
import LineProtocol
import Logging
import Synchronization
import RPCTesting

/// Methods the protocol tests call.
enum Echo: RPCMethod {
    struct Params: Codable, Sendable, Equatable {
        var text: String
        var delayMilliseconds: Int?
    }
    typealias Result = Params
    static let name = "test.echo"
    static let isIdempotent = true
}

/// Counts how many calls run at once and blocks them until the gate opens.
final class Gate: Sendable {
    private let state = Mutex((running: 0, maxRunning: 0, started: 0, open: false))

    var started: Int { state.withLock { $0.started } }
    var maxRunning: Int { state.withLock { $0.maxRunning } }

    func open() { state.withLock { $0.open = true } }

    func pass() async {
        state.withLock {
            $0.started += 1
            $0.running += 1
            $0.maxRunning = max($0.maxRunning, $0.running)
        }
        while !state.withLock({ $0.open }) {
            try? await Task.sleep(for: .milliseconds(5))
        }
        state.withLock { $0.running -= 1 }
    }
}

func testMethods(gate: Gate = Gate()) -> RPCMethodTable {
    var table = RPCMethodTable()
    table.register(Echo.self) { params, _ in
        if let delay = params.delayMilliseconds {
            try await Task.sleep(for: .milliseconds(delay))
        }
        return params
    }
    table.register(name: "subtract") { params, _ in
        switch params {
        case .array(let values)? where values.count == 2:
            guard let a = values[0].int64Value, let b = values[1].int64Value else { throw RPCError.invalidParams("numbers expected") }
            return .integer(a - b)
        case .object(let named)?:
            guard let a = named["minuend"]?.int64Value, let b = named["subtrahend"]?.int64Value else {
                throw RPCError.invalidParams("params.minuend and params.subtrahend are required")
            }
            return .integer(a - b)
        default:
            throw RPCError.invalidParams("two numbers expected")
        }
    }
    table.register(name: "sum") { params, _ in
        .integer(params?.arrayValue?.compactMap(\.int64Value).reduce(0, +) ?? 0)
    }
    table.register(name: "get_data") { _, _ in ["hello", 5] }
    table.register(name: "update") { _, _ in .null }
    table.register(name: "notify_hello") { _, _ in .null }
    table.register(name: "test.block") { _, _ in
        await gate.pass()
        return .bool(true)
    }
    table.register(name: "test.crash") { _, _ in
        struct Boom: Error {}
        throw Boom()
    }
    return table
}

let testLogger: Logger = {
    var logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    logger.logLevel = .critical
    return logger
}()

/// Starts a server on a free port, runs `body`, shuts it down.
func withServer<T: Sendable>(
    _ configure: (inout RPCServerConfiguration) -> Void = { _ in },
    methods: RPCMethodTable = testMethods(),
    _ body: (RPCServer, Int) async throws -> T
) async throws -> T {
    var configuration = RPCServerConfiguration(serviceName: "test")
    configure(&configuration)
    let server = RPCServer(configuration: configuration, methods: methods, logger: testLogger)
    let address = try await server.start()
    do {
        let result = try await body(server, address.port!)
        await server.shutdown(gracePeriod: .seconds(2))
        return result
    } catch {
        await server.shutdown(gracePeriod: .seconds(2))
        throw error
    }
}

func json(_ line: String?) throws -> JSON {
    guard let line else { throw RPCError.internal("no line received") }
    return try JSON.parse(line)
}

/// A client of the test server on `port`, reconnecting quickly.
func testClient(
    port: Int, credential: String? = nil, timeout: Duration = .seconds(5), connectTimeout: Duration = .seconds(2), tls: RPCClientTLS? = nil
) -> RPCClient {
    RPCClient(
        configuration: RPCClientConfiguration(
            serviceName: "test",
            targets: [RPCTarget(host: "127.0.0.1", port: port)],
            callerName: "tests",
            credential: credential,
            defaultTimeout: timeout,
            connectTimeout: connectTimeout,
            initialBackoff: .milliseconds(20),
            maxBackoff: .milliseconds(200),
            tls: tls
        ),
        logger: testLogger
    )
}
