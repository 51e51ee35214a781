import JSONCoding
import RPCTesting
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

@Suite("Gateway: fuzzing from the OpenAPI document")
struct FuzzTests {
    /// schemathesis (PyPI, installed by compose/local/setup.sh) generates requests for every
    /// operation of /openapi.json — valid and invalid — with a token allowed everything; the
    /// gateway must never answer 5xx and must answer as documented.
    @Test("schemathesis finds no server error and no undocumented answer", .timeLimit(.minutes(5)))
    func schemathesis() async throws {
        // Generous deadlines: a 504 under a busy test run is a slow machine, not a gateway fault.
        try await GatewayFixture.with(environment: ["ONESTOP_GATEWAY_SERVICE_TIMEOUT_MS": "30000"]) { gateway in
            let admin = try await gateway.adminSession()
            let everything = #"""
                {"name": "fuzzer", "roles": ["intake_officer", "reviewer", "routing_officer", "handler", "complaint_officer", "supervisor", "administrator"],
                 "scopes": ["cases:read", "cases:write", "review", "processing", "complaints", "administration", "reports", "open311"]}
                """#
            let created = try await gateway.request("POST", "/v1/tokens", json: everything, cookie: admin)
            let token = try #require(try json(created.body)["token"]?.stringValue)

            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            // Run through python3 so the transports are imported once, on the main thread,
            // before the workers start: with two workers each thread imported them on its first
            // case, and anyio's lazy importer compiling in two threads at once trips CPython
            // 3.11's "AST constructor recursion depth mismatch" (it failed a CI run).
            process.arguments = [
                "python3", "-c", Self.schemathesisWithTransportsPreloaded, "run", "http://127.0.0.1:\(gateway.port)/openapi.json",
                "--checks", "not_a_server_error,status_code_conformance,content_type_conformance",
                "--max-examples", "8", "--seed", "20261123", "--workers", "2", "--request-timeout", "60",
                "--header", "Authorization: Bearer \(token)", "--suppress-health-check", "all",
            ]
            var environment = ProcessInfo.processInfo.environment
            environment["SCHEMATHESIS_HOOKS"] = nil
            environment["NO_COLOR"] = "1"
            process.environment = environment
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let data = await Task.detached { output.fileHandleForReading.readDataToEndOfFile() }.value
            process.waitUntilExit()
            let text = String(decoding: data, as: UTF8.self)
            #expect(process.terminationStatus == 0, "\(text.suffix(6000))")
        }
    }

    private static let schemathesisWithTransportsPreloaded = """
        import sys
        import schemathesis.transport.asgi, schemathesis.transport.requests, schemathesis.transport.wsgi
        from schemathesis.cli import schemathesis
        sys.argv[0] = "schemathesis"
        sys.exit(schemathesis())
        """
}
