import JSONCoding
import NIOCore

/// A JSON-RPC request or notification (no id: never answered).
public struct RPCRequest: Sendable, Equatable {
    public var id: RPCID?
    public var method: String
    /// An object or an array, as the caller sent it (including `_meta`).
    public var params: JSON?

    public init(id: RPCID?, method: String, params: JSON? = nil) {
        self.id = id
        self.method = method
        self.params = params
    }

    public var isNotification: Bool { id == nil }
}

/// A JSON-RPC response: a result or an error for one id.
public struct RPCResponse: Sendable, Equatable {
    public var id: RPCID
    public var outcome: Result<JSON, RPCError>

    public init(id: RPCID, outcome: Result<JSON, RPCError>) {
        self.id = id
        self.outcome = outcome
    }

    public var json: JSON {
        switch outcome {
        case .success(let result):
            .object(["jsonrpc": "2.0", "result": result, "id": id.json])
        case .failure(let error):
            .object(["jsonrpc": "2.0", "error": error.json, "id": id.json])
        }
    }
}

/// One element of what a server reads: a valid request, or the error answer it gets instead.
public enum RPCInboundCall: Sendable, Equatable {
    case request(RPCRequest)
    case invalid(RPCResponse)
}

/// What one line holds, as a server sees it.
public enum RPCInbound: Sendable, Equatable {
    case single(RPCInboundCall)
    /// A non-empty batch; the answer is one array with the answers of its requests in any order.
    case batch([RPCInboundCall])
}

/// The JSON-RPC 2.0 envelope: decoding lines into requests/responses and encoding them back.
/// Pure functions over bytes, testable without a socket.
public enum RPCCodec {
    // MARK: Server side

    public static func decodeInbound(_ line: ByteBuffer) -> RPCInbound {
        let json: JSON
        do {
            json = try line.withUnsafeReadableBytes { try JSON.parse($0) }
        } catch let error as JSONParseError {
            return .single(.invalid(RPCResponse(id: .null, outcome: .failure(.parseError(error.description)))))
        } catch {
            return .single(.invalid(RPCResponse(id: .null, outcome: .failure(.parseError("\(error)")))))
        }
        return decodeInbound(json)
    }

    public static func decodeInbound(_ json: JSON) -> RPCInbound {
        if case .array(let elements) = json {
            guard !elements.isEmpty else {
                return .single(.invalid(RPCResponse(id: .null, outcome: .failure(.invalidRequest("empty batch")))))
            }
            return .batch(elements.map(call(from:)))
        }
        return .single(call(from: json))
    }

    static func call(from json: JSON) -> RPCInboundCall {
        guard case .object(let object) = json else {
            return .invalid(RPCResponse(id: .null, outcome: .failure(.invalidRequest("a request must be a JSON object"))))
        }
        var id: RPCID?
        if let rawID = object["id"] {
            guard let parsed = RPCID(json: rawID) else {
                return .invalid(RPCResponse(id: .null, outcome: .failure(.invalidRequest("id must be a string, a number or null"))))
            }
            id = parsed
        }
        let answerID = id ?? .null
        guard object["jsonrpc"] == .string("2.0") else {
            return .invalid(RPCResponse(id: answerID, outcome: .failure(.invalidRequest("\"jsonrpc\" must be \"2.0\""))))
        }
        guard case .string(let method)? = object["method"] else {
            return .invalid(RPCResponse(id: answerID, outcome: .failure(.invalidRequest("\"method\" must be a string"))))
        }
        let params = object["params"]
        switch params {
        case nil, .object?, .array?: break
        default:
            return .invalid(RPCResponse(id: answerID, outcome: .failure(.invalidRequest("\"params\" must be an object or an array"))))
        }
        return .request(RPCRequest(id: id, method: method, params: params))
    }

    /// Appends a response line (with its newline).
    public static func write(_ response: RPCResponse, into buffer: inout ByteBuffer) {
        write(response.json, into: &buffer)
    }

    /// Appends a batch answer line.
    public static func write(_ responses: [RPCResponse], into buffer: inout ByteBuffer) {
        write(.array(responses.map(\.json)), into: &buffer)
    }

    // MARK: Client side

    /// Appends a request line; a nil id makes it a notification.
    public static func write(_ request: RPCRequest, into buffer: inout ByteBuffer) {
        var object: JSONObject = ["jsonrpc": "2.0", "method": .string(request.method)]
        if let params = request.params { object["params"] = params }
        if let id = request.id { object["id"] = id.json }
        write(.object(object), into: &buffer)
    }

    /// Decodes a line of answers (one response or a batch of them).
    public static func decodeResponses(_ line: ByteBuffer) throws(RPCError) -> [RPCResponse] {
        let json: JSON
        do {
            json = try line.withUnsafeReadableBytes { try JSON.parse($0) }
        } catch {
            throw .parseError("the server sent a line that is not JSON (\(error))")
        }
        if case .array(let elements) = json {
            return try elements.map { element throws(RPCError) in try response(from: element) }
        }
        return [try response(from: json)]
    }

    static func response(from json: JSON) throws(RPCError) -> RPCResponse {
        guard case .object(let object) = json, let rawID = object["id"], let id = RPCID(json: rawID) else {
            throw .invalidRequest("the server sent a response without a valid id")
        }
        if let error = object["error"] {
            guard let parsed = RPCError(json: error) else {
                throw .invalidRequest("the server sent a malformed error object")
            }
            return RPCResponse(id: id, outcome: .failure(parsed))
        }
        guard let result = object["result"] else {
            throw .invalidRequest("the server sent a response with neither result nor error")
        }
        return RPCResponse(id: id, outcome: .success(result))
    }

    // MARK: Shared

    static func write(_ json: JSON, into buffer: inout ByteBuffer) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256)
        json.serialize(into: &bytes)
        bytes.append(UInt8(ascii: "\n"))
        buffer.writeBytes(bytes)
    }
}
