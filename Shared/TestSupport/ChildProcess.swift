import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// An executable started by a test (to be killed with real signals), its output collected.
///
/// Spawned with `posix_spawn`, not Foundation's `Process`: on Linux, `Process.run()` crashes now
/// and then (swift-corelibs-foundation #5472, an over-read while listing `/proc/self/fd`), which
/// takes the whole test process down, and the suites here start many children.
public final class ChildProcess: Sendable {
    private struct State {
        var output = ""
        /// The wait status once the child has been reaped.
        var exitStatus: Int32?
    }

    /// Shared with the thread that reads the output.
    private final class Box: Sendable {
        let state = Mutex(State())
    }

    private let box = Box()
    public let name: String
    public let pid: Int32

    /// Starts `.build/<config>/<executable>` (found beside the running test binary).
    public convenience init(executable: String, arguments: [String], environment: [String: String] = [:]) throws {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var url = directory.appendingPathComponent(executable)
        if !FileManager.default.isExecutableFile(atPath: url.path) {
            url = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/debug/\(executable)")
        }
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw ChildProcessError(description: "\(executable) is not built; run `swift build --build-tests` first")
        }
        try self.init(path: url.path, name: executable, arguments: arguments, environment: environment)
    }

    /// Starts any executable by its path, with this process's environment plus `environment`;
    /// stdout and stderr are collected, stdin is /dev/null.
    public init(path: String, name: String? = nil, arguments: [String], environment: [String: String] = [:]) throws {
        self.name = name ?? (path as NSString).lastPathComponent
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw ChildProcessError(description: "pipe failed (errno \(errno))") }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        // Neither end stays open in other children (the dup2s below give this one its stdout and stderr).
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 2)
        closeInheritedDescriptors(&actions)

        let variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var child = pid_t()
        let spawned = posix_spawn(&child, path, &actions, nil, argv, envp)
        close(writeEnd)
        guard spawned == 0 else {
            close(readEnd)
            throw ChildProcessError(description: "could not start \(path) (errno \(spawned))")
        }
        pid = child

        // A thread of its own drains the pipe (blocking reads, off the cooperative pool) until
        // every writer has exited.
        let reader = Thread { [box] in
            var buffer = [UInt8](repeating: 0, count: 16 * 1024)
            while true {
                let count = read(readEnd, &buffer, buffer.count)
                if count > 0 {
                    let text = String(decoding: buffer[..<count], as: UTF8.self)
                    box.state.withLock { $0.output += text }
                } else if count < 0, errno == EINTR {
                    continue
                } else {
                    break
                }
            }
            close(readEnd)
        }
        reader.name = "child-output-\(self.name)"
        reader.start()
    }

    /// Whether the child still runs (reaps it once it has ended).
    public var isRunning: Bool {
        box.state.withLock { state in
            guard state.exitStatus == nil else { return false }
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                state.exitStatus = status
                return false
            }
            return result == 0
        }
    }

    /// The exit code (or 128 + signal) once the child has ended.
    public var terminationStatus: Int32? {
        _ = isRunning
        return box.state.withLock { state in
            state.exitStatus.map { status in status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f) }
        }
    }

    public var outputSoFar: String {
        box.state.withLock { $0.output }
    }

    /// Waits until the output contains `marker`.
    public func waitForOutput(_ marker: String, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !outputSoFar.contains(marker) {
            guard isRunning else {
                throw ChildProcessError(description: "\(name) exited (\(terminationStatus ?? -1)) before printing \(marker):\n\(outputSoFar.suffix(2000))")
            }
            guard ContinuousClock.now < deadline else {
                throw ChildProcessError(description: "\(name) did not print \(marker) within \(timeout):\n\(outputSoFar.suffix(2000))")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    public func kill(_ signal: Int32 = SIGKILL) {
        guard isRunning else { return }
        Glibc.kill(pid, signal)
    }

    /// Waits for the process to end; SIGKILLs it after `timeout`.
    public func waitForExit(timeout: Duration = .seconds(30)) async {
        let deadline = ContinuousClock.now + timeout
        while isRunning {
            if ContinuousClock.now > deadline { kill() }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    deinit {
        if isRunning {
            Glibc.kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
        }
    }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public let description: String
}
