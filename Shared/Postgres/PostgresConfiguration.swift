import CLibPQ

/// How to reach a PostgreSQL database.
///
/// `connectionString` is anything libpq accepts: a keyword/value conninfo
/// (`host=db port=5432 dbname=intake user=onestop`) or a URI
/// (`postgresql://onestop@db:5432/intake`). The library always adds
/// `client_encoding=UTF8`, and sets `TimeZone=UTC` and `DateStyle=ISO` on every session, because
/// the value decoders rely on them.
public struct PostgresConfiguration: Sendable, Hashable {
    /// A libpq conninfo string or `postgresql://` URI.
    public var connectionString: String
    /// Shown in `pg_stat_activity.application_name`; set it to the service name.
    public var applicationName: String?
    /// How many statements each session keeps prepared (see `PreparedStatementCache`). 0 turns
    /// preparing off: needed behind a pooler that hands one session's statements to another
    /// client (PgBouncer in transaction mode before 1.21).
    public var maxPreparedStatements: Int

    public init(connectionString: String, applicationName: String? = nil, maxPreparedStatements: Int = 200) {
        self.connectionString = connectionString
        self.applicationName = applicationName
        self.maxPreparedStatements = maxPreparedStatements
    }

    /// The same server and credentials, but another database.
    ///
    /// Parses the connection string with libpq and rebuilds it as a keyword/value conninfo with
    /// `dbname` replaced. Throws `.connectionFailed` if the string does not parse.
    public func withDatabase(_ database: String) throws(PostgresError) -> PostgresConfiguration {
        var options = try Self.parse(connectionString)
        options["dbname"] = database
        var copy = self
        copy.connectionString = options.sorted { $0.key < $1.key }
            .map { "\($0.key)=\(Self.quoteConninfoValue($0.value))" }
            .joined(separator: " ")
        return copy
    }

    /// The keyword/value pairs libpq reads from `connectionString` (only those that are set).
    public func parsedOptions() throws(PostgresError) -> [String: String] {
        try Self.parse(connectionString)
    }

    static func parse(_ conninfo: String) throws(PostgresError) -> [String: String] {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &errorMessage) else {
            let reason = errorMessage.map { String(cString: $0) } ?? "out of memory"
            if let errorMessage { PQfreemem(errorMessage) }
            throw PostgresError(
                code: .connectionFailed,
                message: "the database connection string does not parse (\(reason.trimmingTrailingNewlines)); "
                    + "use `host=... dbname=... user=...` or `postgresql://user@host:port/dbname`"
            )
        }
        defer { PQconninfoFree(options) }
        var result: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val {
                result[String(cString: keyword)] = String(cString: value)
            }
            option += 1
        }
        return result
    }

    static func quoteConninfoValue(_ value: String) -> String {
        var quoted = "'"
        for character in value {
            if character == "'" || character == "\\" { quoted.append("\\") }
            quoted.append(character)
        }
        quoted.append("'")
        return quoted
    }
}

extension String {
    var trimmingTrailingNewlines: String {
        var copy = self
        while let last = copy.last, last.isNewline || last == " " { copy.removeLast() }
        return copy
    }
}
