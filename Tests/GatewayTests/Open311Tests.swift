import Contracts
@testable import GatewayService
import JSONCoding
import RPCTesting
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Open311 GeoReport v2 through a real gateway (intake played by the stub backend): every JSON
/// answer is validated against the published GeoReport v2 JSON Schemas with Python's jsonschema,
/// every XML answer is parsed and checked for the spec's element names.
@Suite("Gateway: Open311 GeoReport v2")
struct Open311Tests {
    // MARK: Discovery, services and definitions

    @Test("discovery, the service list and the service definitions follow the GeoReport v2 schemas")
    func servicesFollowTheSchemas() async throws {
        try await GatewayFixture.with { gateway in
            let discovery = try json(try await gateway.request("GET", "/open311/v2/discovery.json").body)
            let endpoint = try #require(discovery["endpoints"]?[0])
            #expect(endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2")
            #expect(endpoint["formats"] == ["application/json", "text/xml"])
            #expect(endpoint["url"]?.stringValue?.hasSuffix("/open311/v2") == true)

            let services = try await gateway.request("GET", "/open311/v2/services.json", headers: [("Accept-Language", "zh-CN")])
            #expect(services.status == 200)
            #expect(services.headers["content-type"]?.hasPrefix("application/json") == true)
            try Self.expectValid(services.body, "services.json")
            let list = try #require(try json(services.body).arrayValue)
            #expect(list.compactMap { $0["service_code"]?.stringValue } == ["residence_permit", "business_licence"], "only what can be applied for online")
            #expect(list[0]["service_name"] == "居住证办理")
            #expect(list[0]["metadata"] == true)
            #expect(list[0]["type"] == "batch")
            #expect(list[0]["group"] == "civil-affairs")
            let english = try json(try await gateway.request("GET", "/open311/v2/services.json?locale=en", headers: [("Accept-Language", "zh-CN")]).body)
            #expect(english[0]?["service_name"] == "Residence permit")

            for code in ["residence_permit", "business_licence"] {
                let definition = try await gateway.request("GET", "/open311/v2/services/\(code).json")
                #expect(definition.status == 200, "\(definition.body)")
                try Self.expectValid(definition.body, "service-definition.json")
                let attributes = try #require(try json(definition.body)["attributes"]?.arrayValue)
                let codes = attributes.compactMap { $0["code"]?.stringValue }
                for needed in ["applicant_type", "applicant_name", "id_type", "id_number", "phone", "email", "materials"] {
                    #expect(codes.contains(needed), "\(code) lacks \(needed)")
                }
                #expect(attributes.allSatisfy { $0["required"]?.boolValue != nil && $0["variable"]?.boolValue != nil }, "real JSON booleans")
            }
            let permit = try json(try await gateway.request("GET", "/open311/v2/services/residence_permit.json").body)
            let materials = try #require(permit["attributes"]?.arrayValue?.first { $0["code"] == "materials" })
            #expect(materials["datatype"] == "multivaluelist")
            #expect(materials["values"]?.arrayValue?.compactMap { $0["key"]?.stringValue } == ["id_card", "photo", "residence_proof"])

            let unknown = try await gateway.request("GET", "/open311/v2/services/passport_counter.json")
            #expect(unknown.status == 404)
            #expect(try json(unknown.body)[0]?["code"] == 404)
        }
    }

    @Test("XML answers are well-formed and use the element names of the specification")
    func xmlUsesTheSpecElementNames() async throws {
        try await GatewayFixture.with { gateway in
            let key = try await Self.apiKey(gateway)
            let expectations: [(String, String, String?, String, Set<String>)] = [
                ("GET", "/open311/v2/discovery.xml", nil, "discovery", ["changeset", "contact", "key_service", "endpoints", "endpoint", "specification", "url", "type", "formats", "format"]),
                ("GET", "/open311/v2/services.xml", nil, "services", ["service", "service_code", "service_name", "description", "metadata", "type", "keywords", "group"]),
                ("GET", "/open311/v2/services/residence_permit.xml", nil, "service_definition",
                 ["service_code", "attributes", "attribute", "variable", "code", "datatype", "required", "datatype_description", "order", "description", "values", "value", "key", "name"]),
                ("POST", "/open311/v2/requests.xml", Self.form(Self.application(key: key)), "service_requests", ["request", "service_request_id", "service_notice", "token", "account_id"]),
                ("GET", "/open311/v2/requests.xml?api_key=\(key)", nil, "service_requests",
                 ["request", "service_request_id", "status", "status_notes", "service_name", "service_code", "agency_responsible", "requested_datetime", "expected_datetime"]),
                ("POST", "/open311/v2/requests.xml", Self.form([("service_code", "residence_permit")]), "errors", ["error", "code", "description"]),
            ]
            for (method, path, body, root, elements) in expectations {
                let response = try await gateway.request(method, path, json: body, headers: body == nil ? [] : [("Content-Type", "application/x-www-form-urlencoded")])
                #expect(response.headers["content-type"]?.hasPrefix("text/xml") == true, "\(path)")
                let shape = try Self.xmlShape(response.body)
                #expect(shape.root == root, "\(method) \(path): \(response.body.prefix(300))")
                #expect(elements.isSubset(of: shape.elements), "\(method) \(path) lacks \(elements.subtracting(shape.elements).sorted())")
            }
            let text = try await gateway.request("GET", "/open311/v2/services.xml")
            #expect(text.body.contains("<metadata>true</metadata>"))
        }
    }

    // MARK: POST requests

    @Test("a POST without a usable api_key is refused in Open311's format and registers nothing")
    func postWithoutAPIKeyIsRefused() async throws {
        try await GatewayFixture.with { gateway in
            let admin = try await gateway.adminSession()
            let unscoped = try json(try await gateway.request("POST", "/v1/tokens", json: #"{"name": "reports", "roles": ["supervisor"], "scopes": ["reports"]}"#, cookie: admin).body)["token"]?.stringValue
            let form = Self.form(Self.application(key: nil))
            let formHeader = [("Content-Type", "application/x-www-form-urlencoded")]

            let none = try await gateway.request("POST", "/open311/v2/requests.json", json: form, headers: formHeader)
            #expect(none.status == 401)
            let errors = try #require(try json(none.body).arrayValue)
            #expect(errors.first?["code"] == 401)
            #expect(errors.first?["description"]?.stringValue?.contains("api_key") == true)

            let wrong = try await gateway.request("POST", "/open311/v2/requests.json", json: form + "&api_key=ost_not-a-key", headers: formHeader)
            #expect(wrong.status == 401)
            #expect(try json(wrong.body)[0]?["code"] == 401)

            let badBearer = try await gateway.request("POST", "/open311/v2/requests.xml", json: form, headers: formHeader + [("Authorization", "Bearer ost_nope")])
            #expect(badBearer.status == 401)
            #expect(try Self.xmlShape(badBearer.body).root == "errors")

            let lacksScope = try await gateway.request("POST", "/open311/v2/requests.json", json: form + "&api_key=\(try #require(unscoped))", headers: formHeader)
            #expect(lacksScope.status == 403)
            #expect(try json(lacksScope.body)[0]?["code"] == 403)

            let session = try await gateway.request("POST", "/open311/v2/requests.json", json: form, cookie: admin, headers: formHeader)
            #expect(session.status == 401, "a staff session is not an api_key")

            #expect(gateway.backend?.count(IntakeRegisterCase.name) == 0)
        }
    }

    @Test("a form POST with an api_key registers one online case and answers its tracking number and token")
    func postWithAPIKeyRegisters() async throws {
        try await GatewayFixture.with { gateway in
            let key = try await Self.apiKey(gateway)
            let form = Self.form(Self.application(key: key))
            let created = try await gateway.request("POST", "/open311/v2/requests.json", json: form, headers: [("Content-Type", "application/x-www-form-urlencoded")])
            #expect(created.status == 200, "\(created.body)")
            try Self.expectValid(created.body, "requests.json", item: false)
            let answer = try #require(try json(created.body)[0])
            let id = try #require(answer["service_request_id"]?.stringValue)
            let token = try #require(answer["token"]?.stringValue)
            #expect(id.hasPrefix("20260301-"))
            #expect(answer["service_notice"]?.stringValue?.contains(id) == true)

            let calls = try #require(gateway.backend?.calls.filter { $0.method == IntakeRegisterCase.name })
            #expect(calls.count == 1)
            #expect(calls.first?.actor == nil, "online applications are registered as the customer's own")

            // The same POST again (a retry after a lost answer) is the same case and token.
            let retried = try json(try await gateway.request("POST", "/open311/v2/requests.json", json: form, headers: [("Content-Type", "application/x-www-form-urlencoded")]).body)
            #expect(retried[0]?["service_request_id"] == .string(id))
            #expect(retried[0]?["token"] == .string(token))
            #expect(try await gateway.count("SELECT count(*)::int8 AS n FROM open311_requests") == 1)

            // JSON with the key as a Bearer token works as well; a different application is a new case.
            let viaJSON = try await gateway.request("POST", "/open311/v2/requests.json", json: """
                {"service_code": "residence_permit", "first_name": "四", "last_name": "李", "email": "li.si@example.com",
                 "description": "申请办理居住证", "attribute": {"applicant_type": "individual", "id_type": "passport", "id_number": "E12345678",
                 "materials": ["id_card", "photo"]}}
                """, token: key)
            #expect(viaJSON.status == 200, "\(viaJSON.body)")
            #expect(try json(viaJSON.body)[0]?["service_request_id"] != .string(id))
            #expect(try json(viaJSON.body)[0]?["service_notice"]?.stringValue?.contains("2026-03-08") == true, "the missing materials and their deadline")

            let resolved = try await gateway.request("GET", "/open311/v2/tokens/\(token).json?api_key=\(key)")
            #expect(resolved.status == 200)
            #expect(try json(resolved.body) == [["service_request_id": .string(id), "token": .string(token)]])
            #expect(try await gateway.request("GET", "/open311/v2/tokens/\(token).json").status == 401)
            #expect(try await gateway.request("GET", "/open311/v2/tokens/no-such-token.json?api_key=\(key)").status == 404)
        }
    }

    @Test("bad input is answered 400 with every problem, and nothing is registered")
    func badInputRegistersNothing() async throws {
        try await GatewayFixture.with { gateway in
            let key = try await Self.apiKey(gateway)
            var noIdentity = Self.application(key: key).filter { !$0.0.hasPrefix("attribute[id_") && $0.0 != "attribute[phone]" && $0.0 != "email" }
            noIdentity.append(("attribute[materials][]", "diploma"))
            noIdentity.append(("attribute[favourite_colour]", "blue"))
            let cases: [(String, [(String, String)], [String])] = [
                ("no service_code", Self.application(key: key).filter { $0.0 != "service_code" }, ["service_code"]),
                ("unknown service", Self.application(key: key, service: "moon_landing"), ["moon_landing"]),
                ("counter-only service", Self.application(key: key, service: "passport_counter"), ["passport_counter"]),
                ("missing identity, contact, unknown material and attribute", noIdentity, ["id_type", "id_number", "phone", "diploma", "favourite_colour"]),
                ("company applying for a personal service", Self.application(key: key).map { $0.0 == "attribute[applicant_type]" ? ($0.0, "company") : $0 }, ["applicant_type"]),
            ]
            for (name, fields, mentions) in cases {
                let response = try await gateway.request("POST", "/open311/v2/requests.json", json: Self.form(fields), headers: [("Content-Type", "application/x-www-form-urlencoded")])
                #expect(response.status == 400, "\(name): \(response.body)")
                let description = try json(response.body)[0]?["description"]?.stringValue ?? ""
                for mention in mentions { #expect(description.contains(mention), "\(name): \(description)") }
            }
            let multipart = try await gateway.request("POST", "/open311/v2/requests.json", json: "--x--", headers: [("Content-Type", "multipart/form-data; boundary=x"), ("Authorization", "Bearer \(key)")])
            #expect(multipart.status == 415)
            #expect(try json(multipart.body)[0]?["code"] == 415)
            let badEscape = try await gateway.request("POST", "/open311/v2/requests.json", json: "service_code=%zz&api_key=\(key)", headers: [("Content-Type", "application/x-www-form-urlencoded")])
            #expect(badEscape.status == 400)
            #expect(gateway.backend?.count(IntakeRegisterCase.name) == 0)
            #expect(try await gateway.count("SELECT count(*)::int8 AS n FROM open311_requests") == 0)
        }
    }

    // MARK: GET requests

    @Test("GET requests lists and finds what the key submitted, without personal data, as the schemas say")
    func requestsAreListedWithoutPersonalData() async throws {
        try await GatewayFixture.with { gateway in
            let key = try await Self.apiKey(gateway)
            let other = try await Self.apiKey(gateway, name: "other-app")
            var ids: [String] = []
            for number in ["11010519491231002X", "440308199901011234"] {
                let fields = Self.application(key: key).map { $0.0 == "attribute[id_number]" ? ($0.0, number) : $0 }
                let response = try await gateway.request("POST", "/open311/v2/requests.json", json: Self.form(fields), headers: [("Content-Type", "application/x-www-form-urlencoded")])
                ids.append(try #require(try json(response.body)[0]?["service_request_id"]?.stringValue))
            }
            gateway.backend?.setStatus(ids[1], .completed)

            let all = try await gateway.request("GET", "/open311/v2/requests.json?api_key=\(key)")
            #expect(all.status == 200, "\(all.body)")
            try Self.expectValid(all.body, "requests.json")
            let list = try #require(try json(all.body).arrayValue)
            #expect(Set(list.compactMap { $0["service_request_id"]?.stringValue }) == Set(ids))
            let first = try #require(list.first { $0["service_request_id"] == .string(ids[0]) })
            #expect(first["status"] == "open")
            #expect(first["status_notes"] == "Accepted")
            #expect(first["agency_responsible"] == "civil-affairs")
            #expect(first["expected_datetime"] == "2026-03-15T23:59:59+08:00")
            #expect(first["description"] == .null)
            #expect(first["service_name"] == "Residence permit")
            for personal in ["张三", "Zhang", "11010519491231002X", "13812345678", "zhang.san@example.com", "AC-1234"] {
                #expect(!all.body.contains(personal), "GET requests shows \(personal)")
            }

            let closed = try json(try await gateway.request("GET", "/open311/v2/requests.json?status=closed&api_key=\(key)").body)
            #expect(closed.arrayValue?.compactMap { $0["service_request_id"]?.stringValue } == [ids[1]])
            let byID = try json(try await gateway.request("GET", "/open311/v2/requests.json?service_request_id=\(ids[0]),NOPE&api_key=\(key)").body)
            #expect(byID.arrayValue?.count == 1)
            let byService = try json(try await gateway.request("GET", "/open311/v2/requests.json?service_code=business_licence&api_key=\(key)").body)
            #expect(byService.arrayValue?.isEmpty == true)
            let future = try json(try await gateway.request("GET", "/open311/v2/requests.json?start_date=2099-01-01T00:00:00Z&api_key=\(key)").body)
            #expect(future.arrayValue?.isEmpty == true)
            #expect(try await gateway.request("GET", "/open311/v2/requests.json?status=pending&api_key=\(key)").status == 400)
            #expect(try await gateway.request("GET", "/open311/v2/requests.json?start_date=yesterday&api_key=\(key)").status == 400)

            let one = try await gateway.request("GET", "/open311/v2/requests/\(ids[1]).json", token: key)
            #expect(one.status == 200)
            try Self.expectValid(one.body, "requests.json")
            #expect(try json(one.body)[0]?["status"] == "closed")

            // Another application's key sees none of them; no key at all is refused.
            #expect(try json(try await gateway.request("GET", "/open311/v2/requests.json?api_key=\(other)").body) == [])
            let foreign = try await gateway.request("GET", "/open311/v2/requests/\(ids[0]).json?api_key=\(other)")
            #expect(foreign.status == 404)
            #expect(try json(foreign.body)[0]?["code"] == 404)
            let anonymous = try await gateway.request("GET", "/open311/v2/requests.json")
            #expect(anonymous.status == 401)
            #expect(try json(anonymous.body)[0]?["code"] == 401)
        }
    }

    // MARK: Helpers

    /// An API token with the scope open311, as an administrator makes one for a civic app.
    static func apiKey(_ gateway: GatewayFixture, name: String = "civic-app") async throws -> String {
        let admin = try await gateway.adminSession()
        let created = try await gateway.request("POST", "/v1/tokens", json: #"{"name": "\#(name)", "roles": ["intake_officer"], "scopes": ["open311"]}"#, cookie: admin)
        #expect(created.status == 201, "\(created.body)")
        return try #require(try json(created.body)["token"]?.stringValue)
    }

    static func application(key: String?, service: String = "residence_permit") -> [(String, String)] {
        var fields: [(String, String)] = [
            ("service_code", service), ("description", "申请办理本市居住证，已居住满半年。"),
            ("attribute[applicant_type]", "individual"), ("attribute[applicant_name]", "张三"),
            ("attribute[id_type]", "resident_id"), ("attribute[id_number]", "11010519491231002X"),
            ("attribute[phone]", "13812345678"), ("email", "zhang.san@example.com"),
            ("attribute[materials][]", "id_card"), ("attribute[materials][]", "photo"), ("attribute[materials][]", "residence_proof"),
        ]
        if let key { fields.append(("api_key", key)) }
        return fields
    }

    static func form(_ fields: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return fields.map { name, value in
            (name.addingPercentEncoding(withAllowedCharacters: allowed) ?? name) + "=" + (value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)
        }.joined(separator: "&")
    }

    // MARK: Python: jsonschema and an XML parser

    /// The GeoReport v2 schemas (not redistributed here: their licence is unclear):
    /// `ONESTOP_OPEN311_SCHEMAS`, else `../shared/open311/georeport-v2` next to the repository,
    /// else the team's shared folder `/work/shared/open311/georeport-v2` (a clone elsewhere).
    static var schemaFolder: URL {
        if let folder = ProcessInfo.processInfo.environment["ONESTOP_OPEN311_SCHEMAS"] { return URL(fileURLWithPath: folder) }
        let besideRepository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/open311/georeport-v2")
        let shared = URL(fileURLWithPath: "/work/shared/open311/georeport-v2")
        for candidate in [besideRepository, shared] where FileManager.default.fileExists(atPath: candidate.appendingPathComponent("service.json").path) {
            return candidate
        }
        return besideRepository
    }

    /// Validates with Draft4Validator and a registry of the five schema files (their relative
    /// `$ref`s resolve against their file URIs). `item: false` checks only that each element of
    /// an array is an object (the POST answer has no schema file of its own).
    static func expectValid(_ body: String, _ schema: String, item: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let folder = schemaFolder
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent(schema).path) else {
            Issue.record("the GeoReport v2 schemas are not at \(folder.path); set ONESTOP_OPEN311_SCHEMAS", sourceLocation: sourceLocation)
            return
        }
        let output = try python(validator, arguments: [item ? "schema" : "objects", folder.path, schema], input: body)
        #expect(output == "valid", "\(schema): \(output)\n\(body.prefix(600))", sourceLocation: sourceLocation)
    }

    static func xmlShape(_ body: String) throws -> (root: String, elements: Set<String>) {
        let output = try python(validator, arguments: ["xml"], input: body)
        let parsed = try json(output)
        return (parsed["root"]?.stringValue ?? "not well-formed: \(output)", Set(parsed["elements"]?.arrayValue?.compactMap(\.stringValue) ?? []))
    }

    static func python(_ script: String, arguments: [String], input: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stdout
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static let validator = #"""
    import json, pathlib, subprocess, sys
    mode, data = sys.argv[1], sys.stdin.read()
    if mode == "xml":
        import xml.etree.ElementTree as ET
        try:
            root = ET.fromstring(data.encode("utf-8"))
        except ET.ParseError as error:
            print(json.dumps({"error": "not well-formed: %s" % error}))
            sys.exit(0)
        print(json.dumps({"root": root.tag, "elements": sorted({e.tag for e in root.iter()})}))
        sys.exit(0)
    try:
        import jsonschema, referencing
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--user", "--break-system-packages", "jsonschema>=4.18"], check=False)
        import site, importlib; importlib.reload(site)
        import jsonschema, referencing
    from referencing.jsonschema import DRAFT4
    folder, name = pathlib.Path(sys.argv[2]).resolve(), sys.argv[3]
    registry = referencing.Registry().with_resources(
        (path.as_uri(), referencing.Resource.from_contents(json.loads(path.read_text()), default_specification=DRAFT4))
        for path in folder.glob("*.json") if path.name != "swagger.json")
    instance = json.loads(data)
    if mode == "objects":
        ok = isinstance(instance, list) and len(instance) > 0 and all(isinstance(item, dict) for item in instance)
        print("valid" if ok else "not a non-empty array of objects")
        sys.exit(0)
    validator = jsonschema.Draft4Validator({"$ref": (folder / name).as_uri()}, registry=registry,
                                           format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = ["%s: %s" % ("/".join(map(str, e.absolute_path)), e.message) for e in validator.iter_errors(instance)]
    print("; ".join(errors) if errors else "valid")
    """#
}
