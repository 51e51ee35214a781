import Hummingbird
import JSONCoding
import NIOCore

/// Reads request bodies: JSON only, bounded in size and nesting, an object at the top.
struct JSONBodyReader: Sendable {
    let maxBytes: Int
    let maxDepth: Int

    /// The body as an object; `{}` when the request has no body and `required` is false.
    func object(_ request: Request, required: Bool = true) async throws -> JSONObject {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBytes)
        } catch {
            throw Problem(status: .contentTooLarge, kind: "payload_too_large", detail: "the body is larger than \(maxBytes) bytes",
                          zh: "请求体超过 \(maxBytes) 字节")
        }
        if buffer.readableBytes == 0 {
            if required { throw Problem.invalid("this request needs a JSON object body", zh: "此请求需要 JSON 对象格式的请求体") }
            return [:]
        }
        if let type = request.headers[.contentType]?.lowercased(), !type.hasPrefix("application/json") {
            throw Problem(status: .unsupportedMediaType, kind: "unsupported_media_type", detail: "send the body as application/json, not \(type)",
                          zh: "请以 application/json 发送请求体，而不是 \(type)")
        }
        let json: JSON
        do {
            json = try buffer.withUnsafeReadableBytes { try JSON.parse($0) }
        } catch {
            throw Problem.invalid("the body is not valid JSON: \(error)", zh: "请求体不是有效的 JSON：\(error)")
        }
        guard Self.depth(of: json) <= maxDepth else {
            throw Problem.invalid("the body nests deeper than \(maxDepth) levels", zh: "请求体嵌套超过 \(maxDepth) 层")
        }
        // PostgreSQL text cannot hold NUL, and no form of the hall needs it: refuse it here
        // rather than let it reach a database as an internal error.
        if Self.containsNUL(json) {
            throw Problem.invalid("text in the body may not contain NUL (\\u0000) characters", zh: "请求体中的文本不能包含 NUL（\\u0000）字符")
        }
        guard case .object(let object) = json else {
            throw Problem.invalid("the body must be a JSON object, not \(json.kindDescription)", zh: "请求体须为 JSON 对象，而不是 \(json.kindDescription)")
        }
        return object
    }

    static func containsNUL(_ json: JSON) -> Bool {
        switch json {
        case .string(let text): text.utf8.contains(0)
        case .object(let object): object.contains { $0.key.utf8.contains(0) || containsNUL($0.value) }
        case .array(let array): array.contains(where: containsNUL)
        default: false
        }
    }

    static func depth(of json: JSON) -> Int {
        switch json {
        case .object(let object): 1 + (object.values.map(depth).max() ?? 0)
        case .array(let array): 1 + (array.map(depth).max() ?? 0)
        default: 0
        }
    }
}

extension Response {
    static func json(_ value: JSON, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: value.jsonString)))
    }

    static func json<T: Encodable>(encoding value: T, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        .json(try JSONValueEncoder().encode(value), status: status, headers: headers)
    }
}
