/// One element of `PostgresListener.notifications()`: a NOTIFY, or a marker about the listening
/// session itself.
public struct PostgresNotification: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// A `NOTIFY channel, 'payload'` from a committed transaction.
        case notification
        /// LISTEN is active on all channels (the first connection). Notifies sent after this arrive.
        case listening
        /// The session was lost and LISTEN was re-established on a new one. Notifies sent in between
        /// are lost: re-read the state you track (poll the table) after this marker.
        case reconnected
    }

    public let kind: Kind
    /// The channel (empty for markers).
    public let channel: String
    /// The payload (empty for markers).
    public let payload: String

    public init(channel: String, payload: String) {
        self.init(kind: .notification, channel: channel, payload: payload)
    }

    init(kind: Kind, channel: String = "", payload: String = "") {
        self.kind = kind
        self.channel = channel
        self.payload = payload
    }
}
