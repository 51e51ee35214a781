import Contracts
import JSONCoding
import Logging
import Postgres
import RPCTesting
import SystemHarness
import Testing

/// The security checklist's end-to-end items (see SECURITY.md): hostile text is stored as data
/// and read back identical through the gateway, and no customer's personal data reaches any
/// service's log, with every service logging at trace level.
@Suite("End to end: security")
struct SecurityTests {
    static let hostileTexts = [
        "'; DROP TABLE cases; --",
        "<script>alert(1)</script>",
        #"Robert'); DELETE FROM complaints WHERE ''=''; -- \" \\ ' ` $1 %s {{7*7}} 漢字"#,
    ]

    @Test func hostileTextInFreeTextFieldsIsStoredAsDataAndPersonalDataNeverReachesTheLogs() async throws {
        let debug: [OneStopSystem.Part: [String: String]] = Dictionary(
            uniqueKeysWithValues: OneStopSystem.Part.allCases.map { ($0, ["ONESTOP_LOG_LEVEL": "trace"]) }
        )
        try await OneStopSystem.withDedicated(overrides: debug) { system, hall in
            var customers: [Customer] = []

            // MARK: Registration: the applicant's name and the description.
            for text in Self.hostileTexts {
                let customer = Customer.make("Li Hostile")
                customers.append(customer)
                var params = try JSONValueDecoder().decode(
                    IntakeRegisterCase.Params.self,
                    from: customer.application(Hall.permits.serviceType, materials: Materials.residencePermit)
                )
                params.description = "Application: " + text
                let registered = try await hall.api.call("POST", "/v1/cases", .encoding(params), as: hall.officer, expecting: 201)
                    .decode(IntakeRegisterCase.Result.self)
                let file = try await hall.api.call("GET", "/v1/cases/\(registered.caseId)", as: hall.officer).decode(CaseView.self)
                #expect(file.description == "Application: " + text)
                // Answered as JSON, never sniffed as markup.
                let raw = try await HTTPTestClient.send(
                    port: hall.api.port, method: "GET", path: "/v1/cases/\(registered.caseId)",
                    headers: [("Cookie", "onestop_session=\(hall.officer.cookie)")], body: nil
                )
                #expect(raw.headers["content-type"]?.hasPrefix("application/json") == true)
                #expect(raw.headers["x-content-type-options"] == "nosniff")
            }
            // A name with markup or SQL in it is either kept exactly or refused with a clear error.
            for text in Self.hostileTexts {
                var params = try JSONValueDecoder().decode(
                    IntakeRegisterCase.Params.self,
                    from: Customer.make().application(Hall.permits.serviceType, materials: Materials.residencePermit)
                )
                params.applicant.name = text
                let answer = try await hall.api.send("POST", "/v1/cases", .encoding(params), as: hall.officer)
                #expect(answer.status == 201 || (answer.status == 400 && answer.json["kind"] == "invalid_params"), "\(answer)")
            }
            // NUL bytes cannot be stored as text: a clear 400, not a 500.
            var withNUL = try JSONValueDecoder().decode(
                IntakeRegisterCase.Params.self,
                from: Customer.make().application(Hall.permits.serviceType, materials: Materials.residencePermit)
            )
            withNUL.description = "before\u{0}after"
            let nul = try await hall.api.send("POST", "/v1/cases", .encoding(withNUL), as: hall.officer)
            #expect(nul.status == 400 && nul.json["kind"] == "invalid_params", "\(nul)")

            // MARK: Complaints: the complainant's name and the content.
            for text in Self.hostileTexts {
                let customer = Customer.make("Zhang Hostile")
                customers.append(customer)
                let filed = try await hall.api.call("POST", "/v1/public/complaints", [
                    "complainant": ["name": .string(customer.name), "phone": .string(customer.mobile), "email": .string(customer.email), "locale": "en"],
                    "content": .string("The counter clerk wrote this on my form: " + text),
                ], expecting: 201).decode(ComplaintView.self)
                let details = try await hall.api.call("GET", "/v1/complaints/\(filed.id)", as: hall.complaintOfficer)
                #expect(details["complaint"]?["content"]?.stringValue == "The counter clerk wrote this on my form: " + text)
                let named = try await hall.api.send("POST", "/v1/public/complaints", [
                    "complainant": ["name": .string(text), "phone": .string(customer.mobile)],
                    "content": "A complaint from a person with an unusual name.",
                ])
                #expect(named.status == 201 || (named.status == 400 && named.json["kind"] == "invalid_params"), "\(named)")
                if named.status == 201 {
                    #expect(named.json["complainantName"]?.stringValue == text)
                }
            }
            let nulComplaint = try await hall.api.send("POST", "/v1/public/complaints", [
                "complainant": ["name": "Nul Byte", "phone": "13900000000"], "content": "complaint with a \u{0} byte inside",
            ])
            #expect(nulComplaint.status == 400 && nulComplaint.json["kind"] == "invalid_params", "\(nulComplaint)")

            // The tables are intact and still serve.
            let logger = Logger(label: "e2e-security", factory: { _ in SwiftLogNoOpLogHandler() })
            for (part, table) in [(OneStopSystem.Part.intake, "cases"), (.complaints, "complaints")] {
                let pool = PostgresPool(configuration: PostgresConfiguration(connectionString: try #require(system.databaseURL(part))), maxConnections: 1, logger: logger)
                let count = try await pool.query(SQL(unsafeSQL: "SELECT count(*)::int8 AS n FROM \(table)"))[0].decode(Int64.self, column: "n")
                #expect(count >= Int64(Self.hostileTexts.count), "\(table)")
                await pool.close()
            }

            // MARK: No personal data in any log, once the notices were delivered.
            // Refusals too: a wrong check character, a malformed phone and email.
            let refused = Customer.make("Wrong Data")
            var bad = try JSONValueDecoder().decode(
                IntakeRegisterCase.Params.self,
                from: refused.application(Hall.permits.serviceType, materials: Materials.residencePermit)
            )
            let wrongCheck = String(refused.idNumber.dropLast()) + (refused.idNumber.last == "0" ? "1" : "0")
            bad.applicant.idNumber = wrongCheck
            #expect(try await hall.api.send("POST", "/v1/cases", .encoding(bad), as: hall.officer).status == 400)
            bad.applicant.idNumber = refused.idNumber
            bad.contact.phone = "1" + refused.mobile
            #expect(try await hall.api.send("POST", "/v1/cases", .encoding(bad), as: hall.officer).status == 400)
            bad.contact.phone = refused.mobile
            bad.contact.email = "@" + refused.email
            #expect(try await hall.api.send("POST", "/v1/cases", .encoding(bad), as: hall.officer).status == 400)
            let badComplaint = try await hall.api.send("POST", "/v1/public/complaints", [
                "complainant": ["name": "Wrong Data", "phone": .string("1" + refused.mobile)], "content": "A complaint with a bad phone.",
            ])
            #expect(badComplaint.status == 400)
            for customer in customers {
                _ = try await eventually("\(customer.name) is told") {
                    let received = customer.messages(in: system)
                    return (received.sms + received.email).first
                }
            }
            let logs = system.logs(lines: Int.max)
            #expect(logs.count > 1000, "the services logged almost nothing; the check would prove nothing")
            for customer in customers + [refused] {
                for value in [customer.idNumber, customer.mobile, customer.email, String(customer.idNumber.dropLast())] {
                    #expect(!logs.contains(value), "a service logged a customer's personal data")
                }
            }
        }
    }
}
