/// An error from the database or from this library.
///
/// `description` is safe to log and show: it holds the error class, SQLSTATE, the constraint name
/// and advice, but never bind values or the server's `detail` (which can echo customer data such as
/// a duplicate key). `debugDescription` adds everything the server said.
public struct PostgresError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What kind of failure this is. Compare with the static constants.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case connectionFailed, connectionLost, connectionClosed, poolTimeout, poolClosed
            case uniqueViolation, foreignKeyViolation, checkViolation, notNullViolation
            case serializationFailure, deadlock, queryCanceled, invalidInput, syntaxOrAccess
            case decoding, encoding, migrationChecksumMismatch, migrationFailed, server
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Could not open a connection (server down, bad credentials, bad connection string).
        public static let connectionFailed = Code(.connectionFailed)
        /// The connection died during use (server restart, `pg_terminate_backend`, network).
        public static let connectionLost = Code(.connectionLost)
        /// The connection was closed by this process before the call.
        public static let connectionClosed = Code(.connectionClosed)
        /// Every pooled connection stayed busy for the whole acquire timeout.
        public static let poolTimeout = Code(.poolTimeout)
        /// The pool was closed.
        public static let poolClosed = Code(.poolClosed)
        /// SQLSTATE 23505.
        public static let uniqueViolation = Code(.uniqueViolation)
        /// SQLSTATE 23503.
        public static let foreignKeyViolation = Code(.foreignKeyViolation)
        /// SQLSTATE 23514.
        public static let checkViolation = Code(.checkViolation)
        /// SQLSTATE 23502.
        public static let notNullViolation = Code(.notNullViolation)
        /// SQLSTATE 40001.
        public static let serializationFailure = Code(.serializationFailure)
        /// SQLSTATE 40P01.
        public static let deadlock = Code(.deadlock)
        /// SQLSTATE 57014 (statement_timeout or a cancel request).
        public static let queryCanceled = Code(.queryCanceled)
        /// SQLSTATE class 22: a value did not fit its column type.
        public static let invalidInput = Code(.invalidInput)
        /// SQLSTATE class 42: syntax error, unknown table or column, missing privilege.
        public static let syntaxOrAccess = Code(.syntaxOrAccess)
        /// A result value could not be decoded into the requested Swift type.
        public static let decoding = Code(.decoding)
        /// A Swift value could not be sent as a parameter.
        public static let encoding = Code(.encoding)
        /// An applied migration's file was edited afterwards.
        public static let migrationChecksumMismatch = Code(.migrationChecksumMismatch)
        /// A migration could not be loaded or applied.
        public static let migrationFailed = Code(.migrationFailed)
        /// Any other server error; see `sqlState`.
        public static let server = Code(.server)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The five-character SQLSTATE, when the server sent one.
    public var sqlState: String?
    /// What happened. For server errors this is the server's primary message.
    public var message: String
    /// The server's detail line. May contain data values: not part of `description`.
    public var detail: String?
    /// The server's hint, if any.
    public var hint: String?
    /// The violated constraint, for integrity errors.
    public var constraint: String?
    /// The table involved, when the server reports it.
    public var table: String?
    /// The SQL text (with `$n` placeholders, never values) that failed, when known.
    public var query: String?

    public init(
        code: Code, sqlState: String? = nil, message: String, detail: String? = nil, hint: String? = nil,
        constraint: String? = nil, table: String? = nil, query: String? = nil
    ) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
        self.table = table
        self.query = query
    }

    /// True for a unique violation: the row already exists.
    public var isConflict: Bool { code == .uniqueViolation }

    /// True when re-running the whole transaction may succeed (40001, 40P01).
    public var isRetryableTransactionFailure: Bool {
        code == .serializationFailure || code == .deadlock
    }

    /// True when the connection that produced this error cannot be used again.
    public var isConnectionError: Bool {
        code == .connectionLost || code == .connectionFailed || code == .connectionClosed
    }

    public var description: String {
        var text = "PostgresError.\(code)"
        if let sqlState { text += " (SQLSTATE \(sqlState))" }
        text += ": " + safeMessage
        if let constraint { text += " [constraint \(constraint)]" }
        if let advice { text += "; " + advice }
        return text
    }

    public var debugDescription: String {
        var text = "PostgresError.\(code)"
        if let sqlState { text += " (SQLSTATE \(sqlState))" }
        text += ": " + message
        if let detail { text += "\nDETAIL: \(detail)" }
        if let hint { text += "\nHINT: \(hint)" }
        if let constraint { text += "\nCONSTRAINT: \(constraint)" }
        if let table { text += "\nTABLE: \(table)" }
        if let query { text += "\nQUERY: \(query)" }
        return text
    }

    /// The message without parts that may echo data values. Class 22 messages quote the rejected
    /// value (`invalid input syntax for type uuid: "..."`), so only their gist is kept.
    private var safeMessage: String {
        if code == .invalidInput, sqlState != nil {
            if let colon = message.firstIndex(of: ":") { return String(message[..<colon]) }
        }
        return message
    }

    private var advice: String? {
        switch code {
        case .uniqueViolation: "a row with the same key already exists; treat it as a conflict"
        case .foreignKeyViolation: "the referenced row does not exist or is still referenced"
        case .serializationFailure, .deadlock: "retry the whole transaction (PostgresPool.withTransaction does)"
        case .connectionLost: "the connection was discarded; the next call opens a new one"
        case .queryCanceled: "the statement ran past statement_timeout or was cancelled; look for slow queries or locks"
        default: nil
        }
    }
}

// MARK: - Building errors

extension PostgresError {
    /// Maps a SQLSTATE to a code, following the PostgreSQL error code appendix.
    static func code(forSQLState state: String) -> Code {
        switch state {
        case "23505": return .uniqueViolation
        case "23503": return .foreignKeyViolation
        case "23514": return .checkViolation
        case "23502": return .notNullViolation
        case "40001": return .serializationFailure
        case "40P01": return .deadlock
        case "57014": return .queryCanceled
        case "57P01", "57P02", "57P03": return .connectionLost
        default: break
        }
        if state.hasPrefix("08") { return .connectionLost }
        if state.hasPrefix("22") { return .invalidInput }
        if state.hasPrefix("42") { return .syntaxOrAccess }
        return .server
    }

    static func decoding(_ message: String) -> PostgresError {
        PostgresError(code: .decoding, message: message)
    }
}
