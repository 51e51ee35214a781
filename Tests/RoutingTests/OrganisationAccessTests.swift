import Contracts
import LineProtocol
import Testing

@Suite("Routing: who may maintain the organisation")
struct OrganisationAccessTests {
    /// The gateway lets administrators maintain the organisation and sends their role as
    /// `administrator` in `_meta.actor.roles`; routing must accept it as well as a routing officer.
    @Test func anAdministratorAsTheGatewayNamesThemMayMaintainTheOrganisation() async throws {
        try await RoutingFixture.run { routing in
            let administrator = RPCMeta(actor: RPCActor(id: "admin", roles: [StaffRole.administrator.rawValue]))
            let department = try await routing.call(RoutingUpsertDepartment.self, .init(code: "civil", nameZh: "民政科", nameEn: "Civil Affairs"), as: administrator)
            #expect(department.code == "civil")
            let handler = try await routing.call(RoutingUpsertHandler.self, .init(id: "h-1", name: "H", department: "civil", skills: ["marriage"], capacity: 2), as: administrator)
            #expect(handler.id == "h-1")
            #expect(await routing.failure(RoutingUpsertDepartment.self, .init(code: "other", nameZh: "x", nameEn: "x"), as: Staff.person("clerk")) == .forbidden)
        }
    }
}
