import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An executable of this package started by a test (to be killed with real signals).
public final class ChildProcess: @unchecked Sendable {
    // Process is not Sendable; the test that owns a ChildProcess drives it from one task at a
    // time, and `output` is guarded by the lock.
    private let process: Process
    private let lock = NSLock()
    private var output = ""
    public let name: String

    /// Starts `.build/<config>/<executable>` (found beside the running test binary).
    public init(executable: String, arguments: [String], environment: [String: String] = [:]) throws {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var url = directory.appendingPathComponent(executable)
        if !FileManager.default.isExecutableFile(atPath: url.path) {
            url = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/debug/\(executable)")
        }
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw ChildProcessError(description: "\(executable) is not built; run `swift build --build-tests` first")
        }
        name = executable
        process = Process()
        process.executableURL = url
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.lock()
            self.output += String(decoding: data, as: UTF8.self)
            self.lock.unlock()
        }
        try process.run()
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    public var outputSoFar: String {
        lock.lock()
        defer { lock.unlock() }
        return output
    }

    /// Waits until the output contains `marker`.
    public func waitForOutput(_ marker: String, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !outputSoFar.contains(marker) {
            guard process.isRunning else {
                throw ChildProcessError(description: "\(name) exited (\(process.terminationStatus)) before printing \(marker):\n\(outputSoFar.suffix(2000))")
            }
            guard ContinuousClock.now < deadline else {
                throw ChildProcessError(description: "\(name) did not print \(marker) within \(timeout):\n\(outputSoFar.suffix(2000))")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    public func kill(_ signal: Int32 = SIGKILL) {
        Glibc.kill(process.processIdentifier, signal)
    }

    /// Waits for the process to end; SIGKILLs it after `timeout`.
    public func waitForExit(timeout: Duration = .seconds(30)) async {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline { kill() }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    deinit {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
    }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public let description: String
}
