import JSONCoding
import NIOCore
import Testing

@testable import LineProtocol

@Suite("JSON-RPC envelope")
struct RPCCodecTests {
    private func inbound(_ text: String) -> RPCInbound {
        RPCCodec.decodeInbound(ByteBuffer(string: text))
    }

    private func errorCode(_ call: RPCInboundCall) -> Int? {
        guard case .invalid(let response) = call, case .failure(let error) = response.outcome else { return nil }
        return error.code
    }

    @Test func invalidJSONIsAParseErrorWithNullID() {
        guard case .single(let call) = inbound(#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#) else {
            Issue.record("expected a single answer")
            return
        }
        #expect(errorCode(call) == -32700)
    }

    @Test func invalidUTF8IsAParseError() {
        var buffer = ByteBuffer(string: #"{"jsonrpc":"2.0","method":""#)
        buffer.writeBytes([0xFF, 0xFE])
        buffer.writeString(#"","id":1}"#)
        guard case .single(let call) = RPCCodec.decodeInbound(buffer) else {
            Issue.record("expected a single answer")
            return
        }
        #expect(errorCode(call) == -32700)
    }

    @Test(arguments: [
        #"{"jsonrpc": "2.0", "method": 1, "params": "bar"}"#,
        #"{"jsonrpc": "1.0", "method": "a", "id": 1}"#,
        #"{"method": "a", "id": 1}"#,
        #"{"jsonrpc": "2.0", "method": "a", "params": 3, "id": 1}"#,
        #"{"jsonrpc": "2.0", "method": "a", "id": {"x": 1}}"#,
        #""just a string""#,
    ])
    func malformedRequestsAreInvalidRequest(text: String) {
        guard case .single(let call) = inbound(text) else {
            Issue.record("expected a single answer")
            return
        }
        #expect(errorCode(call) == -32600)
    }

    @Test func idMayBeStringNumberOrNull() {
        for (text, id) in [(#""abc""#, RPCID.string("abc")), ("7", .integer(7)), ("null", .null), ("1.5", .double(1.5))] {
            guard case .single(.request(let request)) = inbound(#"{"jsonrpc":"2.0","method":"m","id":"# + text + "}") else {
                Issue.record("expected a request for id \(text)")
                continue
            }
            #expect(request.id == id)
            #expect(!request.isNotification)
        }
    }

    @Test func missingIDMakesANotification() {
        guard case .single(.request(let request)) = inbound(#"{"jsonrpc":"2.0","method":"update","params":[1,2]}"#) else {
            Issue.record("expected a request")
            return
        }
        #expect(request.isNotification)
    }

    @Test func emptyBatchIsOneInvalidRequest() {
        guard case .single(let call) = inbound("[]") else {
            Issue.record("expected a single answer")
            return
        }
        #expect(errorCode(call) == -32600)
    }

    @Test func batchOfNonObjectsGivesOneErrorEach() {
        guard case .batch(let calls) = inbound("[1,2,3]") else {
            Issue.record("expected a batch")
            return
        }
        #expect(calls.map(errorCode) == [-32600, -32600, -32600])
    }

    @Test func responsesRoundTrip() throws {
        var buffer = ByteBuffer()
        let responses = [
            RPCResponse(id: .integer(1), outcome: .success(["x": 1])),
            RPCResponse(id: .string("b"), outcome: .failure(.notFound("no case SQ1"))),
        ]
        RPCCodec.write(responses, into: &buffer)
        #expect(buffer.readableBytesView.last == UInt8(ascii: "\n"))
        #expect(buffer.readableBytesView.dropLast().contains(UInt8(ascii: "\n")) == false)
        buffer.moveWriterIndex(to: buffer.writerIndex - 1)
        let decoded = try RPCCodec.decodeResponses(buffer)
        #expect(decoded == responses)
        #expect(decoded[1].outcome.failureKind == .notFound)
    }

    /// `error` written as a response line and read back.
    static func sentAndReceived(_ error: RPCError) throws -> RPCError {
        var buffer = ByteBuffer()
        RPCCodec.write([RPCResponse(id: .integer(7), outcome: .failure(error))], into: &buffer)
        buffer.moveWriterIndex(to: buffer.writerIndex - 1)
        let decoded = try #require(try RPCCodec.decodeResponses(buffer).first)
        guard case .failure(let received) = decoded.outcome else {
            throw RPCError.internal("expected an error, got \(decoded.outcome)")
        }
        return received
    }

    @Test func anErrorsChineseTextSurvivesEncodingAndDecoding() throws {
        let error = RPCError.invalidParams("params.reasons: a rejection needs at least one reason", zh: "params.reasons：驳回至少需要一条理由",
                                           details: ["field": "reasons"])
        let received = try Self.sentAndReceived(error)
        #expect(received == error)
        #expect(received.texts == ["zh-CN": "params.reasons：驳回至少需要一条理由"])
        #expect(received.message(in: "zh-CN") == "params.reasons：驳回至少需要一条理由")
        // The protocol's own fields stay as they were: English message, kind, details.
        #expect(received.message == "params.reasons: a rejection needs at least one reason")
        #expect(received.description.contains("驳回") == false)
        #expect(received.kind == .invalidParams)
        #expect(received.data?["field"] == "reasons")
    }

    @Test func anErrorWithoutTextsFallsBackToItsEnglishMessage() {
        let error = RPCError.notFound("no case SQ1")
        #expect(error.texts.isEmpty)
        #expect(error.data?[RPCError.textsKey] == nil)
        #expect(error.message(in: "zh-CN") == "no case SQ1")
    }

    @Test func anErrorsProblemsTravelInEnglishWithTheirChineseBeside() throws {
        let error = RPCError.invalidParams(
            "params.name: 1 to 200 characters; params.serviceTypes: at least one", zh: "params.name：1 至 200 个字符；params.serviceTypes：至少一个",
            problems: [("params.name: 1 to 200 characters", "params.name：1 至 200 个字符"), ("params.serviceTypes: at least one", "params.serviceTypes：至少一个")]
        )
        let received = try Self.sentAndReceived(error)
        #expect(received == error)
        // Programs and logs read the English list, where it always was.
        #expect(received.data?[RPCError.problemsKey] == ["params.name: 1 to 200 characters", "params.serviceTypes: at least one"])
        #expect(received.problems == ["params.name: 1 to 200 characters", "params.serviceTypes: at least one"])
        #expect(received.problems(in: "zh-CN") == ["params.name：1 至 200 个字符", "params.serviceTypes：至少一个"])
        #expect(received.problems(in: "fr") == received.problems)
        #expect(received.message(in: "zh-CN") == "params.name：1 至 200 个字符；params.serviceTypes：至少一个")
        #expect(received.kind == .invalidParams)
    }

    @Test func problemsWithoutTranslationsAreReadInEnglish() {
        let error = RPCError.invalidParams("params.round: 1 or more", details: [RPCError.problemsKey: ["params.round: 1 or more"]])
        #expect(error.data?[RPCError.problemTextsKey] == nil)
        #expect(error.problems(in: "zh-CN") == ["params.round: 1 or more"])
    }

    @Test(arguments: [
        ["只有一条"] as JSON,
        ["一", "二", "三"],
        ["params.a：必填", ""],
        ["params.a：必填", 7],
        "params.a：必填；params.b：必填",
    ])
    func aTranslationThatDoesNotMatchTheProblemsOneByOneFallsBackToEnglish(_ chinese: JSON) {
        let english: JSON = ["params.a: required", "params.b: required"]
        let error = RPCError.invalidParams(
            "params.a: required; params.b: required",
            details: [RPCError.problemsKey: english, RPCError.problemTextsKey: ["zh-CN": chinese]]
        )
        #expect(error.problems(in: "zh-CN") == ["params.a: required", "params.b: required"])
    }

    @Test func anErrorWithoutProblemsHasNone() {
        #expect(RPCError.notFound("no case SQ1").problems == nil)
        #expect(RPCError.notFound("no case SQ1").problems(in: "zh-CN") == nil)
        // A `problems` member that is not a list of texts is not one.
        #expect(RPCError.invalidParams("bad", details: [RPCError.problemsKey: ["field": "x"]]).problems == nil)
    }

    @Test func serverErrorsCarryKindAndRetryable() {
        let error = RPCError.overloaded("queue full")
        #expect(error.code == -32006)
        #expect(error.kind == .overloaded)
        #expect(error.isRetryable)
        #expect(RPCError.conflict("x").isRetryable == false)
        for kind in RPCErrorKind.allCases where kind != .invalidParams && kind != .internal {
            #expect((-32099 ... -32000).contains(kind.code))
        }
    }
}

extension Result where Success == JSON, Failure == RPCError {
    var failureKind: RPCErrorKind? {
        if case .failure(let error) = self { return error.kind }
        return nil
    }
}
