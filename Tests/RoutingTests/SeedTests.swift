import Contracts
import LineProtocol
import Postgres
import RoutingService
import ServiceKit
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

@Suite("Seeding the organisation: adds what is missing, never overwrites edits")
struct SeedTests {
    @Test func theSeedAddsDepartmentsHandlersAndRulesSoCasesAreRouted() async throws {
        try await RoutingFixture.run { f in
            let seeded = try await f.call(RoutingSeedOrganisation.self, .init())
            #expect(seeded == RoutingSeedOrganisation.Result(departmentsAdded: 7, handlersAdded: 14, rulesAdded: 10, departmentsKept: 0, handlersKept: 0, rulesKept: 0))
            let organisation = try await f.call(RoutingListOrganisation.self, .init())
            #expect(organisation.departments.count == 7 && organisation.departments.allSatisfy { $0.head != nil })
            #expect(organisation.handlers.count == 14 && organisation.rules.count == 10)

            // A birth registration goes to public security and one of its handlers.
            let routed = try await f.dispatch("birth-1", serviceType: "birth_registration", department: "public_security", limit: 1)
            #expect(routed.department == "public_security")
            #expect(routed.handler?.id.hasPrefix("public-security-") == true)
        }
    }

    @Test func seedingAgainKeepsEveryEditAndAddsOnlyWhatIsMissing() async throws {
        try await RoutingFixture.run { f in
            _ = try await f.call(RoutingSeedOrganisation.self, .init())
            // An officer edits a head and a handler, and removes a rule.
            _ = try await f.call(RoutingUpsertDepartment.self, .init(
                code: "taxation", nameZh: "税务局", nameEn: "Tax Bureau", head: .init(id: "new-head", name: "New Head")
            ))
            _ = try await f.call(RoutingUpsertHandler.self, .init(
                id: "taxation-1", name: "Renamed", department: "taxation", skills: ["tax_certificate"], capacity: 3, active: false
            ))
            _ = try await f.call(RoutingSetRule.self, .init(serviceType: "tax_certificate", department: nil))

            let again = try await f.call(RoutingSeedOrganisation.self, .init())
            #expect(again == RoutingSeedOrganisation.Result(departmentsAdded: 0, handlersAdded: 0, rulesAdded: 1, departmentsKept: 7, handlersKept: 14, rulesKept: 9))
            let organisation = try await f.call(RoutingListOrganisation.self, .init())
            let taxation = try #require(organisation.departments.first { $0.code == "taxation" })
            #expect(taxation.nameZh == "税务局" && taxation.head?.id == "new-head")
            let handler = try #require(organisation.handlers.first { $0.id == "taxation-1" })
            #expect(handler.name == "Renamed" && handler.capacity == 3 && !handler.active)

            // Only when empty: an organisation with anything in it is left alone.
            let skipped = try await f.call(RoutingSeedOrganisation.self, .init(onlyIfEmpty: true))
            #expect(skipped.skipped != nil && skipped.departmentsAdded + skipped.handlersAdded + skipped.rulesAdded == 0)
        }
    }

    @Test func onlyARoutingOfficerMaySeedAndARefusalChangesNothing() async throws {
        try await RoutingFixture.run { f in
            #expect(await f.failure(RoutingSeedOrganisation.self, .init(), as: Staff.person("c-1")) == .forbidden)
            #expect(await f.failure(RoutingSeedOrganisation.self, .init(), as: RPCMeta()) == .forbidden)
            let rows = try await f.count("routing_departments") + f.count("routing_handlers") + f.count("routing_audit")
            #expect(rows == 0)
        }
    }

    @Test func anEmptyOrganisationIsSeededAtStartWhenConfigured() async throws {
        try await RoutingFixture.run(seedAtStart: true) { f in
            var departments = 0
            for _ in 0..<100 where departments < 7 {
                departments = try await f.call(RoutingListOrganisation.self, .init()).departments.count
                if departments < 7 { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(departments == 7)
            #expect(try await f.count("routing_handlers") == 14)
        }
    }

    @Test func theShippedSeedHasARuleForEveryCatalogServiceTypeToItsCatalogDepartment() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        struct Catalog: Decodable {
            struct ServiceType: Decodable { var code: String; var department: String }
            var serviceTypes: [ServiceType]
        }
        struct Seed: Decodable {
            var rules: [RoutingRule]
            var handlers: [RoutingHandler]
        }
        let catalog = try JSONDecoder().decode(Catalog.self, from: Data(contentsOf: root.appending(path: "Services/Intake/Service/Catalog/catalog.json")))
        let seed = try JSONDecoder().decode(Seed.self, from: Data(contentsOf: root.appending(path: "Services/Routing/Service/Organisation/seed.json")))
        let rules = Dictionary(uniqueKeysWithValues: seed.rules.map { ($0.serviceType, $0.department) })
        for type in catalog.serviceTypes {
            #expect(rules[type.code] == type.department, "\(type.code)")
            // Someone in that department can process it.
            #expect(seed.handlers.contains { $0.department == type.department && $0.skills.contains(type.code) }, "\(type.code)")
        }
    }
}
