import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One timed run of one protocol at one concurrency.
struct RunSample: Codable, Sendable {
    var requests: Int
    var seconds: Double
    var requestsPerSecond: Double
    var p50Microseconds: Double
    var p99Microseconds: Double
    var serverCPUMicrosecondsPerRequest: Double
    var clientCPUMicrosecondsPerRequest: Double
    /// Context switches of all the server's threads per request: how often a request makes a
    /// thread sleep and wake (hops between event loops and task executors).
    var serverContextSwitchesPerRequest: Double
}

private final class StopFlag: Sendable {
    private let stopped = Atomic<Bool>(false)
    var isSet: Bool { stopped.load(ordering: .relaxed) }
    func set() { stopped.store(true, ordering: .relaxed) }
}

/// Closed loop: `connections × inFlight` workers each send, wait for the echo, check it, send
/// again. After `warmUp` the CPU of both processes is read, again `measured` later; the requests
/// that completed between the two reads give the rate, the latencies and the CPU per request.
func measureRun(
    client: any EchoClient,
    connections: Int,
    inFlight: Int,
    warmUp: Duration,
    measured: Duration,
    serverPID: Int32
) async throws -> RunSample {
    let clock = ContinuousClock()
    let origin = clock.now
    let stop = StopFlag()
    func nanoseconds(since start: ContinuousClock.Instant) -> UInt64 {
        let elapsed = clock.now - start
        return UInt64(elapsed.components.seconds) * 1_000_000_000 + UInt64(elapsed.components.attoseconds / 1_000_000_000)
    }

    return try await withThrowingTaskGroup(of: [Completion].self) { group in
        for connection in 0..<connections {
            for worker in 0..<inFlight {
                group.addTask {
                    var completions: [Completion] = []
                    completions.reserveCapacity(65_536)
                    var payload = EchoPayload.sample
                    var sequence = connection * 1_000_000 + worker * 10_000
                    while !stop.isSet {
                        sequence += 1
                        payload.sequence = sequence
                        let sent = nanoseconds(since: origin)
                        let answer = try await client.echo(payload, connection: connection, worker: worker)
                        let done = nanoseconds(since: origin)
                        guard answer == payload else { throw EchoMismatch(sent: payload, received: answer) }
                        completions.append(Completion(done: done, latency: done - sent))
                    }
                    return completions
                }
            }
        }

        try await Task.sleep(until: origin + warmUp, clock: clock)
        let serverSwitchesBefore = ProcessCPU.contextSwitches(of: serverPID)
        let serverBefore = ProcessCPU.seconds(of: serverPID)
        let clientBefore = ProcessCPU.ownSeconds()
        let windowStart = nanoseconds(since: origin)
        try await Task.sleep(until: origin + warmUp + measured, clock: clock)
        let serverAfter = ProcessCPU.seconds(of: serverPID)
        let serverSwitchesAfter = ProcessCPU.contextSwitches(of: serverPID)
        let clientAfter = ProcessCPU.ownSeconds()
        let windowEnd = nanoseconds(since: origin)
        stop.set()

        var latencies: [UInt64] = []
        for try await completions in group {
            for completion in completions where completion.done >= windowStart && completion.done < windowEnd {
                latencies.append(completion.latency)
            }
        }
        guard !latencies.isEmpty else { throw CompareError("no request completed in the measured window") }
        latencies.sort()
        func percentile(_ p: Double) -> Double {
            Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) / 1000
        }
        let seconds = Double(windowEnd - windowStart) / 1e9
        let count = Double(latencies.count)
        return RunSample(
            requests: latencies.count,
            seconds: seconds,
            requestsPerSecond: count / seconds,
            p50Microseconds: percentile(0.50),
            p99Microseconds: percentile(0.99),
            serverCPUMicrosecondsPerRequest: (serverAfter - serverBefore) * 1e6 / count,
            clientCPUMicrosecondsPerRequest: (clientAfter - clientBefore) * 1e6 / count,
            serverContextSwitchesPerRequest: Double(serverSwitchesAfter - serverSwitchesBefore) / count
        )
    }
}

struct Completion: Sendable {
    var done: UInt64
    var latency: UInt64
}

/// CPU time (user + system) of a process, seconds.
enum ProcessCPU {
    static func ownSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    /// From /proc/<pid>/stat: utime and stime (fields 14 and 15), in clock ticks.
    static func seconds(of pid: Int32) -> Double {
        guard let text = readText("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return .nan }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3); utime is field 14, stime field 15.
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return .nan }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

extension ProcessCPU {
    /// Voluntary and involuntary context switches summed over /proc/<pid>/task/*/status (threads
    /// that ended in between are not counted; the servers keep theirs).
    static func contextSwitches(of pid: Int32) -> Int {
        guard let directory = opendir("/proc/\(pid)/task") else { return 0 }
        defer { closedir(directory) }
        var total = 0
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let _ = Int(name), let status = readText("/proc/\(pid)/task/\(name)/status") else { continue }
            for line in status.split(separator: "\n") where line.contains("ctxt_switches:") {
                total += line.split(separator: "\t").last.flatMap { Int(String($0.filter { !$0.isWhitespace })) } ?? 0
            }
        }
        return total
    }
}

func readText(_ path: String) -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count <= 0 { break }
        bytes.append(contentsOf: buffer[0..<count])
    }
    return String(decoding: bytes, as: UTF8.self)
}
