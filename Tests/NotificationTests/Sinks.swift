import JSONCoding
import TestSupport

#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A Python stand-in server (aiosmtpd, or the SMS gateway) started by a test, writing what it
/// received to a file of JSON lines.
final class SinkProcess: Sendable {
    // Started through ChildProcess (posix_spawn): Foundation's Process.run() can crash on Linux.
    private let process: ChildProcess
    let port: Int
    let recordsFile: URL
    /// Started with `--smtps`: TLS from the first byte.
    let implicitTLS: Bool

    static let sinksDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Sinks")

    /// Starts `Sinks/<script>` with `/usr/bin/python3` (Debian's, which has aiosmtpd).
    init(script: String, arguments: [String] = []) async throws {
        implicitTLS = arguments.contains("--smtps")
        recordsFile = FileManager.default.temporaryDirectory.appendingPathComponent("onestop-sink-\(UUID().uuidString).jsonl")
        _ = FileManager.default.createFile(atPath: recordsFile.path, contents: nil)
        process = try ChildProcess(
            path: "/usr/bin/python3", name: script,
            arguments: [Self.sinksDirectory.appendingPathComponent(script).path, recordsFile.path] + arguments
        )
        let deadline = ContinuousClock.now + .seconds(20)
        var found: Int?
        while found == nil {
            let text = process.outputSoFar
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("READY ") }) {
                found = Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
            } else if !process.isRunning || ContinuousClock.now > deadline {
                process.kill()
                throw SinkError(description: "\(script) did not start: \(text.suffix(2000))")
            } else {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        port = found!
    }

    var url: String { "http://127.0.0.1:\(port)/sms" }
    var smtpURL: String { "\(implicitTLS ? "smtps" : "smtp")://127.0.0.1:\(port)" }

    /// Every record received so far.
    func records() -> [JSON] {
        guard let data = FileManager.default.contents(atPath: recordsFile.path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { try? JSON.parse(String($0)) }
    }

    /// Waits until at least `count` records arrived.
    @discardableResult
    func waitForRecords(_ count: Int, timeout: Duration = .seconds(30)) async throws -> [JSON] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let records = records()
            if records.count >= count { return records }
            guard ContinuousClock.now < deadline else {
                throw SinkError(description: "expected \(count) records at the sink, got \(records.count)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Tells the SMS sink how to answer the next `count` requests.
    func setMode(_ mode: String, count: Int? = nil, retryAfter: Int = 1) async throws {
        var pairs: [(String, JSON)] = [("mode", .string(mode)), ("retryAfter", .integer(Int64(retryAfter)))]
        if let count { pairs.append(("count", .integer(Int64(count)))) }
        let body = JSON.object(JSONObject(pairs))
        let request = "POST /_mode HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.jsonString.utf8.count)\r\nConnection: close\r\n\r\n\(body.jsonString)"
        try Self.rawHTTP(port: port, request: request)
    }

    static func rawHTTP(port: Int, request: String) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SinkError(description: "socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw SinkError(description: "connect to \(port) failed") }
        let bytes = Array(request.utf8)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        _ = recv(fd, &buffer, buffer.count, 0)
    }

    /// Kills the sink (ChildProcess reaps it).
    func stop() {
        process.kill()
        try? FileManager.default.removeItem(at: recordsFile)
    }
}

struct SinkError: Error, CustomStringConvertible {
    let description: String
}
