import JSONCoding
import RPCTesting

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The gateway's public HTTP API as the scenarios use it: JSON in, JSON out, a staff session
/// cookie where one is needed. Nothing else of the system is touched by the scenarios.
public struct GatewayAPI: Sendable {
    public let port: Int

    public init(port: Int) { self.port = port }

    public struct Answer: Sendable, CustomStringConvertible {
        public var status: Int
        public var body: String
        public var json: JSON { (try? JSON.parse(Array(body.utf8))) ?? .null }
        public var description: String { "\(status) \(body.prefix(600))" }
    }

    /// A staff member logged in through the API.
    public struct Session: Sendable {
        public var user: String
        public var cookie: String
    }

    /// One request; the answer whatever its status.
    public func send(_ method: String, _ path: String, _ body: JSON? = nil, as session: Session? = nil) async throws -> Answer {
        var headers: [(String, String)] = []
        if let session { headers.append(("Cookie", "onestop_session=\(session.cookie)")) }
        let response = try await HTTPTestClient.send(port: port, method: method, path: path, headers: headers, body: body?.jsonString)
        return Answer(status: response.status, body: response.body)
    }

    /// One request that must answer `expecting` (2xx by default); its JSON body.
    @discardableResult
    public func call(_ method: String, _ path: String, _ body: JSON? = nil, as session: Session? = nil, expecting: Int? = nil) async throws -> JSON {
        let answer = try await send(method, path, body, as: session)
        let fine = expecting.map { answer.status == $0 } ?? (200..<300).contains(answer.status)
        guard fine else {
            throw EndToEndError("\(method) \(path) answered \(answer) (expected \(expecting.map(String.init) ?? "2xx"))")
        }
        return answer.json
    }

    /// Logs in; the session cookie.
    public func login(_ user: String, _ password: String) async throws -> Session {
        let response = try await HTTPTestClient.send(
            port: port, method: "POST", path: "/v1/auth/login", body: (["user": .string(user), "password": .string(password)] as JSON).jsonString
        )
        guard response.status == 200,
              let cookie = response.setCookies.first(where: { $0.hasPrefix("onestop_session=") }) else {
            throw EndToEndError("login of \(user) answered \(response.status) \(response.body.prefix(300))")
        }
        return Session(user: user, cookie: String(cookie.dropFirst("onestop_session=".count).prefix { $0 != ";" }))
    }

    /// The bootstrap administrator is created as the gateway starts; wait until they can log in.
    /// Generous: a dedicated system started while the rest of the suite loads both cores took
    /// more than 30 s in one CI run.
    public func waitForLogin(_ user: String, _ password: String) async throws {
        _ = try await eventually("the administrator can log in", timeout: .seconds(90)) {
            try? await login(user, password)
        }
    }
}

/// Polls `probe` until it gives a value, failing after `timeout` with `what` in the message.
/// Every wait in the scenarios goes through here: no fixed sleeps.
public func eventually<T: Sendable>(
    _ what: String, timeout: Duration = .seconds(60), every interval: Duration = .milliseconds(100),
    _ probe: () async throws -> T?
) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    var lastError: (any Error)?
    while true {
        do {
            if let value = try await probe() { return value }
            lastError = nil
        } catch {
            lastError = error
        }
        guard ContinuousClock.now < deadline else {
            throw EndToEndError("timed out after \(timeout) waiting until \(what)\(lastError.map { ": last error \($0)" } ?? "")")
        }
        try await Task.sleep(for: interval)
    }
}

extension JSON {
    /// Reads a contract type from an API answer.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONValueDecoder().decode(type, from: self)
    }

    /// Encodes a contract type as a request body.
    public static func encoding(_ value: some Encodable) throws -> JSON {
        try JSONValueEncoder().encode(value)
    }
}
