import Foundation
import Logging
import Postgres
import Synchronization

/// A throwaway PostgreSQL server for tests.
///
/// `shared()` starts one cluster per test process on first use (or uses the server named by
/// `ONESTOP_TEST_PG_URL`, an admin conninfo/URI), and `createDatabase()` gives each test a fresh
/// database so tests run in parallel in isolation. A cluster started here lives in
/// `/tmp/onestop-test-pg-XXXXXX` and is stopped (`pg_ctl stop -m immediate`) and deleted at process
/// exit. Tests that restart the server should use `startDedicated()` so they do not disturb others.
public final class PostgresCluster: Sendable {
    /// Conninfo for the `postgres` database as a superuser.
    public let adminConfiguration: PostgresConfiguration
    /// The data directory, or nil for an external server.
    public let dataDirectory: String?
    /// The TCP port on 127.0.0.1, or nil for an external server.
    public let port: Int?

    private static let binDirectory = ProcessInfo.processInfo.environment["ONESTOP_PG_BIN"] ?? "/usr/lib/postgresql/15/bin"
    private static let sharedCluster = Mutex<Task<PostgresCluster, any Error>?>(nil)
    private static let logger = Logger(label: "onestop.test.postgres")

    private init(adminConfiguration: PostgresConfiguration, dataDirectory: String?, port: Int?) {
        self.adminConfiguration = adminConfiguration
        self.dataDirectory = dataDirectory
        self.port = port
    }

    // MARK: Getting a cluster

    /// The process-wide cluster, started on first call.
    public static func shared() async throws -> PostgresCluster {
        let task = sharedCluster.withLock { task in
            if let task { return task }
            let started = Task {
                if let url = ProcessInfo.processInfo.environment["ONESTOP_TEST_PG_URL"], !url.isEmpty {
                    return PostgresCluster(
                        adminConfiguration: PostgresConfiguration(connectionString: url), dataDirectory: nil, port: nil
                    )
                }
                return try await startLocal()
            }
            task = started
            return started
        }
        return try await task.value
    }

    /// A cluster of its own (for tests that restart or break the server). Call `stop()` when done;
    /// it is also stopped at process exit.
    public static func startDedicated() async throws -> PostgresCluster {
        try await startLocal()
    }

    // MARK: Using it

    /// Creates a fresh, uniquely named database and returns a configuration for it.
    public func createDatabase(prefix: String = "t") async throws -> PostgresConfiguration {
        let safePrefix = String(prefix.lowercased().filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }.prefix(30))
        let name = "\(safePrefix.isEmpty ? "t" : safePrefix)_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16))"
        let admin = try await PostgresConnection.connect(adminConfiguration, logger: Self.logger)
        do {
            try await admin.simpleQuery("CREATE DATABASE \"\(name)\"")
        } catch {
            await admin.close()
            throw error
        }
        await admin.close()
        var configuration = try adminConfiguration.withDatabase(name)
        configuration.applicationName = "onestop-tests"
        return configuration
    }

    /// Restarts the server (`pg_ctl restart -m fast`): every open session breaks. Affects all tests
    /// sharing this cluster; prefer a dedicated cluster.
    public func restart() async throws {
        guard let dataDirectory else {
            throw ClusterError("cannot restart the external server from ONESTOP_TEST_PG_URL; use startDedicated()")
        }
        try await Self.runAsPostgres(Self.binDirectory + "/pg_ctl", ["-D", dataDirectory, "-m", "fast", "-w", "restart"])
    }

    /// Stops the server (`pg_ctl stop -m fast`: sessions are cut, the data stays) until
    /// `startServer()`: the database outage of the chaos run. Dedicated clusters only.
    public func stopServer() async throws {
        guard let dataDirectory else { throw ClusterError("cannot stop the external server from ONESTOP_TEST_PG_URL; use startDedicated()") }
        try await Self.runAsPostgres(Self.binDirectory + "/pg_ctl", ["-D", dataDirectory, "-m", "fast", "-w", "-t", "60", "stop"])
    }

    /// Starts the server again after `stopServer()`, on the same port with the same settings.
    public func startServer() async throws {
        guard let dataDirectory, let port else { throw ClusterError("cannot start the external server from ONESTOP_TEST_PG_URL") }
        let log = (dataDirectory as NSString).deletingLastPathComponent + "/server.log"
        try await Self.runAsPostgres(
            Self.binDirectory + "/pg_ctl", ["-D", dataDirectory, "-o", Self.serverOptions(port: port), "-l", log, "-w", "-t", "60", "start"]
        )
    }

    /// Stops the server immediately and deletes its directory. Not for the shared cluster.
    public func stop() async throws {
        guard let dataDirectory else { return }
        Self.stopNow(dataDirectory: dataDirectory)
        let root = (dataDirectory as NSString).deletingLastPathComponent
        registeredClusters.withLock { $0.removeAll { $0 == root } }
    }

    // MARK: Starting

    private static func startLocal() async throws -> PostgresCluster {
        let directory = try makeDirectory()
        registeredClusters.withLock { $0.append(directory) }
        registerExitHandler()
        let dataDirectory = directory + "/data"
        try await runAsPostgres(binDirectory + "/initdb", ["-D", dataDirectory, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-instructions"])
        var lastError: (any Error)?
        for _ in 0..<5 {
            let port = try freeLocalPort()
            let options = serverOptions(port: port)
            do {
                try await runAsPostgres(
                    binDirectory + "/pg_ctl",
                    ["-D", dataDirectory, "-o", options, "-l", directory + "/server.log", "-w", "-t", "60", "start"]
                )
                // A generous connect timeout: the whole suite starts hundreds of services at once
                // on two cores, and a backend fork can wait its turn for several seconds.
                let admin = PostgresConfiguration(
                    connectionString: "host=127.0.0.1 port=\(port) user=postgres dbname=postgres connect_timeout=60"
                )
                return PostgresCluster(adminConfiguration: admin, dataDirectory: dataDirectory, port: port)
            } catch {
                lastError = error  // most likely the port was taken in between; try another
            }
        }
        throw lastError ?? ClusterError("could not start PostgreSQL")
    }

    private static func serverOptions(port: Int) -> String {
        "-p \(port) -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=1500"
    }

    private static func makeDirectory() throws -> String {
        var template = Array("/tmp/onestop-test-pg-XXXXXX".utf8CString)
        guard let pointer = mkdtemp(&template) else {
            throw ClusterError("mkdtemp failed (errno \(errno)); is /tmp writable?")
        }
        let path = String(cString: pointer)
        if geteuid() == 0 {
            guard let user = getpwnam("postgres") else {
                throw ClusterError("running as root but there is no postgres user to run initdb as")
            }
            chown(path, user.pointee.pw_uid, user.pointee.pw_gid)
        }
        return path
    }

    /// Runs a PostgreSQL tool, as the `postgres` user when this process is root (initdb refuses root).
    /// The blocking wait happens on a thread of its own, not on the cooperative pool.
    static func runAsPostgres(_ tool: String, _ arguments: [String]) async throws {
        let (executable, fullArguments) = geteuid() == 0
            ? ("/usr/sbin/runuser", ["-u", "postgres", "--", tool] + arguments)
            : (tool, arguments)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let thread = Thread {
                continuation.resume(with: Result { try run(executable, fullArguments) })
            }
            thread.name = "postgres-cluster-command"
            thread.start()
        }
    }

    /// Spawns `executable` and waits for it (blocking). Stderr goes to a temp file that becomes the
    /// error message on failure. (posix_spawn + waitpid: Foundation's Process could leave the child
    /// unreaped here.)
    private static func run(_ executable: String, _ arguments: [String]) throws {
        let errorFile = NSTemporaryDirectory() + "onestop-pg-cmd-\(UUID().uuidString).err"
        defer { unlink(errorFile) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, errorFile, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        closeInheritedDescriptors(&actions)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else {
            throw ClusterError("could not run \(executable) (errno \(spawned))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw ClusterError("waitpid failed for \(executable) (errno \(errno))") }
        }
        let exitedNormally = status & 0x7f == 0
        let exitCode = (status >> 8) & 0xff
        guard exitedNormally, exitCode == 0 else {
            let stderr = (try? String(contentsOfFile: errorFile, encoding: .utf8)) ?? ""
            let tool = arguments.first { $0.hasPrefix("/") } ?? executable
            throw ClusterError("\(tool) failed (wait status \(status)): \(stderr)")
        }
    }

    fileprivate static func stopNow(dataDirectory: String) {
        let pgCtl = binDirectory + "/pg_ctl"
        let (executable, arguments) = geteuid() == 0
            ? ("/usr/sbin/runuser", ["-u", "postgres", "--", pgCtl, "-D", dataDirectory, "-m", "immediate", "-w", "stop"])
            : (pgCtl, ["-D", dataDirectory, "-m", "immediate", "-w", "stop"])
        try? run(executable, arguments)
        let root = (dataDirectory as NSString).deletingLastPathComponent
        try? FileManager.default.removeItem(atPath: root.hasPrefix("/tmp/onestop-test-pg-") ? root : dataDirectory)
    }

    private static let exitHandlerInstalled = Atomic<Bool>(false)

    private static func registerExitHandler() {
        guard !exitHandlerInstalled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        atexit {
            let clusters = registeredClusters.withLock { clusters in
                defer { clusters = [] }
                return clusters
            }
            for directory in clusters { PostgresCluster.stopNow(dataDirectory: directory + "/data") }
        }
    }
}

/// Data directories (their parent temp dirs) of clusters to stop at exit; read by the atexit handler.
private let registeredClusters = Mutex<[String]>([])

/// A failure to start or control the test cluster.
public struct ClusterError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
