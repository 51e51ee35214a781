import ArgumentParser
import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

@main
struct Compare: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "onestop-compare",
        abstract: "The line protocol against gRPC Swift 2 and Hummingbird 2: same echo, same client concurrency, server in its own process.",
        subcommands: [RunCommand.self, ServeCommand.self],
        defaultSubcommand: RunCommand.self
    )
}

extension ProtocolKind: ExpressibleByArgument {}
extension Codec: ExpressibleByArgument {}

/// The server side, spawned by `run` (one process per protocol).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run one echo server (spawned by `run`).")

    @Option(name: .customLong("protocol"), help: "onestop, grpc or hummingbird.")
    var kind: ProtocolKind

    @Option(help: "JSON codec of the gRPC and Hummingbird servers: foundation or onestop.")
    var codec: Codec = .foundation

    func run() async throws {
        try await EchoServers.serve(kind, codec: codec)
    }
}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Measure every protocol at every scenario and print a markdown table.")

    @Option(help: "Seconds measured per run.")
    var seconds: Double = 3

    @Option(help: "Seconds of warm-up before each measured run (connections are already open).")
    var warmUp: Double = 1

    @Option(help: "Runs per protocol and scenario; the table shows the median and the min–max.")
    var runs: Int = 3

    @Option(help: "Scenarios as CONNECTIONSxIN_FLIGHT, comma-separated.")
    var scenarios: String = "1x1,1x64,16x32"

    @Option(help: "Protocols, comma-separated: onestop, grpc, hummingbird.")
    var protocols: String = "onestop,grpc,hummingbird"

    @Option(help: "JSON codec of the gRPC and Hummingbird sides: foundation (what their users get) or onestop (the project's codec, to compare transports alone).")
    var codec: Codec = .foundation

    @Option(help: "Write the results as JSON to this file (folders are created).")
    var json: String?

    func validate() throws {
        guard runs >= 1, seconds > 0, warmUp >= 0 else { throw ValidationError("runs ≥ 1, seconds > 0, warm-up ≥ 0") }
        _ = try parsedScenarios()
        _ = try parsedProtocols()
    }

    private func parsedScenarios() throws -> [(connections: Int, inFlight: Int)] {
        try scenarios.split(separator: ",").map { text in
            let parts = text.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2, parts[0] >= 1, parts[1] >= 1 else { throw ValidationError("scenario \(text) must look like 16x32") }
            return (parts[0], parts[1])
        }
    }

    private func parsedProtocols() throws -> [ProtocolKind] {
        try protocols.split(separator: ",").map { name in
            guard let kind = ProtocolKind(rawValue: String(name)) else { throw ValidationError("unknown protocol \(name)") }
            return kind
        }
    }

    func run() async throws {
        let scenarios = try parsedScenarios()
        let kinds = try parsedProtocols()
        let machine = MachineInfo.read()
        let loadBefore = MachineInfo.loadAverage()
        let payloadBytes = try Codec.onestop.encode(.sample).count

        var servers: [ProtocolKind: ServerProcess] = [:]
        for kind in kinds {
            servers[kind] = try ServerProcess.spawn(kind, codec: codec)
        }
        defer { for server in servers.values { server.stop() } }

        var rows: [Row] = []
        for scenario in scenarios {
            var samples: [ProtocolKind: [RunSample]] = [:]
            for run in 0..<runs {
                // Rotate the order so no protocol always runs first (or right after another).
                for offset in 0..<kinds.count {
                    let kind = kinds[(run + offset) % kinds.count]
                    let server = servers[kind]!
                    let client = try await makeClient(kind, port: server.port, connections: scenario.connections, inFlight: scenario.inFlight, codec: codec)
                    let sample: RunSample
                    do {
                        sample = try await measureRun(
                            client: client,
                            connections: scenario.connections,
                            inFlight: scenario.inFlight,
                            warmUp: .milliseconds(Int64(warmUp * 1000)),
                            measured: .milliseconds(Int64(seconds * 1000)),
                            serverPID: server.pid
                        )
                    } catch {
                        await client.shutdown()
                        throw error
                    }
                    await client.shutdown()
                    samples[kind, default: []].append(sample)
                    log("\(scenario.connections)×\(scenario.inFlight) \(kind.rawValue) run \(run + 1)/\(runs): \(Int(sample.requestsPerSecond)) req/s, p50 \(Format.micro(sample.p50Microseconds)) µs, p99 \(Format.micro(sample.p99Microseconds)) µs")
                }
            }
            for kind in kinds {
                rows.append(Row(kind: kind, connections: scenario.connections, inFlight: scenario.inFlight, runs: samples[kind] ?? []))
            }
        }
        let loadAfter = MachineInfo.loadAverage()

        let report = Report(
            machine: machine,
            loadAverageBefore: loadBefore,
            loadAverageAfter: loadAfter,
            payloadBytes: payloadBytes,
            alternativesCodec: codec,
            secondsPerRun: seconds,
            warmUpSeconds: warmUp,
            runsPerCell: runs,
            rows: rows,
            target: TargetCheck(rows: rows)
        )
        print(report.markdown)
        fflush(nil)
        if let json {
            let url = URL(fileURLWithPath: json)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(report).write(to: url)
            log("wrote \(json)")
        }
    }
}

func log(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// A server in a child process: started with `serve`, stopped by closing its standard input.
final class ServerProcess: Sendable {
    let pid: Int32
    let port: Int
    private let process: Process
    private let input: Pipe

    private init(pid: Int32, port: Int, process: Process, input: Pipe) {
        self.pid = pid
        self.port = port
        self.process = process
        self.input = input
    }

    static func spawn(_ kind: ProtocolKind, codec: Codec) throws -> ServerProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        process.arguments = ["serve", "--protocol", kind.rawValue, "--codec", codec.rawValue]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        // The first line says where it listens.
        var line: [UInt8] = []
        let handle = output.fileHandleForReading
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            line.append(contentsOf: chunk)
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("READY "), let port = Int(text.dropFirst(6)), port > 0 else {
            process.terminate()
            throw CompareError("the \(kind.rawValue) server did not start (it said: \(text.isEmpty ? "nothing" : text))")
        }
        return ServerProcess(pid: process.processIdentifier, port: port, process: process, input: input)
    }

    func stop() {
        try? input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { process.terminate() }
    }
}
