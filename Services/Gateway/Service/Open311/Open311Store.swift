import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// One request a civic app submitted through Open311: its token and the case it became.
struct Open311Submission: Sendable {
    var token: String
    var trackingNumber: String
    var serviceCode: String
    var submittedAt: Date
}

/// The SQL of Open311 submissions: which API token submitted which case, under which token.
struct Open311Store: Sendable {
    let database: PostgresPool

    /// Records a submission; for a retried one (same idempotency key) the first token is kept
    /// and returned.
    func record(token: String, idempotencyKey: String, trackingNumber: String, serviceCode: String, apiTokenID: UUID) async throws -> String {
        let rows = try await database.query("""
            INSERT INTO open311_requests (token, idempotency_key, tracking_number, service_code, api_token_id)
            VALUES (\(token), \(idempotencyKey), \(trackingNumber), \(serviceCode), \(apiTokenID))
            ON CONFLICT (idempotency_key) DO UPDATE SET tracking_number = EXCLUDED.tracking_number
            RETURNING token
            """)
        return try rows[0].decode(String.self, column: "token")
    }

    /// The submission behind a token, when that API token made it.
    func submission(token: String, apiTokenID: UUID) async throws -> Open311Submission? {
        try await database.query("""
            SELECT token, tracking_number, service_code, submitted_at FROM open311_requests
            WHERE token = \(token) AND api_token_id = \(apiTokenID)
            """).first.map(Self.submission)
    }

    /// What this API token submitted, newest first, filtered as GET requests filters.
    func submissions(apiTokenID: UUID, trackingNumbers: [String]?, serviceCode: String?, from: Date?, to: Date?, limit: Int) async throws -> [Open311Submission] {
        var sql: SQL = "SELECT token, tracking_number, service_code, submitted_at FROM open311_requests WHERE api_token_id = \(apiTokenID)"
        if let trackingNumbers { sql += " AND tracking_number = ANY(\(trackingNumbers))" }
        if let serviceCode { sql += " AND service_code = \(serviceCode)" }
        if let from { sql += " AND submitted_at >= \(from)" }
        if let to { sql += " AND submitted_at <= \(to)" }
        sql += " ORDER BY submitted_at DESC LIMIT \(limit)"
        return try await database.query(sql).map(Self.submission)
    }

    private static func submission(_ row: PostgresRow) throws -> Open311Submission {
        Open311Submission(
            token: try row.decode(String.self, column: "token"),
            trackingNumber: try row.decode(String.self, column: "tracking_number"),
            serviceCode: try row.decode(String.self, column: "service_code"),
            submittedAt: try row.decode(Date.self, column: "submitted_at")
        )
    }
}
