import Foundation
@testable import Postgres
import Testing

@Suite("SQL building and text formats")
struct SQLTests {
    @Test func interpolatedValuesBecomeNumberedPlaceholders() {
        let name = "O'Brien"
        let sql: SQL = "SELECT * FROM people WHERE name = \(name) AND age > \(30)"
        #expect(sql.text == "SELECT * FROM people WHERE name = $1 AND age > $2")
        #expect(sql.bindCount == 2)
    }

    @Test func concatenationRenumbersPlaceholders() {
        var sql: SQL = "SELECT * FROM cases WHERE status = \("open")"
        sql += " AND owner = \("alice")"
        let combined = sql + " LIMIT \(10)"
        #expect(combined.text == "SELECT * FROM cases WHERE status = $1 AND owner = $2 LIMIT $3")
        let filter: SQL = "region = \("north")"
        let nested: SQL = "SELECT 1 FROM t WHERE a = \(1) AND \(filter) AND \(unsafeRaw: "b") = \(2)"
        #expect(nested.text == "SELECT 1 FROM t WHERE a = $1 AND region = $2 AND b = $3")
        #expect(nested.bindCount == 3)
    }

    @Test func arrayLiteralsParseQuotingAndNulls() {
        #expect(PostgresArrayLiteral.parse("{}")! == [])
        #expect(PostgresArrayLiteral.parse(#"{a,"b c","d\"e",NULL,"NULL"}"#)! == ["a", "b c", "d\"e", nil, "NULL"])
        #expect(PostgresArrayLiteral.parse("[0:1]={x,y}")! == ["x", "y"])
        #expect(PostgresArrayLiteral.parse("{{1,2},{3,4}}") == nil)
    }

    @Test func timestampsFormatAndParse() throws {
        let date = Date(timeIntervalSince1970: 1_714_552_200.123456)
        #expect(PostgresTimestamp.format(date) == "2024-05-01 08:30:00.123456+00")
        let parsed = try #require(PostgresTimestamp.parse("2024-05-01 10:30:00.123456+02"))
        #expect(abs(parsed.timeIntervalSince1970 - 1_714_552_200.123456) < 0.000_001)
        #expect(PostgresTimestamp.parse("1969-12-31 23:59:59+00")?.timeIntervalSince1970 == -1)
        #expect(PostgresTimestamp.parse("2024-05-01 08:30:00+05:30")?.timeIntervalSince1970 == 1_714_532_400)
        #expect(PostgresTimestamp.parse("infinity") == .distantFuture)
        #expect(PostgresTimestamp.parse("yesterday") == nil)
    }

    @Test func sha256MatchesKnownVectors() {
        #expect(SHA256.hex(Array("".utf8)) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        )
    }

    @Test func errorDescriptionsHideServerDetail() {
        let error = PostgresError(
            code: .uniqueViolation, sqlState: "23505", message: "duplicate key value violates unique constraint \"people_email_key\"",
            detail: "Key (email)=(alice@example.com) already exists.", constraint: "people_email_key"
        )
        #expect(!error.description.contains("alice@example.com"))
        #expect(error.debugDescription.contains("alice@example.com"))
        let input = PostgresError(code: .invalidInput, sqlState: "22P02", message: "invalid input syntax for type uuid: \"secret\"")
        #expect(!input.description.contains("secret"))
    }

    @Test func sqlStatesMapToCodes() {
        #expect(PostgresError.code(forSQLState: "23505") == .uniqueViolation)
        #expect(PostgresError.code(forSQLState: "40P01") == .deadlock)
        #expect(PostgresError.code(forSQLState: "22P02") == .invalidInput)
        #expect(PostgresError.code(forSQLState: "42P01") == .syntaxOrAccess)
        #expect(PostgresError.code(forSQLState: "57P01") == .connectionLost)
        #expect(PostgresError.code(forSQLState: "08006") == .connectionLost)
        #expect(PostgresError.code(forSQLState: "XX000") == .server)
    }

    @Test func configurationCanSwitchDatabase() throws {
        let uri = PostgresConfiguration(connectionString: "postgresql://app:pa%20ss@db.internal:6543/intake?sslmode=disable")
        let options = try uri.withDatabase("review").parsedOptions()
        #expect(options["dbname"] == "review")
        #expect(options["host"] == "db.internal")
        #expect(options["password"] == "pa ss")
        #expect(options["sslmode"] == "disable")
        #expect(throws: PostgresError.self) { try PostgresConfiguration(connectionString: "host='unterminated").withDatabase("x") }
    }
}
