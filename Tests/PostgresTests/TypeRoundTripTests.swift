import Foundation
import Postgres
import Testing

@Suite("Values round-trip through PostgreSQL")
struct TypeRoundTripTests {
    private func echo<T: PostgresEncodable & PostgresDecodable>(_ value: T, on pool: PostgresPool) async throws -> T {
        let rows = try await pool.query("SELECT \(value) AS v")
        return try #require(rows.first).decode(T.self, column: "v")
    }

    @Test func scalarValuesComeBackUnchanged() async throws {
        let (pool, _) = try await makePool()
        defer { Task { await pool.close() } }
        for text in ["", "plain", "中文字符", "emoji 🎉👩‍👩‍👧", "quote ' and \" and \\ backslash", "x'); DROP TABLE t; --", "line\nbreak\ttab"] {
            #expect(try await echo(text, on: pool) == text)
        }
        for number in [0, 1, -1, Int.max, Int.min] { #expect(try await echo(number, on: pool) == number) }
        #expect(try await echo(Int64.min, on: pool) == Int64.min)
        #expect(try await echo(Int32.max, on: pool) == Int32.max)
        #expect(try await echo(Int16.min, on: pool) == Int16.min)
        #expect(try await echo(true, on: pool) == true)
        #expect(try await echo(false, on: pool) == false)
        for double in [0.0, -1.5, 1e-300, 3.141592653589793, .greatestFiniteMagnitude, .infinity, -.infinity] {
            #expect(try await echo(double, on: pool) == double)
        }
        #expect(try await echo(Double.nan, on: pool).isNaN)
        for decimal in ["0", "-12.345", "12345678901234567890.123456789", "0.000001"] {
            let value = try #require(Decimal(string: decimal))
            #expect(try await echo(value, on: pool) == value)
        }
        let uuid = UUID()
        #expect(try await echo(uuid, on: pool) == uuid)
        for seconds in [0.0, 1_700_000_000.123456, -1_000_000_000.5, 4_102_444_800.000001] {
            let date = Date(timeIntervalSince1970: seconds)
            let back = try await echo(date, on: pool)
            #expect(abs(back.timeIntervalSince1970 - seconds) < 0.000_001)
        }
        for day in [PostgresDate(year: 2024, month: 2, day: 29), PostgresDate(year: 1, month: 1, day: 1), PostgresDate(year: 9999, month: 12, day: 31)] {
            #expect(try await echo(day, on: pool) == day)
        }
    }

    @Test func arraysBytesAndJSONComeBackUnchanged() async throws {
        let (pool, _) = try await makePool()
        defer { Task { await pool.close() } }
        for tags in [[], ["a"], ["with space", "comma,inside", "{braces}", "quote\"s", "back\\slash", "NULL", "", "中文", "🎉"]] {
            #expect(try await echo(tags, on: pool) == tags)
        }
        #expect(try await echo([1, -2, Int.max], on: pool) == [1, -2, Int.max])
        let uuids = [UUID(), UUID()]
        #expect(try await echo(uuids, on: pool) == uuids)
        let bytes: [UInt8] = [0, 1, 0x7f, 0x80, 0xff] + Array("é".utf8)
        #expect(try await echo(bytes, on: pool) == bytes)
        #expect(try await echo([UInt8](), on: pool) == [])
        let data = Data((0...255).map { UInt8($0) })
        #expect(try await echo(data, on: pool) == data)
        let rows = try await pool.query(#"SELECT \#(PostgresJSONB(rawJSON: #"{"b": [1, 2], "a": "中文"}"#)) AS doc"#)
        let document = try rows[0].decode(PostgresJSONB.self, column: "doc")
        #expect(document.rawJSON == #"{"a": "中文", "b": [1, 2]}"#)  // jsonb normalises key order
    }

    @Test func everyColumnTypeStoresAndLoads() async throws {
        let (pool, _) = try await makePool()
        defer { Task { await pool.close() } }
        try await pool.query(
            """
            CREATE TABLE everything (
                s text, i int8, i32 int4, i16 int2, b bool, d float8, n numeric, u uuid, ts timestamptz,
                day date, tags text[], bytes bytea, doc jsonb
            )
            """
        )
        let now = Date(timeIntervalSince1970: 1_714_552_200.25)
        let uuid = UUID()
        let inserted = try await pool.execute(
            """
            INSERT INTO everything VALUES (\("中文 🎉"), \(42), \(Int32(7)), \(Int16(3)), \(true), \(2.5), \(Decimal(string: "19.99")!),
              \(uuid), \(now), \(PostgresDate(year: 2024, month: 5, day: 1)), \(["x", "y z"]), \([UInt8]([1, 2, 3])),
              \(PostgresJSONB(rawJSON: #"{"k": 1}"#)))
            """
        )
        #expect(inserted == 1)
        let nulls: (String?, Int?, Int32?, Int16?, Bool?, Double?, Decimal?, UUID?, Date?, PostgresDate?, [String]?, [UInt8]?, PostgresJSONB?) =
            (nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil)
        try await pool.execute(
            """
            INSERT INTO everything VALUES (\(nulls.0), \(nulls.1), \(nulls.2), \(nulls.3), \(nulls.4), \(nulls.5), \(nulls.6),
              \(nulls.7), \(nulls.8), \(nulls.9), \(nulls.10), \(nulls.11), \(nulls.12))
            """
        )

        let rows = try await pool.query("SELECT * FROM everything ORDER BY s NULLS LAST")
        #expect(rows.count == 2)
        #expect(rows.columnNames == ["s", "i", "i32", "i16", "b", "d", "n", "u", "ts", "day", "tags", "bytes", "doc"])
        let row = rows[0]
        #expect(try row.decode(String.self, column: "s") == "中文 🎉")
        #expect(try row.decode(Int.self, column: "i") == 42)
        #expect(try row.decode(Int32.self, column: "i32") == 7)
        #expect(try row.decode(Int16.self, column: "i16") == 3)
        #expect(try row.decode(Bool.self, column: "b") == true)
        #expect(try row.decode(Double.self, column: "d") == 2.5)
        #expect(try row.decode(Decimal.self, column: "n") == Decimal(string: "19.99"))
        #expect(try row.decode(UUID.self, column: "u") == uuid)
        #expect(try row.decode(Date.self, column: "ts") == now)
        #expect(try row.decode(PostgresDate.self, column: "day") == PostgresDate(year: 2024, month: 5, day: 1))
        #expect(try row.decode([String].self, column: "tags") == ["x", "y z"])
        #expect(try row.decode([UInt8].self, column: "bytes") == [1, 2, 3])
        #expect(try row.decode(PostgresJSONB.self, column: "doc").rawJSON == #"{"k": 1}"#)
        #expect(try row.decode(Int.self, at: 1) == 42)

        let empty = rows[1]
        #expect(try empty.decode(String?.self, column: "s") == nil)
        #expect(try empty.decode(Int?.self, column: "i") == nil)
        #expect(try empty.decode(Date?.self, column: "ts") == nil)
        #expect(try empty.decode([String]?.self, column: "tags") == nil)
        #expect(try empty.decode([UInt8]?.self, column: "bytes") == nil)
        #expect(try empty.decode(PostgresJSONB?.self, column: "doc") == nil)
        #expect(empty.isNull(at: 0))

        let error = try #require(throws: PostgresError.self) { try empty.decode(String.self, column: "s") }
        #expect(error.code == .decoding)
        #expect(error.message.contains("\"s\""))
        #expect(throws: PostgresError.self) { try row.decode(Int.self, column: "no_such_column") }
        #expect(throws: PostgresError.self) { try row.decode(Int.self, column: "s") }
    }

    @Test func injectionAttemptIsStoredAsData() async throws {
        let (pool, _) = try await makePool()
        defer { Task { await pool.close() } }
        try await pool.query("CREATE TABLE t (name text)")
        let attack = "x'); DROP TABLE t; --"
        try await pool.execute("INSERT INTO t (name) VALUES (\(attack))")
        let rows = try await pool.query("SELECT name FROM t WHERE name = \(attack)")
        #expect(try rows.map { try $0.decode(String.self, column: "name") } == [attack])
        let exists = try await pool.query("SELECT to_regclass('t') IS NOT NULL AS present")
        #expect(try exists[0].decode(Bool.self, column: "present"))
    }

    @Test func nulCharactersAreRefusedBeforeSending() async throws {
        let (pool, _) = try await makePool()
        defer { Task { await pool.close() } }
        let error = await #expect(throws: PostgresError.self) { try await pool.query("SELECT \("a\u{0}b")") }
        #expect(error?.code == .encoding)
    }
}
