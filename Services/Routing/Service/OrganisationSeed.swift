import Contracts
import LineProtocol
import Logging
import Postgres
import ServiceLifecycle

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// A starting organisation read from a JSON file (`Organisation/seed.json`, or the file named by
/// `ONESTOP_ROUTING_SEED_FILE`): departments with their heads, handlers with skills and capacity,
/// and rules from service type to department. Applying it only adds what is missing.
struct OrganisationSeed: Sendable, Decodable {
    var departments: [RoutingDepartment]
    var handlers: [RoutingHandler]
    var rules: [RoutingRule]

    /// Every inconsistency of the file (empty names, unknown departments, duplicates, bad capacity).
    func problems() -> [String] {
        var problems: [String] = []
        let codes = departments.map(\.code)
        if Set(codes).count != codes.count { problems.append("a department code appears twice") }
        for d in departments {
            if d.code.isEmpty || d.code.count > 64 { problems.append("department code \(d.code.prefix(70)) must be 1...64 characters") }
            if d.nameZh.isEmpty || d.nameEn.isEmpty { problems.append("department \(d.code) needs nameZh and nameEn") }
            if let head = d.head, head.id.isEmpty || head.name.isEmpty { problems.append("the head of \(d.code) needs an id and a name") }
        }
        let ids = handlers.map(\.id)
        if Set(ids).count != ids.count { problems.append("a handler id appears twice") }
        for h in handlers {
            if h.id.isEmpty || h.id.count > 128 || h.name.isEmpty { problems.append("handler \(h.id.prefix(130)) needs an id (1...128 characters) and a name") }
            if !codes.contains(h.department) { problems.append("handler \(h.id) belongs to \(h.department), which the seed does not define") }
            if !(1...10_000).contains(h.capacity) { problems.append("handler \(h.id) has capacity \(h.capacity); it must be 1...10000") }
            if h.skills.isEmpty || h.skills.contains(where: { $0.isEmpty || $0.count > 64 }) {
                problems.append("handler \(h.id) must list at least one service type (each 1...64 characters)")
            }
        }
        var ruleKeys = Set<String>()
        for r in rules {
            let key = "\(r.serviceType)/\(r.priority?.rawValue ?? "*")"
            if !ruleKeys.insert(key).inserted { problems.append("the rule for \(key) appears twice") }
            if r.serviceType.isEmpty || r.serviceType.count > 64 { problems.append("a rule's serviceType must be 1...64 characters") }
            if !codes.contains(r.department) { problems.append("the rule for \(key) routes to \(r.department), which the seed does not define") }
        }
        return problems
    }

    static func load(contentsOf url: URL) throws -> OrganisationSeed {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw RPCError.internal("cannot read the organisation seed at \(url.path): \(error)")
        }
        let seed: OrganisationSeed
        do { seed = try JSONDecoder().decode(OrganisationSeed.self, from: data) } catch {
            throw RPCError.internal("the organisation seed at \(url.path) is not valid: \(error)")
        }
        let problems = seed.problems()
        guard problems.isEmpty else {
            throw RPCError.internal("the organisation seed at \(url.path): " + problems.joined(separator: "; "))
        }
        return seed
    }

    /// The seed file the settings name, or the one shipped with the service.
    static func load(_ file: URL?) throws -> OrganisationSeed {
        if let file { return try load(contentsOf: file) }
        guard let url = Bundle.module.url(forResource: "seed", withExtension: "json", subdirectory: "Organisation") else {
            throw RPCError.internal("the bundled organisation seed is missing from the service's resources")
        }
        return try load(contentsOf: url)
    }

    /// Adds every missing department, handler and rule in the caller's transaction; existing ones
    /// stay as they are. With `onlyIfEmpty`, an organisation with anything in it is left alone.
    /// Replicas seeding at once are serialised by an advisory lock.
    func apply(onlyIfEmpty: Bool, actor: String, role: String, trace: String?, on c: PostgresConnection) async throws -> RoutingSeedOrganisation.Result {
        try await c.execute("SELECT pg_advisory_xact_lock(hashtext('routing.seedOrganisation'))")
        if onlyIfEmpty {
            let existing = try await c.query("""
                SELECT (SELECT count(*) FROM routing_departments) + (SELECT count(*) FROM routing_handlers)
                    + (SELECT count(*) FROM routing_rules) AS n
                """).first?.decode(Int.self, column: "n") ?? 0
            if existing > 0 {
                return .init(
                    departmentsAdded: 0, handlersAdded: 0, rulesAdded: 0, departmentsKept: 0, handlersKept: 0, rulesKept: 0,
                    skipped: "the organisation is not empty (\(existing) departments, handlers and rules); nothing was seeded"
                )
            }
        }
        var result = RoutingSeedOrganisation.Result(
            departmentsAdded: 0, handlersAdded: 0, rulesAdded: 0, departmentsKept: 0, handlersKept: 0, rulesKept: 0
        )
        for d in departments {
            let added = try await c.query("""
                INSERT INTO routing_departments (code, name_zh, name_en, head_id, head_name, head_email, head_phone)
                VALUES (\(d.code), \(d.nameZh), \(d.nameEn), \(d.head?.id), \(d.head?.name), \(d.head?.email), \(d.head?.phone))
                ON CONFLICT (code) DO NOTHING RETURNING 1 AS added
                """)
            if added.isEmpty { result.departmentsKept += 1 } else { result.departmentsAdded += 1 }
        }
        for h in handlers {
            let added = try await c.query("""
                INSERT INTO routing_handlers (id, name, department, skills, capacity, email, phone, active)
                VALUES (\(h.id), \(h.name), \(h.department), \(h.skills), \(h.capacity), \(h.email), \(h.phone), \(h.active))
                ON CONFLICT (id) DO NOTHING RETURNING 1 AS added
                """)
            if added.isEmpty { result.handlersKept += 1 } else { result.handlersAdded += 1 }
        }
        for r in rules {
            let added = try await c.query("""
                INSERT INTO routing_rules (service_type, priority, department)
                VALUES (\(r.serviceType), \(r.priority?.rawValue ?? "*"), \(r.department))
                ON CONFLICT (service_type, priority) DO NOTHING RETURNING 1 AS added
                """)
            if added.isEmpty { result.rulesKept += 1 } else { result.rulesAdded += 1 }
        }
        if result.departmentsAdded + result.handlersAdded + result.rulesAdded > 0 {
            try await RoutingStore.audit(
                actor: actor, role: role, action: "organisation.seed", subject: "organisation",
                before: nil as String?, after: result, trace: trace, on: c
            )
        }
        return result
    }
}

/// Seeds the organisation once at start when it is empty (`ONESTOP_ROUTING_SEED_ORGANISATION=
/// when-empty`), so a local demo routes cases; a filled organisation is never touched.
struct OrganisationSeeder: Service {
    let database: PostgresPool
    let settings: RoutingSettings
    let logger: Logger

    func run() async throws {
        guard settings.seedOrganisationAtStart else { return }
        var pause = Duration.milliseconds(500)
        for attempt in 1...5 {
            do {
                let seed = try OrganisationSeed.load(settings.organisationSeedFile)
                let result = try await database.withTransaction { c in
                    try await seed.apply(onlyIfEmpty: true, actor: "system", role: "seed_at_start", trace: nil, on: c)
                }
                if let skipped = result.skipped {
                    logger.info("organisation seed skipped", metadata: ["seed.reason": "\(skipped)"])
                } else {
                    logger.info("organisation seeded", metadata: [
                        "seed.departments": "\(result.departmentsAdded)", "seed.handlers": "\(result.handlersAdded)",
                        "seed.rules": "\(result.rulesAdded)",
                    ])
                }
                return
            } catch {
                logger.warning("organisation seed failed", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
                do {
                    try await cancelWhenGracefulShutdown { [pause] in try await Task.sleep(for: pause) }
                } catch {
                    return
                }
                pause *= 2
            }
        }
    }
}
