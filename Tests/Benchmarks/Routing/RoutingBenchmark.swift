import ArgumentParser
import Contracts
import LineProtocol
import Logging
import Postgres
import RoutingService
import ServiceKit
import TestSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Routing figures against a real database, the service in-process over the line protocol:
/// dispatch throughput (pipelined), dispatch latency at a fixed rate offered open-loop (p50/p99,
/// measured from each call's scheduled start so a stall counts against it), one SLA scan
/// (escalations, at-risk warnings, gauges) over a large table of open assignments, and the
/// plans of the scan's queries and the two paged lists. Prints a markdown table and the load
/// average before and after, since other builds may share the machine.
///
///     swift run -c release --scratch-path .build-routing onestop-bench-routing
@main
struct RoutingBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "onestop-bench-routing", abstract: "Routing dispatch and SLA scan figures.")

    @Option(help: "Dispatches in the throughput run.")
    var dispatches = 5_000
    @Option(help: "Dispatches in flight in the throughput run.")
    var inFlight = 32
    @Option(help: "Dispatches per second in the paced latency run.")
    var rate = 200
    @Option(help: "Seconds of the paced latency run.")
    var seconds = 10
    @Option(help: "Open assignments in the table the SLA scan runs over.")
    var openAssignments = 1_000_000
    @Option(help: "Of those, overdue ones the scan escalates.")
    var overdue = 100
    @Option(help: "Of those, ones at 80% of their time the scan warns.")
    var atRisk = 100

    struct Row {
        var scenario: String
        var count: Int
        var seconds: Double
        var p50: Double?
        var p99: Double?
    }

    func run() async throws {
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let loadBefore = Self.loadAverage()
        let clock = Date()
        let settings = RoutingSettings(calendar: try WorkCalendar.bundled, slaInterval: .seconds(86_400), now: { clock })
        let database = try await PostgresCluster.shared().createDatabase(prefix: "bench_routing")
        let closed = [RPCTarget(host: "127.0.0.1", port: 1)]
        var configuration = ServiceConfiguration.forTesting(service: .routing, databaseURL: database.connectionString, peers: [.intake: closed, .notification: closed])
        configuration.databasePoolSize = 16
        let app = ServiceApp(definition: RoutingService.definition(settings: settings), configuration: configuration, logger: logger)
        let (addresses, ready) = AsyncStream<ServiceAddresses>.makeStream()
        var rows: [Row] = []
        var plan = ""
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run { ready.yield($0) } }
            var iterator = addresses.makeAsyncIterator()
            guard let address = await iterator.next() else { return }
            var clientConfiguration = configuration.clientConfiguration(for: .routing)
            clientConfiguration.targets = [address.rpcTarget]
            let client = RPCClient(configuration: clientConfiguration, logger: logger)
            let officer = RPCMeta(actor: RPCActor(id: "bench", roles: [RoutingRole.officer]))
            for department in ["civil", "permits"] {
                _ = try await client.call(RoutingUpsertDepartment.self, .init(code: department, nameZh: department, nameEn: department, head: .init(id: "head-\(department)", name: "Head", email: "head@example.org")), meta: officer)
                for n in 0..<20 {
                    _ = try await client.call(RoutingUpsertHandler.self, .init(id: "\(department)-\(n)", name: "H\(n)", department: department, skills: ["marriage", "housing"], capacity: 50 + n, email: "h\(n)@example.org"), meta: officer)
                }
            }
            _ = try await client.call(RoutingSetRule.self, .init(serviceType: "marriage", department: "permits"), meta: officer)

            // Warm-up.
            for n in 0..<200 { _ = try await dispatch(client, "warm-\(n)") }

            // Throughput: `inFlight` callers, each dispatching in turn.
            let perCaller = dispatches / inFlight
            let started = ContinuousClock.now
            let latencies = try await withThrowingTaskGroup(of: [Double].self) { callers in
                for caller in 0..<inFlight {
                    callers.addTask {
                        var own: [Double] = []
                        for n in 0..<perCaller {
                            let t0 = ContinuousClock.now
                            _ = try await dispatch(client, "tp-\(caller)-\(n)")
                            own.append((ContinuousClock.now - t0).milliseconds)
                        }
                        return own
                    }
                }
                return try await callers.reduce(into: []) { $0 += $1 }
            }
            let elapsed = (ContinuousClock.now - started).milliseconds / 1000
            rows.append(Row(scenario: "dispatch, \(inFlight) in flight", count: latencies.count, seconds: elapsed, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99)))

            // Paced: `rate` per second, each in its own task, for `seconds`.
            let total = rate * seconds
            let interval = Duration.nanoseconds(1_000_000_000 / rate)
            let pacedStart = ContinuousClock.now
            let paced = try await withThrowingTaskGroup(of: Double.self) { calls in
                for n in 0..<total {
                    try await Task.sleep(until: pacedStart + interval * n, clock: .continuous)
                    calls.addTask {
                        // From when the call was due, not when its task got to run.
                        let due = pacedStart + interval * n
                        _ = try await dispatch(client, "paced-\(n)")
                        return (ContinuousClock.now - due).milliseconds
                    }
                }
                return try await calls.reduce(into: []) { $0.append($1) }
            }
            let pacedElapsed = (ContinuousClock.now - pacedStart).milliseconds / 1000
            rows.append(Row(scenario: "dispatch paced at \(rate)/s", count: paced.count, seconds: pacedElapsed, p50: percentile(paced, 0.5), p99: percentile(paced, 0.99)))

            // Many open assignments, filled by SQL in stages; at 10k, 100k and 1M the department
            // queue is read a page at a time through the service (the real path), then the SLA
            // scan runs over the whole table. All bulk cases are civil's, one in 20 urgent and one
            // in 20 special, so the queue's urgency order is exercised.
            let pool = PostgresPool(configuration: database, maxConnections: 2, logger: logger)
            let today = settings.calendar.today(at: clock)
            var filled = 0
            for stage in [10_000, 100_000, openAssignments] where stage > filled {
                try await pool.execute("""
                    INSERT INTO routing_assignments (id, case_id, tracking_number, service_type, service_name, priority,
                        confidentiality, department, handler_id, state, accepted_on, time_limit_days, max_extension_days, due_date,
                        at_risk_on)
                    SELECT gen_random_uuid(), 'bulk-' || n, 'SQ' || n, 'marriage', 'Marriage',
                        CASE n % 20 WHEN 0 THEN 'urgent' WHEN 1 THEN 'special' ELSE 'regular' END, 'normal', 'civil',
                        'civil-' || (n % 20), CASE WHEN n % 2 = 0 THEN 'assigned' ELSE 'in_progress' END,
                        \(today.description)::date, 20, 10, due, due - 4
                    FROM generate_series(\(filled + 1), \(stage)) AS n,
                        LATERAL (SELECT CASE WHEN n <= \(overdue) THEN \(today.description)::date - 3
                            WHEN n <= \(overdue + atRisk) THEN \(today.description)::date + 2
                            ELSE \(today.description)::date + (10 + n % 200)::int END AS due) AS d
                    """)
                filled = stage
                // What autovacuum does to a table this size soon after the load: statistics, and
                // the visibility map the gauges' index-only scan relies on.
                try await pool.execute("VACUUM (ANALYZE) routing_assignments")
                rows += try await measureQueue(client, pool: pool, depth: filled, officer: officer)
            }
            await client.shutdown()

            var plans: [(String, SQL)] = [
                ("overdue scan", SLAMonitor.overdueQuery(today: today, limit: 500)),
                ("at-risk scan", SLAMonitor.atRiskQuery(today: today, limit: 500)),
            ]
            let gauges = SLAMonitor.departmentLoadQueries(today: today)
            plans += [("open gauge", gauges.open), ("at-risk gauge", gauges.atRisk), ("overdue gauge", gauges.overdue)]
            plans += RoutingService.listQueriesForExplain(today: today, handler: "civil-3", department: "civil")
            for (name, query) in plans {
                let explain = try await pool.query("EXPLAIN (ANALYZE, COSTS OFF, BUFFERS) " + query)
                plan += "\(name):\n" + (try explain.map { try $0.decode(String.self, at: 0) }.joined(separator: "\n")) + "\n\n"
            }
            let monitor = SLAMonitor(database: pool, settings: settings, logger: logger)
            let gaugesStart = ContinuousClock.now
            let loads = try await monitor.refreshGauges(today: today)
            rows.append(Row(scenario: "gauges alone over \(openAssignments) open (\(loads.values.map(\.open).reduce(0, +)) counted)", count: 1, seconds: (ContinuousClock.now - gaugesStart).milliseconds / 1000))
            let scanStart = ContinuousClock.now
            let report = try await monitor.scan(now: clock)
            let scanElapsed = (ContinuousClock.now - scanStart).milliseconds / 1000
            rows.append(Row(scenario: "SLA scan over \(openAssignments) open (escalated \(report.escalated), at risk \(report.atRisk), warned \(report.warned), gauges)", count: 1, seconds: scanElapsed))
            let idle = ContinuousClock.now
            let second = try await monitor.scan(now: clock)
            rows.append(Row(scenario: "SLA scan again, nothing new (escalated \(second.escalated))", count: 1, seconds: (ContinuousClock.now - idle).milliseconds / 1000))
            await pool.close()

            await app.triggerGracefulShutdown()
            try await group.waitForAll()
        }

        let loadAfter = Self.loadAverage()
        var out = "Load average (1/5/15 min) before: \(loadBefore); after: \(loadAfter)\n\n| scenario | operations | seconds | per second | p50 ms | p99 ms |\n| --- | ---: | ---: | ---: | ---: | ---: |\n"
        for row in rows {
            let p50 = row.p50.map { String(format: "%.2f", $0) } ?? ""
            let p99 = row.p99.map { String(format: "%.2f", $0) } ?? ""
            out += "| \(row.scenario) | \(row.count) | \(String(format: "%.3f", row.seconds)) | \(Int((Double(row.count) / row.seconds).rounded())) | \(p50) | \(p99) |\n"
        }
        out += "\nPlans (EXPLAIN ANALYZE, BUFFERS):\n\n```\n\(plan)```\n"
        FileHandle.standardOutput.write(Data(out.utf8))
    }

    /// Reads civil's queue, 50 cases a page, as a handler's screen does: the first page again and
    /// again, a walk of consecutive pages, and pages from 90 % deep.
    func measureQueue(_ client: RPCClient, pool: PostgresPool, depth: Int, officer: RPCMeta) async throws -> [Row] {
        func timed(_ count: Int, cursor: (Int) -> String?, carry: Bool = false) async throws -> (latencies: [Double], seconds: Double) {
            var latencies: [Double] = []
            var next: String?
            let started = ContinuousClock.now
            for n in 0..<count {
                let callStart = ContinuousClock.now
                let page = try await client.call(RoutingListDepartmentQueue.self, .init(department: "civil", limit: 50, cursor: carry ? next : cursor(n)), meta: officer)
                latencies.append((ContinuousClock.now - callStart).milliseconds)
                precondition(page.items.count == 50, "the queue ran out of cases at depth \(depth)")
                next = page.nextCursor
            }
            return (latencies, (ContinuousClock.now - started).milliseconds / 1000)
        }
        // The cursor of the case 90 % down the queue, written as routing writes its cursors
        // (ListCursor: version, urgency, due date, id; base64).
        let deep = try await pool.query("""
            SELECT \(unsafeRaw: RoutingService.departmentQueueUrgencyOrder) AS urgency, due_date::text AS due, id::text AS id
            FROM routing_assignments WHERE department = 'civil' AND state <> 'completed'
            ORDER BY \(unsafeRaw: RoutingService.departmentQueueUrgencyOrder), due_date, id OFFSET \(depth * 9 / 10) LIMIT 1
            """)[0]
        let deepCursor = Data("2|\(try deep.decode(Int.self, column: "urgency"))|\(try deep.decode(String.self, column: "due"))|\(try deep.decode(String.self, column: "id"))".utf8).base64EncodedString()
        let first = try await timed(200) { _ in nil }
        let walk = try await timed(200, cursor: { _ in nil }, carry: true)
        let deepPages = try await timed(200) { _ in deepCursor }
        return [
            Row(scenario: "department queue of \(depth): first page (50)", count: 200, seconds: first.seconds, p50: percentile(first.latencies, 0.5), p99: percentile(first.latencies, 0.99)),
            Row(scenario: "department queue of \(depth): 200 pages walked", count: 200, seconds: walk.seconds, p50: percentile(walk.latencies, 0.5), p99: percentile(walk.latencies, 0.99)),
            Row(scenario: "department queue of \(depth): a page 90 % deep", count: 200, seconds: deepPages.seconds, p50: percentile(deepPages.latencies, 0.5), p99: percentile(deepPages.latencies, 0.99)),
        ]
    }

    func dispatch(_ client: RPCClient, _ caseId: String) async throws -> RoutingDispatch.Result {
        try await client.call(RoutingDispatch.self, .init(
            caseId: caseId, trackingNumber: "SQ-\(caseId)", serviceType: caseId.hasSuffix("7") ? "housing" : "marriage",
            serviceName: "Marriage registration", priority: caseId.hasSuffix("3") ? .urgent : .regular, confidentiality: .normal,
            department: "civil", timeLimitWorkingDays: 10, customerName: "Customer", acceptedAt: Date(),
            approvedBy: StaffRef(id: "system", role: "reviewer")
        ), meta: RPCMeta(messageId: "bench-\(caseId)"))
    }

    /// /proc/loadavg's first three fields.
    static func loadAverage() -> String {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "unknown" }
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }

    func percentile(_ values: [Double], _ q: Double) -> Double { LatencySummary(values).percentile(q) }
}

extension Duration {
    var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
