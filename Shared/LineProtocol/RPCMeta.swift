import JSONCoding

/// The end user on whose behalf a call is made, as the gateway authenticated them.
public struct RPCActor: Sendable, Hashable, Codable {
    public var id: String
    public var roles: [String]
    public var department: String?

    public init(id: String, roles: [String], department: String? = nil) {
        self.id = id
        self.roles = roles
        self.department = department
    }
}

/// `params._meta`: what travels with a call besides its parameters.
public struct RPCMeta: Sendable, Hashable, Codable {
    /// W3C trace context of the caller.
    public var traceparent: String?
    /// Epoch milliseconds after which the caller no longer waits for the answer.
    public var deadline: Int64?
    public var actor: RPCActor?
    /// Set by outbox relays: the idempotency key the receiver records in its inbox.
    public var messageId: String?

    public init(traceparent: String? = nil, deadline: Int64? = nil, actor: RPCActor? = nil, messageId: String? = nil) {
        self.traceparent = traceparent
        self.deadline = deadline
        self.actor = actor
        self.messageId = messageId
    }

    public var isEmpty: Bool { traceparent == nil && deadline == nil && actor == nil && messageId == nil }

    /// Reads `_meta` from a params object; malformed members are ignored rather than failing the
    /// call, because metadata is advisory and older callers may send less.
    public init(params: JSON?) {
        self.init()
        guard case .object(let meta)? = params?["_meta"] else { return }
        traceparent = meta["traceparent"]?.stringValue
        deadline = meta["deadline"]?.int64Value
        messageId = meta["messageId"]?.stringValue
        if let actor = meta["actor"] {
            self.actor = try? JSONValueDecoder().decode(RPCActor.self, from: actor)
        }
    }

    public var json: JSON {
        var object = JSONObject()
        if let traceparent { object["traceparent"] = .string(traceparent) }
        if let deadline { object["deadline"] = .integer(deadline) }
        if let actor, let encoded = try? JSONValueEncoder().encode(actor) { object["actor"] = encoded }
        if let messageId { object["messageId"] = .string(messageId) }
        return .object(object)
    }
}
