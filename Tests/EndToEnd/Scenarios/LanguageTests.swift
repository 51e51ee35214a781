import Contracts
import JSONCoding
import RPCTesting
import SystemHarness
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// A client that asks for Chinese with `Accept-Language` reads the services' own refusals in
/// Chinese: the texts travel from the service in `error.data.texts` through the gateway.
@Suite("End to end: errors in the language the client asked for")
struct LanguageTests {
    struct Answer {
        var status: Int
        var language: String?
        var problem: JSON
    }

    func send(_ hall: Hall, _ path: String, _ body: JSON, as session: GatewayAPI.Session, language: String?) async throws -> Answer {
        var headers = [("Cookie", "onestop_session=\(session.cookie)")]
        if let language { headers.append(("Accept-Language", language)) }
        let response = try await HTTPTestClient.send(port: hall.api.port, method: "POST", path: path, headers: headers, body: body.jsonString)
        return Answer(status: response.status, language: response.headers["content-language"], problem: try JSON.parse(Array(response.body.utf8)))
    }

    @Test func intakeRefusesAnUnknownServiceTypeInTheLanguageAsked() async throws {
        try await OneStopSystem.withShared { _, hall in
            let application = try Customer.make("Wu Fang").application("no_such_service", materials: [])

            let chinese = try await send(hall, "/v1/cases", application, as: hall.officer, language: "zh-CN,zh;q=0.9")
            #expect(chinese.status == 400)
            #expect(chinese.language == "zh-CN")
            #expect(chinese.problem["title"] == "请求内容不正确")
            #expect(chinese.problem["detail"] == "serviceType：未知的事项“no_such_service”；可用 intake.listCatalog 查看事项清单")
            #expect(chinese.problem["texts"] == nil)

            let english = try await send(hall, "/v1/cases", application, as: hall.officer, language: nil)
            #expect(english.status == 400)
            #expect(english.language == "en")
            #expect(english.problem["title"] == "The request is not valid")
            #expect(english.problem["detail"] == #"serviceType: unknown service type "no_such_service"; intake.listCatalog lists them"#)
        }
    }

    @Test func reviewRefusesARejectionWithoutReasonsInTheLanguageAsked() async throws {
        try await OneStopSystem.withShared { _, hall in
            let path = "/v1/review/tasks/\(UUID().uuidString.lowercased())/decision"

            let chinese = try await send(hall, path, ["decision": "reject"], as: hall.reviewer, language: "zh-CN")
            #expect(chinese.status == 400)
            #expect(chinese.problem["detail"] == "params.reasons：不予通过至少需要一条告知申请人的理由")
            let unknown = try await send(hall, path, ["decision": "reject", "reasons": ["材料不全"]], as: hall.reviewer, language: "zh-CN")
            #expect(unknown.status == 404)
            #expect(unknown.problem["title"] == "未找到")
            #expect(unknown.problem["detail"]?.stringValue?.hasPrefix("审核任务 ") == true, "\(unknown.problem)")

            let english = try await send(hall, path, ["decision": "reject"], as: hall.reviewer, language: "en")
            #expect(english.problem["detail"] == "params.reasons: a rejection needs at least one reason the customer will be told")
        }
    }
}
