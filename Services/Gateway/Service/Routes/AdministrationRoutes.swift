import Contracts
import Hummingbird
import JSONCoding

/// The catalog and the organisation, kept by administrators and routing officers.
enum AdministrationRoutes {
    static var routes: [RouteSpec] {
        [
            .forward(.put, "/v1/catalog/{code}", .manageCatalog, tag: "administration",
                     summary: "Add or change a service type (a new version; cases keep the version they were registered under).",
                     to: .intake, IntakeUpsertServiceType.name, body: .object(required: true)),
            .forward(.get, "/v1/organisation", .readOrganisation, tag: "administration", summary: "Departments, handlers and routing rules.",
                     to: .routing, RoutingListOrganisation.name, idempotent: true),
            .forward(.put, "/v1/organisation/departments/{id}", .manageOrganisation, tag: "administration", summary: "Add or change a department.",
                     to: .routing, RoutingUpsertDepartment.name, body: .object(required: true)),
            .forward(.put, "/v1/organisation/handlers/{id}", .manageOrganisation, tag: "administration",
                     summary: "Add or change a handler (skills, capacity, department).",
                     to: .routing, RoutingUpsertHandler.name, body: .object(required: true)),
            .forward(.put, "/v1/organisation/rules/{serviceType}", .manageOrganisation, tag: "administration",
                     summary: "Which department handles a service type (with overrides by priority).",
                     to: .routing, RoutingSetRule.name, body: .object(required: true)),
        ]
    }
}
