import Contracts
import JSONCoding
import Logging
import NIOCore
import NIOPosix
import Postgres
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The chaos run: cases submitted through the gateway at a steady rate, each with an
/// idempotency key of its own, while a schedule of faults runs (every service and a review
/// worker SIGKILLed in turn, Postgres stopped, notification frozen, the routing → notification
/// link cut); then everything healed, the system drained within a time limit, and every case
/// accounted for from the services' databases and the mail and SMS sinks (`ChaosChecker`).
///
/// The cases are residence permits on the automatic-approval path: intake → review (the
/// worker's checks approve) → routing (dispatch to the permits desk) → notification (the
/// customer's acceptance by SMS and email, the staff assignment by email).
public struct ChaosRun: Sendable {
    public struct Configuration: Sendable {
        /// Cases to submit, and how many a second (open loop).
        public var cases: Int
        public var rate: Int
        /// How long a killed part stays down, the database stays stopped, notification stays
        /// frozen and the link stays cut.
        public var killPause: Duration
        public var databaseOutage: Duration
        public var freeze: Duration
        public var linkCut: Duration
        /// Quiet time between two faults.
        public var gap: Duration
        /// Whether the schedule starts over (cutting the link differently) while cases are still being submitted.
        public var repeatRounds: Bool
        /// How long the healed system gets to bring every case to its end state.
        public var drainLimit: Duration
        /// A client waits this long for an answer, and tries a case this many times (same key).
        public var requestTimeout: Duration
        public var attempts: Int
        public var connections: Int
        /// The faults of each round; nil for `ChaosFault.round(_:)` (every kind).
        public var faults: [ChaosFault]?
        /// Environment settings of parts (a log level, for one).
        public var overrides: [OneStopSystem.Part: [String: String]] = [:]

        /// For `make test`: every fault once, briefly, about 150 cases.
        public static let short = Configuration(
            cases: 150, rate: 5, killPause: .seconds(1), databaseOutage: .seconds(2), freeze: .seconds(3), linkCut: .seconds(3),
            gap: .milliseconds(500), repeatRounds: false, drainLimit: .seconds(60), requestTimeout: .seconds(10), attempts: 3, connections: 16
        )

        /// For `make chaos`: the full 10-second faults, the schedule repeated while `cases` are submitted.
        public static func long(cases: Int = 5000, rate: Int = 25) -> Configuration {
            Configuration(
                cases: cases, rate: rate, killPause: .seconds(5), databaseOutage: .seconds(10), freeze: .seconds(10), linkCut: .seconds(10),
                gap: .seconds(3), repeatRounds: true, drainLimit: .seconds(300), requestTimeout: .seconds(15), attempts: 3, connections: 64
            )
        }

        func hold(for fault: ChaosFault) -> Duration {
            switch fault {
            case .kill: killPause
            case .databaseOutage: databaseOutage
            case .freeze: freeze
            case .linkCut: linkCut
            }
        }
    }

    public let configuration: Configuration
    /// Progress lines (faults injected, the drain); the report comes back from `run()`.
    public let progress: @Sendable (String) -> Void

    public init(_ configuration: Configuration, progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.configuration = configuration
        self.progress = progress
    }

    /// Starts a system of its own (its own Postgres cluster, the proxy on the routing →
    /// notification link), runs the load and the faults, drains, accounts, stops the system.
    public func run() async throws -> ChaosReport {
        // The proxy only where a link is cut (without it, routing talks to notification directly).
        let cutsLinks = (configuration.faults ?? ChaosFault.round(0)).contains { if case .linkCut = $0 { true } else { false } }
        let system = try await OneStopSystem.start(overrides: configuration.overrides, dedicatedDatabase: true, linkFaults: cutsLinks)
        do {
            let report = try await run(on: system)
            await system.stop()
            return report
        } catch {
            let logs = system.logs(lines: 30)
            await system.stop()
            throw EndToEndError("\(error)\n\(logs)")
        }
    }

    private func run(on system: OneStopSystem) async throws -> ChaosReport {
        let hall = try await Hall.setUp(system.api)
        let client = try await KeepAliveHTTPClient(port: system.api.port, connections: configuration.connections,
                                                   timeout: configuration.requestTimeout)
        let runID = UUID().uuidString.prefix(8).lowercased()
        let customers = (0..<configuration.cases).map { Customer.numbered($0, run: String(runID)) }
        let bodies = try customers.enumerated().map { index, customer in
            ByteBuffer(string: try customer.application(Hall.permits.serviceType, materials: Materials.residencePermit,
                                                        idempotencyKey: "chaos-\(runID)-\(index)").jsonString)
        }
        let submissions = Submissions(count: configuration.cases)
        let loadDone = Flag()
        let started = ContinuousClock.now
        progress("chaos: \(configuration.cases) cases at \(configuration.rate)/s")

        let (load, faults) = try await withThrowingTaskGroup(of: Outcome.self) { group in
            group.addTask {
                let result = await OpenLoop.run(rate: configuration.rate, count: configuration.cases) { index in
                    await submit(index, body: bodies[index], client: client, session: hall.officer, into: submissions)
                }
                loadDone.set()
                return .load(result.failures)
            }
            group.addTask {
                .faults(try await schedule(on: system, started: started, loadDone: loadDone))
            }
            var load: [String: Int] = [:]
            var faults: [InjectedFault] = []
            for try await outcome in group {
                switch outcome {
                case .load(let failures): load = failures
                case .faults(let injected): faults = injected
                }
            }
            return (load, faults)
        }
        let loadSeconds = seconds(ContinuousClock.now - started)
        progress("chaos: load and faults done after \(String(format: "%.1f", loadSeconds)) s (\(load.values.reduce(0, +)) cases without a definite answer); healing")
        let restarted = try await heal(system)
        await client.close()

        let checker = try ChaosChecker(system: system, customers: customers, runID: String(runID))
        let account: ChaosAccount
        let drained: Double
        do {
            (account, drained) = try await drain(checker, submissions, system: system)
            await checker.close()
        } catch {
            await checker.close()
            throw error
        }
        return ChaosReport(
            configuration: configuration, faults: faults, account: account, restartedAtHeal: restarted,
            loadSeconds: loadSeconds, drainSeconds: drained, totalSeconds: seconds(ContinuousClock.now - started)
        )
    }

    /// Accounts every second until everything is settled or the drain limit passes, then once
    /// more a few seconds later: redeliveries after a lease or two would show as duplicates.
    private func drain(_ checker: ChaosChecker, _ submissions: Submissions, system: OneStopSystem) async throws -> (ChaosAccount, Double) {
        let started = ContinuousClock.now
        var account = try await checker.account(submissions.all)
        while !account.settled, ContinuousClock.now - started < configuration.drainLimit {
            try await Task.sleep(for: .seconds(1))
            account = try await checker.account(submissions.all)
        }
        let drained = seconds(ContinuousClock.now - started)
        progress("chaos: drained in \(String(format: "%.1f", drained)) s (settled: \(account.settled)); waiting for late duplicates")
        try await Task.sleep(for: .seconds(4))
        account = try await checker.account(submissions.all)
        // A sample: the first few, and a few from the end (they tend to fail differently).
        let unfinished = account.unfinished
        let sample = unfinished.count <= 6 ? unfinished : Array(unfinished.prefix(3) + unfinished.suffix(3))
        for (id, tracking) in sample { account.diagnoses.append(await checker.diagnose(id, tracking: tracking)) }
        if !account.unfinished.isEmpty, let proxy = system.routingToNotification {
            account.diagnoses.append("  routing → notification proxy connections:\n" + proxy.connectionStates.map { "    \($0)" }.joined(separator: "\n"))
            account.diagnoses.append("  event loops: " + (await eventLoopsAnswer()))
            if let port = system.rpcPort(.notification) {
                account.diagnoses.append("  a line to notification directly: \(await firstAnswer(port: port))")
            }
            account.diagnoses.append("  a line to notification through the proxy: \(await firstAnswer(port: proxy.port))")
        }
        for (id, tracking) in account.duplicatedCases.prefix(3) { account.diagnoses.append(await checker.diagnose(id, tracking: tracking)) }
        if !account.unfinished.isEmpty { account.diagnoses.append("  the services' last log lines:\n" + system.logs(lines: 12)) }
        return (account, drained)
    }

    /// Sends one request line to `port` and returns the first bytes answered (or what went wrong)
    /// within 3 s: whether anything listens and answers there at all.
    private func firstAnswer(port: Int) async -> String {
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(3))
                .connect(host: "127.0.0.1", port: port) { channel in
                    channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
                }
            return try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"sys.ping\"}\n"))
                return try await withThrowingTaskGroup(of: String.self) { group in
                    group.addTask {
                        for try await chunk in inbound { return String(buffer: chunk).prefix(120).description }
                        return "closed without an answer"
                    }
                    group.addTask {
                        try await Task.sleep(for: .seconds(3))
                        return "no answer within 3 s"
                    }
                    let first = try await group.next() ?? "?"
                    group.cancelAll()
                    return first
                }
            }
        } catch {
            return "\(error)"
        }
    }

    private func eventLoopsAnswer() async -> String {
        var answers: [String] = []
        for loop in MultiThreadedEventLoopGroup.singleton.makeIterator() {
            let answered = Flag()
            loop.execute { answered.set() }
            try? await Task.sleep(for: .milliseconds(200))
            answers.append(answered.isSet ? "ok" : "BLOCKED")
        }
        return answers.joined(separator: " ")
    }

    private enum Outcome: Sendable {
        case load([String: Int])
        case faults([InjectedFault])
    }

    // MARK: The client

    /// Registers one case, trying again with the same key while the answer is unknown
    /// (a timeout, a broken connection, a 5xx). Returns nil when some attempt got 201.
    private func submit(_ index: Int, body: ByteBuffer, client: KeepAliveHTTPClient, session: GatewayAPI.Session, into submissions: Submissions) async -> String? {
        let cookie = [("Cookie", "onestop_session=\(session.cookie)")]
        var last = "no attempt"
        for attempt in 1...configuration.attempts {
            if attempt > 1 { try? await Task.sleep(for: .seconds(attempt - 1)) }
            do {
                let response = try await client.send(.POST, "/v1/cases", headers: cookie, body: body)
                let json = try? JSON.parse(Array(response.body.readableBytesView))
                switch response.status {
                case 201:
                    submissions.record(index, .created(caseID: json?["caseId"]?.stringValue ?? "", status: json?["status"]?.stringValue ?? ""), attempt: attempt)
                    return nil
                case 500...:
                    last = "HTTP \(response.status)"
                    submissions.record(index, .unknown(last), attempt: attempt)
                default:
                    last = "HTTP \(response.status)"
                    submissions.record(index, .refused(last), attempt: attempt)
                    return last
                }
            } catch {
                last = error is KeepAliveHTTPClient.Timeout ? "timeout" : "connection: \(type(of: error))"
                submissions.record(index, .unknown(last), attempt: attempt)
            }
        }
        return last
    }

    // MARK: The schedule

    private func schedule(on system: OneStopSystem, started: ContinuousClock.Instant, loadDone: Flag) async throws -> [InjectedFault] {
        var injected: [InjectedFault] = []
        var round = 0
        repeat {
            for fault in configuration.faults ?? ChaosFault.round(round) {
                if round > 0, loadDone.isSet { break }
                try await Task.sleep(for: configuration.gap)
                let at = ContinuousClock.now
                progress("chaos: \(String(format: "%6.1f", seconds(at - started))) s  \(fault)")
                var problem: String?
                do {
                    try await system.inject(fault, hold: configuration.hold(for: fault))
                } catch {
                    problem = "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
                    progress("chaos: \(fault) went wrong: \(problem!)")
                }
                injected.append(InjectedFault(fault: fault, at: seconds(at - started), lasted: seconds(ContinuousClock.now - at), problem: problem))
            }
            round += 1
        } while configuration.repeatRounds && !loadDone.isSet
        return injected
    }

    /// Everything back: the link healed, notification running on, the database up, and any
    /// part that is not running (it died by itself) started again; those parts are returned.
    private func heal(_ system: OneStopSystem) async throws -> [OneStopSystem.Part] {
        system.routingToNotification?.heal()
        system.resume(.notification)
        try? await system.startDatabase()  // already running: pg_ctl refuses, nothing to do
        var restarted: [OneStopSystem.Part] = []
        for part in OneStopSystem.Part.allCases where !system.isRunning(part) {
            progress("chaos: \(part.rawValue) was not running at heal time:\n\(system.logs(lines: 10))")
            restarted.append(part)
            try await system.restart(part)
        }
        return restarted
    }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// Set once, read from any task.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

// MARK: What the client saw

/// What the client learnt of one attempt.
enum AttemptOutcome: Sendable {
    case created(caseID: String, status: String)
    /// No answer, or a 5xx: the case may or may not exist.
    case unknown(String)
    /// A definite refusal (4xx): the case must not exist.
    case refused(String)
}

/// Every case's attempts, filled in by the load's tasks.
final class Submissions: Sendable {
    private let attempts: Mutex<[[AttemptOutcome]]>

    init(count: Int) { attempts = Mutex(Array(repeating: [], count: count)) }

    func record(_ index: Int, _ outcome: AttemptOutcome, attempt: Int) {
        attempts.withLock { $0[index].append(outcome) }
    }

    var all: [[AttemptOutcome]] { attempts.withLock { $0 } }
}

extension Customer {
    /// A customer of the chaos run: an identity number, phone and address of their own (random
    /// customers now and then share an identity number, and review flags a second open case of
    /// the same person for a reviewer, off the automatic path).
    static func numbered(_ index: Int, run: String) -> Customer {
        let year = 1950 + index / 3000 % 50
        let day = index / 1000 % 3
        let body = "110101" + String(format: "%04d01%02d%03d", year, day + 1, index % 1000)
        let serial = String(format: "%08d", index)
        return Customer(name: "Chaos \(index)", idNumber: body + residentIDCheckCharacter(body), mobile: "139" + serial,
                        email: "chaos-\(index)-\(run)@example.org")
    }

    /// A counter application with the client's idempotency key.
    func application(_ serviceType: String, materials: [MaterialItem], idempotencyKey: String) throws -> JSON {
        try .encoding(IntakeRegisterCase.Params(
            channel: .counter, serviceType: serviceType, applicantType: .individual,
            applicant: IdentityInput(name: name, idType: "resident_id", idNumber: idNumber),
            contact: ContactInput(phone: mobile, email: email, locale: .en),
            description: "Chaos run application for \(serviceType)", materials: materials, priority: .regular,
            idempotencyKey: idempotencyKey
        ))
    }
}
