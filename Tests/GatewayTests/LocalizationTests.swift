@testable import GatewayService
import JSONCoding
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// `Accept-Language` chooses the language of a problem's title, detail and list of problems: the
/// gateway's own and the services' (their `error.data.texts` and `error.data.problemTexts`),
/// English when a service sent none.
@Suite("Gateway: problems in the language the client asked for")
struct LocalizationTests {
    static let chinese = [("Accept-Language", "zh-CN,zh;q=0.9,en;q=0.5")]

    @Test func aProblemTheGatewayMakesIsInChineseWhenChineseIsAsked() async throws {
        try await GatewayFixture.with { gateway in
            let response = try await gateway.request("GET", "/v1/cases", headers: Self.chinese)
            #expect(response.status == 401)
            #expect(response.headers["content-language"] == "zh-CN")
            let problem = try json(response.body)
            #expect(problem["title"] == "需要登录")
            #expect(problem["detail"] == "findCases 需要工作人员登录（会话 Cookie）或 API 令牌")

            let track = try json(try await gateway.request("POST", "/v1/public/track", json: "{}", headers: Self.chinese).body)
            #expect(track["title"] == "请求内容不正确")
            #expect(track["detail"] == "需要受理编号和查询码")
        }
    }

    @Test func aProblemTheGatewayMakesIsUnchangedInEnglish() async throws {
        try await GatewayFixture.with { gateway in
            for headers in [[], [("Accept-Language", "en-GB")]] {
                let response = try await gateway.request("GET", "/v1/cases", headers: headers)
                #expect(response.headers["content-language"] == "en")
                let problem = try json(response.body)
                #expect(problem["title"] == "Login required")
                #expect(problem["detail"] == "findCases needs a staff login (session cookie) or an API token")
            }
        }
    }

    @Test func aServicesErrorIsShownInChineseFromItsTexts() async throws {
        try await GatewayFixture.with { gateway in
            let body = #"{"serviceType": "unknown_permit"}"#
            let response = try await gateway.request("POST", "/v1/public/cases", json: body, headers: Self.chinese)
            #expect(response.status == 400)
            #expect(response.headers["content-language"] == "zh-CN")
            let problem = try json(response.body)
            #expect(problem["title"] == "请求内容不正确")
            #expect(problem["detail"] == "serviceType：未知的事项“unknown_permit”；可用 intake.listCatalog 查看事项清单")
            #expect(problem["kind"] == "invalid_params")
            // The texts are the detail, not an extension member of the problem.
            #expect(problem["texts"] == nil)

            let english = try json(try await gateway.request("POST", "/v1/public/cases", json: body).body)
            #expect(english["detail"] == #"serviceType: unknown service type "unknown_permit"; intake.listCatalog lists them"#)
            #expect(english["texts"] == nil)
        }
    }

    @Test func aServicesErrorWithoutTextsFallsBackToEnglish() async throws {
        try await GatewayFixture.with { gateway in
            let body = #"{"serviceType": "\#(StubBackend.unknownTypeWithoutTexts)"}"#
            let response = try await gateway.request("POST", "/v1/public/cases", json: body, headers: Self.chinese)
            #expect(response.status == 400)
            #expect(response.headers["content-language"] == "zh-CN")
            let problem = try json(response.body)
            #expect(problem["title"] == "请求内容不正确")
            #expect(problem["detail"] == #"serviceType: unknown service type "unknown_old_intake"; intake.listCatalog lists them"#)
        }
    }

    @Test func theProblemsTheGatewayListsAreInTheLanguageAsked() async throws {
        try await GatewayFixture.with { gateway in
            let admin = try await gateway.adminSession()
            let body = #"{"id": "clerk-wu", "displayName": "", "roles": ["intake_officer"], "password": "short"}"#

            let chinese = try await gateway.request("POST", "/v1/users", json: body, cookie: admin, headers: Self.chinese)
            #expect(chinese.status == 400)
            #expect(chinese.headers["content-language"] == "zh-CN")
            let problem = try json(chinese.body)
            #expect(problem["detail"] == "无法创建该用户")
            #expect(problem["problems"] == ["displayName：1 至 100 个字符", "password：密码至少需要 12 个字符"])

            let english = try json(try await gateway.request("POST", "/v1/users", json: body, cookie: admin, headers: [("Accept-Language", "en")]).body)
            #expect(english["detail"] == "the user cannot be created")
            #expect(english["problems"] == ["displayName: 1 to 100 characters", "password: a password needs at least 12 characters"])
        }
    }

    @Test func theProblemsAServiceListsAreShownInChineseFromItsProblemTexts() async throws {
        try await GatewayFixture.with { gateway in
            let admin = try await gateway.adminSession()
            let body = #"{"name": " ", "serviceTypes": []}"#

            let chinese = try await gateway.request("PUT", "/v1/review/reviewers/r-new", json: body, cookie: admin, headers: Self.chinese)
            #expect(chinese.status == 400, "\(chinese.body)")
            #expect(chinese.headers["content-language"] == "zh-CN")
            let problem = try json(chinese.body)
            #expect(problem["detail"] == "params.name：1 至 200 个字符；params.serviceTypes：至少一个事项（或 `*`）")
            #expect(problem["problems"] == ["params.name：1 至 200 个字符", "params.serviceTypes：至少一个事项（或 `*`）"])
            // The translations are the problems, not an extension member of the problem.
            #expect(problem["problemTexts"] == nil)
            #expect(problem["texts"] == nil)

            let english = try json(try await gateway.request("PUT", "/v1/review/reviewers/r-new", json: body, cookie: admin).body)
            #expect(english["detail"] == "params.name: 1 to 200 characters; params.serviceTypes: at least one service type (or `*`)")
            #expect(english["problems"] == ["params.name: 1 to 200 characters", "params.serviceTypes: at least one service type (or `*`)"])
            #expect(english["problemTexts"] == nil)
        }
    }

    @Test func theProblemsOfAServiceThatSentNoTranslationFallBackToEnglish() async throws {
        try await GatewayFixture.with { gateway in
            let admin = try await gateway.adminSession()
            let path = "/v1/review/reviewers/\(StubBackend.reviewerWithoutProblemTexts)"
            let response = try await gateway.request("PUT", path, json: #"{"name": "", "serviceTypes": []}"#, cookie: admin, headers: Self.chinese)
            #expect(response.status == 400, "\(response.body)")
            #expect(response.headers["content-language"] == "zh-CN")
            let problem = try json(response.body)
            #expect(problem["title"] == "请求内容不正确")
            #expect(problem["problems"] == ["params.name: 1 to 200 characters", "params.serviceTypes: at least one service type (or `*`)"])
        }
    }

    @Test func anUnavailableServiceIsNamedInChinese() async throws {
        try await GatewayFixture.with(environment: ["ONESTOP_GATEWAY_SERVICE_TIMEOUT_MS": "3000"], backends: .onlyIntake) { gateway in
            let admin = try await gateway.adminSession()
            let officer = try await gateway.staff("officer", roles: ["complaint_officer"], admin: admin)
            let response = try await gateway.request("GET", "/v1/complaints", cookie: officer, headers: Self.chinese)
            #expect(response.status == 503, "\(response.body)")
            let problem = try json(response.body)
            #expect(problem["title"] == "服务暂不可用")
            #expect(problem["detail"]?.stringValue?.hasPrefix("complaints 服务暂不可用：") == true, "\(problem)")
        }
    }

    @Test func open311ErrorsAreDescribedInTheLanguageAsked() async throws {
        try await GatewayFixture.with { gateway in
            let chinese = try await gateway.request("GET", "/open311/v2/services/passport_counter.json", headers: Self.chinese)
            #expect(chinese.status == 404)
            #expect(chinese.headers["content-language"] == "zh-CN")
            #expect(try json(chinese.body)[0]?["description"] == "没有可网上申请的事项 passport_counter；services.json 列出了可申请的事项")
            // Open311's `locale` wins over the header, as for the answers.
            let english = try await gateway.request("GET", "/open311/v2/services/passport_counter.json?locale=en", headers: Self.chinese)
            #expect(try json(english.body)[0]?["description"] == "no service passport_counter can be applied for online; services.json lists them")
        }
    }

    @Test func open311ListsTheProblemsOfARequestInTheLanguageAsked() async throws {
        try await GatewayFixture.with { gateway in
            let admin = try await gateway.adminSession()
            let created = try await gateway.request("POST", "/v1/tokens", json: #"{"name": "civic-app", "roles": ["intake_officer"], "scopes": ["open311"]}"#, cookie: admin)
            let key = try #require(try json(created.body)["token"]?.stringValue)
            let path = "/open311/v2/requests.json?status=pending&start_date=yesterday&api_key=\(key)"

            let chinese = try await gateway.request("GET", path, headers: Self.chinese)
            #expect(chinese.status == 400)
            #expect(chinese.headers["content-language"] == "zh-CN")
            #expect(try json(chinese.body)[0]?["description"] == "筛选条件无效：start_date：日期和时间，格式如 2026-03-01T00:00:00Z；status：open 或 closed")

            let english = try await gateway.request("GET", path + "&locale=en", headers: Self.chinese)
            #expect(english.headers["content-language"] == "en")
            #expect(try json(english.body)[0]?["description"] == "the filters are not valid: start_date: a date and time as in 2026-03-01T00:00:00Z; status: open or closed")
        }
    }

    // MARK: The texts themselves

    /// Every `"English", zh: "中文"` pair in the services and shared code: the Chinese is there,
    /// is Chinese, and is not the English copied.
    @Test func everyChineseTextIsWrittenOut() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var pairs = 0
        for folder in ["Services", "Shared"] {
            let files = FileManager.default.enumerator(at: root.appendingPathComponent(folder), includingPropertiesForKeys: nil)
            while let file = files?.nextObject() as? URL {
                guard file.pathExtension == "swift" else { continue }
                let source = try String(contentsOf: file, encoding: .utf8)
                for pair in SourceTexts.zhPairs(in: source) {
                    pairs += 1
                    let place = "\(file.lastPathComponent): \(pair.english)"
                    #expect(!pair.chinese.trimmingCharacters(in: .whitespaces).isEmpty, "\(place)")
                    #expect(pair.chinese != pair.english, "\(place)")
                    #expect(pair.chinese.unicodeScalars.contains(where: SourceTexts.isChinese), "no Chinese in \(place): \(pair.chinese)")
                }
            }
        }
        // The scan found the texts (a broken scanner would pass every check above).
        #expect(pairs > 200)
    }
}

/// Just enough of Swift's string literals to find `"…", zh: "…"` in source text.
enum SourceTexts {
    struct Literal {
        var text: String
        var start: String.Index
        var end: String.Index
    }

    /// Han characters, or Chinese (full-width) punctuation: `"contact.phone：\(error.zh)"` takes
    /// its words from another Chinese text.
    static func isChinese(_ scalar: Unicode.Scalar) -> Bool {
        (0x4E00...0x9FFF).contains(scalar.value) || (0x3000...0x303F).contains(scalar.value) || (0xFF00...0xFFEF).contains(scalar.value)
    }

    static func zhPairs(in source: String) -> [(english: String, chinese: String)] {
        let literals = self.literals(in: source)
        var pairs: [(String, String)] = []
        for (index, literal) in literals.enumerated() where index > 0 {
            let before = source[literals[index - 1].end..<literal.start]
            let compact = before.filter { !$0.isWhitespace }
            if compact == ",zh:" { pairs.append((literals[index - 1].text, literal.text)) }
        }
        return pairs
    }

    /// The top-level single-line string literals of `source` (interpolations kept as written),
    /// skipping comments and multi-line and raw literals.
    static func literals(in source: String) -> [Literal] {
        var result: [Literal] = []
        var index = source.startIndex
        func peek(_ text: String) -> Bool { source[index...].hasPrefix(text) }
        while index < source.endIndex {
            if peek("//") {
                index = source[index...].firstIndex(of: "\n") ?? source.endIndex
            } else if peek("/*") {
                index = source.range(of: "*/", range: index..<source.endIndex)?.upperBound ?? source.endIndex
            } else if peek("\"\"\"") {
                let after = source.index(index, offsetBy: 3)
                index = source.range(of: "\"\"\"", range: after..<source.endIndex)?.upperBound ?? source.endIndex
            } else if peek("#\"") {
                let after = source.index(index, offsetBy: 2)
                index = source.range(of: "\"#", range: after..<source.endIndex)?.upperBound ?? source.endIndex
            } else if source[index] == "\"" {
                let start = index
                index = source.index(after: index)
                let textStart = index
                index = endOfLiteral(source, from: index)
                let textEnd = index < source.endIndex ? index : source.endIndex
                if index < source.endIndex { index = source.index(after: index) }
                result.append(Literal(text: String(source[textStart..<textEnd]), start: start, end: index))
            } else {
                index = source.index(after: index)
            }
        }
        return result
    }

    /// The index of the closing quote of a literal whose text starts at `index`.
    private static func endOfLiteral(_ source: String, from start: String.Index) -> String.Index {
        var index = start
        while index < source.endIndex, source[index] != "\"", source[index] != "\n" {
            if source[index] == "\\" {
                let next = source.index(after: index)
                if next < source.endIndex, source[next] == "(" {
                    index = endOfInterpolation(source, from: source.index(after: next))
                } else {
                    index = next < source.endIndex ? source.index(after: next) : next
                }
                continue
            }
            index = source.index(after: index)
        }
        return index
    }

    /// Just past the `)` closing an interpolation whose expression starts at `index`.
    private static func endOfInterpolation(_ source: String, from start: String.Index) -> String.Index {
        var index = start
        var depth = 1
        while index < source.endIndex {
            switch source[index] {
            case "(": depth += 1
            case ")":
                depth -= 1
                if depth == 0 { return source.index(after: index) }
            case "\"":
                index = endOfLiteral(source, from: source.index(after: index))
            default: break
            }
            if index < source.endIndex { index = source.index(after: index) }
        }
        return index
    }
}
