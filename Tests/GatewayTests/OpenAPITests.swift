@testable import GatewayService
import JSONCoding
import RPCTesting
import Testing

@Suite("Gateway: the OpenAPI document")
struct OpenAPITests {
    @Test("every route is documented with its parameters and problems, and served at /openapi.json")
    func document() async throws {
        try await GatewayFixture.with { gateway in
            let response = try await gateway.request("GET", "/openapi.json")
            #expect(response.status == 200)
            let document = try json(response.body)
            #expect(document["openapi"] == "3.1.0")
            let paths = try #require(document["paths"]?.objectValue)
            var operationIDs = Set<String>()
            for route in GatewayService.routes {
                let operation = try #require(paths[route.path]?[route.method.rawValue.lowercased()], "\(route.method) \(route.path)")
                let id = try #require(operation["operationId"]?.stringValue)
                #expect(operationIDs.insert(id).inserted, "duplicate operationId \(id)")
                let documented = operation["parameters"]?.arrayValue?.filter { $0["in"] == "path" }.compactMap { $0["name"]?.stringValue } ?? []
                #expect(documented == route.pathParameters)
                #expect(operation["responses"]?["403"] != nil)
            }
            let documentedCount = paths.values.reduce(0) { $0 + ($1.objectValue?.count ?? 0) }
            #expect(documentedCount == GatewayService.routes.count)
        }
    }
}
