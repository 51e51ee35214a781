import ArgumentParser
import Contracts
import Logging
import Messaging
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// `onestop-ops`: the operator's view of reliable messaging in each service's database.
@main
struct OpsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "onestop-ops",
        abstract: "Outbox backlog and lag, dead letters and dead jobs of OneStop services.",
        discussion: """
            Each service's database is reached at ONESTOP_<SERVICE>_DATABASE_URL, or at the local \
            layout of `make run` when unset.
            """,
        subcommands: [Backlog.self, DeadLetters.self, DeadJobs.self]
    )
}

struct ServiceSelection: ParsableArguments {
    @Option(help: "A service name, or all.")
    var service: String = "all"

    func services() throws -> [OneStopService] {
        if service == "all" { return OneStopService.allCases }
        guard let one = OneStopService(rawValue: service) else {
            throw ValidationError("unknown service \(service); one of: \(OneStopService.allCases.map(\.rawValue).joined(separator: ", ")), all")
        }
        return [one]
    }
}

func withOperations<T>(_ service: OneStopService, _ body: (MessagingOperations) async throws -> T) async throws -> T {
    let environment = ProcessInfo.processInfo.environment
    let url = environment["ONESTOP_\(service.rawValue.uppercased())_DATABASE_URL"]
        ?? "postgresql://\(service.defaultDatabaseName)@127.0.0.1:25432/\(service.defaultDatabaseName)?connect_timeout=3"
    var logger = Logger(label: "onestop-ops")
    logger.logLevel = .error
    let pool = PostgresPool(configuration: PostgresConfiguration(connectionString: url), maxConnections: 1, logger: logger)
    do {
        let result = try await body(MessagingOperations(database: pool))
        await pool.close()
        return result
    } catch {
        await pool.close()
        throw error
    }
}

func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { column in ([header[column]] + rows.map { $0[column] }).map(\.count).max() ?? 0 }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
    }
    print(line(header))
    for row in rows { print(line(row)) }
}

func format(_ value: Double?) -> String {
    value.map { String(format: "%.1f", $0) } ?? "-"
}

struct Backlog: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Pending, dead and lag of each service's outbox, and its job queues.")
    @OptionGroup var selection: ServiceSelection

    func run() async throws {
        var rows: [[String]] = []
        for service in try selection.services() {
            do {
                let backlog = try await withOperations(service) { try await $0.backlog() }
                let jobs = backlog.jobs.map { "\($0.key): \($0.value.ready) ready, \($0.value.running) running, \($0.value.dead) dead" }.joined(separator: "; ")
                rows.append([
                    service.rawValue, "\(backlog.pending)", format(backlog.oldestPendingSeconds), "\(backlog.dead)",
                    "\(backlog.deliveredLastFiveMinutes)", format(backlog.lagP50Milliseconds), format(backlog.lagP99Milliseconds), jobs.isEmpty ? "-" : jobs,
                ])
            } catch {
                rows.append([service.rawValue, "unreachable: \(error)", "", "", "", "", "", ""])
            }
        }
        printTable(["service", "pending", "oldest s", "dead", "delivered 5m", "lag p50 ms", "lag p99 ms", "jobs"], rows)
    }
}

struct DeadLetters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "List or replay outbox messages that could not be delivered.",
        subcommands: [ListDeadLetters.self, ReplayDeadLetters.self]
    )
}

struct ListDeadLetters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list")
    @OptionGroup var selection: ServiceSelection
    @Option var limit: Int = 100

    func run() async throws {
        for service in try selection.services() {
            let letters = try await withOperations(service) { try await $0.deadLetters(limit: limit) }
            guard !letters.isEmpty else { continue }
            print("\(service.rawValue):")
            printTable(["id", "to", "method", "key", "attempts", "created", "last error"], letters.map {
                ["\($0.id)", $0.destination, $0.method, $0.aggregateKey, "\($0.attempts)", $0.createdAt.formatted(.iso8601), $0.lastError ?? ""]
            })
        }
    }
}

struct ReplayDeadLetters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "replay", abstract: "Queue dead letters again with a fresh retry budget.")
    @Option(help: "The service whose outbox holds them.") var service: String
    @Option(help: "Message row ids; omit with --all.") var id: [Int64] = []
    @Flag(help: "Replay every dead letter of the service.") var all = false

    func validate() throws {
        guard all != !id.isEmpty else { throw ValidationError("give --id (one or more) or --all") }
        guard OneStopService(rawValue: service) != nil else { throw ValidationError("unknown service \(service)") }
    }

    func run() async throws {
        let ids = all ? nil : id
        let count = try await withOperations(OneStopService(rawValue: service)!) { try await $0.replayDeadLetters(ids: ids) }
        print("\(count) dead letter(s) of \(service) queued again")
    }
}

struct DeadJobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-jobs",
        abstract: "List or replay jobs that used up their attempts.",
        subcommands: [ListDeadJobs.self, ReplayDeadJobs.self]
    )
}

struct ListDeadJobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list")
    @OptionGroup var selection: ServiceSelection
    @Option var limit: Int = 100

    func run() async throws {
        for service in try selection.services() {
            let jobs = try await withOperations(service) { try await $0.deadJobs(limit: limit) }
            guard !jobs.isEmpty else { continue }
            print("\(service.rawValue):")
            printTable(["id", "queue", "attempts", "errors"], jobs.map { ["\($0.id)", $0.queue, "\($0.attempts)", String($0.errors.prefix(200))] })
        }
    }
}

struct ReplayDeadJobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "replay", abstract: "Make dead jobs ready again with a fresh attempt budget.")
    @Option var service: String
    @Option var id: [Int64] = []
    @Flag var all = false

    func validate() throws {
        guard all != !id.isEmpty else { throw ValidationError("give --id (one or more) or --all") }
        guard OneStopService(rawValue: service) != nil else { throw ValidationError("unknown service \(service)") }
    }

    func run() async throws {
        let ids = all ? nil : id
        let count = try await withOperations(OneStopService(rawValue: service)!) { try await $0.replayDeadJobs(ids: ids) }
        print("\(count) dead job(s) of \(service) ready again")
    }
}
