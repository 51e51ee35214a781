import NIOCore

#if canImport(Glibc)
import Glibc
#endif

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The median and the spread of one figure over the runs.
struct Spread: Codable, Sendable {
    var median: Double
    var min: Double
    var max: Double

    init(_ values: [Double]) {
        let sorted = values.sorted()
        median = sorted.isEmpty ? .nan : (sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2)
        min = sorted.first ?? .nan
        max = sorted.last ?? .nan
    }
}

struct Row: Codable, Sendable {
    var kind: ProtocolKind
    var connections: Int
    var inFlight: Int
    var transportConnections: Int
    var requestsPerSecond: Spread
    var p50Microseconds: Spread
    var p99Microseconds: Spread
    var serverCPUMicrosecondsPerRequest: Spread
    var clientCPUMicrosecondsPerRequest: Spread
    var serverContextSwitchesPerRequest: Spread
    var runs: [RunSample]

    init(kind: ProtocolKind, connections: Int, inFlight: Int, runs: [RunSample]) {
        self.kind = kind
        self.connections = connections
        self.inFlight = inFlight
        self.transportConnections = kind.transportConnections(connections: connections, inFlight: inFlight)
        self.runs = runs
        requestsPerSecond = Spread(runs.map(\.requestsPerSecond))
        p50Microseconds = Spread(runs.map(\.p50Microseconds))
        p99Microseconds = Spread(runs.map(\.p99Microseconds))
        serverCPUMicrosecondsPerRequest = Spread(runs.map(\.serverCPUMicrosecondsPerRequest))
        clientCPUMicrosecondsPerRequest = Spread(runs.map(\.clientCPUMicrosecondsPerRequest))
        serverContextSwitchesPerRequest = Spread(runs.map(\.serverContextSwitchesPerRequest))
    }
}

/// The issue's target: at 16×32 the line protocol does ≥ 2× gRPC's requests/s with a lower p99.
struct TargetCheck: Codable, Sendable {
    var throughputRatio: Double?
    var onestopP99Microseconds: Double?
    var grpcP99Microseconds: Double?
    var met: Bool?

    init(rows: [Row]) {
        let ours = rows.first { $0.kind == .lineProtocol && $0.connections == 16 && $0.inFlight == 32 }
        let grpc = rows.first { $0.kind == .grpc && $0.connections == 16 && $0.inFlight == 32 }
        guard let ours, let grpc else { return }
        throughputRatio = ours.requestsPerSecond.median / grpc.requestsPerSecond.median
        onestopP99Microseconds = ours.p99Microseconds.median
        grpcP99Microseconds = grpc.p99Microseconds.median
        met = throughputRatio! >= 2 && ours.p99Microseconds.median < grpc.p99Microseconds.median
    }
}

struct MachineInfo: Codable, Sendable {
    var cores: Int
    var memoryGiB: Double
    var cpuModel: String
    var kernel: String

    static func read() -> MachineInfo {
        let meminfo = readText("/proc/meminfo") ?? ""
        let totalKiB = meminfo.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }
            .flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Double($0) } ?? 0
        let cpuModel = (readText("/proc/cpuinfo") ?? "").split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "" } ?? "unknown"
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return MachineInfo(cores: System.coreCount, memoryGiB: (totalKiB / 1024 / 1024 * 10).rounded() / 10, cpuModel: cpuModel, kernel: release)
    }

    /// The 1-minute load average (other work on the machine skews the figures).
    static func loadAverage() -> Double {
        (readText("/proc/loadavg")?.split(separator: " ").first).flatMap { Double($0) } ?? .nan
    }
}

struct Report: Codable, Sendable {
    var machine: MachineInfo
    var loadAverageBefore: Double
    var loadAverageAfter: Double
    var payloadBytes: Int
    var alternativesCodec: Codec
    var secondsPerRun: Double
    var warmUpSeconds: Double
    var runsPerCell: Int
    var rows: [Row]
    var target: TargetCheck

    var markdown: String {
        var lines: [String] = []
        lines.append("")
        lines.append("Echo of a \(payloadBytes)-byte JSON object; client and server in separate processes on \(machine.cores) cores, \(machine.memoryGiB) GiB (\(machine.cpuModel), Linux \(machine.kernel)); load average \(Format.one(loadAverageBefore)) before, \(Format.one(loadAverageAfter)) after.")
        lines.append("Median of \(runsPerCell) runs of \(Format.one(secondsPerRun)) s (after \(Format.one(warmUpSeconds)) s warm-up), min–max in brackets. gRPC and Hummingbird code JSON with \(alternativesCodec == .foundation ? "Foundation's JSONEncoder/JSONDecoder" : "OneStop's JSONCoding").")
        lines.append("")
        lines.append("| connections × in flight | protocol | TCP connections | requests/s | p50 µs | p99 µs | server CPU µs/req | client CPU µs/req | server context switches/req |")
        lines.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for row in rows {
            lines.append("| \(row.connections) × \(row.inFlight) | \(row.kind.title) | \(row.transportConnections) | \(Format.spread(row.requestsPerSecond, Format.integer)) | \(Format.spread(row.p50Microseconds, Format.micro)) | \(Format.spread(row.p99Microseconds, Format.micro)) | \(Format.spread(row.serverCPUMicrosecondsPerRequest, Format.one)) | \(Format.spread(row.clientCPUMicrosecondsPerRequest, Format.one)) | \(Format.spread(row.serverContextSwitchesPerRequest, Format.two)) |")
        }
        if let ratio = target.throughputRatio, let ours = target.onestopP99Microseconds, let grpc = target.grpcP99Microseconds, let met = target.met {
            lines.append("")
            lines.append("Target at 16 × 32 (≥ 2× gRPC's requests/s with a lower p99): \(Format.two(ratio))× the requests/s, p99 \(Format.micro(ours)) µs against \(Format.micro(grpc)) µs: \(met ? "met" : "NOT met").")
        }
        return lines.joined(separator: "\n")
    }
}

enum Format {
    static func integer(_ value: Double) -> String { value.isFinite ? String(Int(value.rounded())) : "–" }
    static func one(_ value: Double) -> String { fixed(value, 1) }
    static func two(_ value: Double) -> String { fixed(value, 2) }
    static func micro(_ value: Double) -> String { value >= 100 ? integer(value) : one(value) }
    static func spread(_ spread: Spread, _ format: (Double) -> String) -> String {
        "\(format(spread.median)) (\(format(spread.min))–\(format(spread.max)))"
    }
    private static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return "–" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = Int((abs(value) * scale).rounded())
        let whole = scaled / Int(scale)
        var fraction = String(scaled % Int(scale))
        while fraction.count < digits { fraction = "0" + fraction }
        return (value < 0 ? "-" : "") + "\(whole).\(fraction)"
    }
}
