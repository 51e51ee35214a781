import Testing
import JSONCoding

@Suite struct ParserTests {
    static let accepted: [(String, JSON)] = [
        ("null", .null), ("true", true), ("false", false),
        ("0", 0), ("-0", 0), ("123", 123), ("-123", -123),
        ("9223372036854775807", .integer(.max)), ("-9223372036854775808", .integer(.min)),
        ("9223372036854775808", .double(9223372036854775808)),
        ("-9223372036854775809", .double(-9223372036854775809)),
        ("123456789012345678901234567890", .double(123456789012345678901234567890)),
        ("1.5", 1.5), ("-0.25", -0.25), ("1e3", 1000.0), ("1E3", 1000.0), ("1e+3", 1000.0), ("1e-3", 0.001),
        ("2.5E-3", 0.0025), ("0.1", 0.1), ("1.0", 1.0), ("-0.0", .double(-0.0)),
        ("1.7976931348623157e308", .double(1.7976931348623157e308)), ("5e-324", .double(5e-324)),
        ("123.456e-789", .double(0)), ("0.000000000000000000000000000001", .double(1e-30)),
        ("3.141592653589793238462643383279", .double(3.141592653589793)),
        (#""""#, ""), (#""abc""#, "abc"), (#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{8}\u{c}\n\r\t"),
        (#""\u0041\u00e9\u20AC""#, "Aé€"), (#""\uD83D\uDE00""#, "😀"), (#""\u0000""#, "\u{0}"),
        (#""héllo wörld 日本 😀""#, "héllo wörld 日本 😀"), (#""\uFFFF""#, "\u{FFFF}"),
        (#""\uDBFF\uDFFF""#, "\u{10FFFF}"),
        ("[]", []), ("[1,2,3]", [1, 2, 3]), ("[[],[[]]]", [[], [[]]]), ("{}", [:]),
        (#"{"a":1,"b":[true,null]}"#, ["a": 1, "b": [true, nil]]),
        (#"{"":0}"#, ["": 0]),
        (" \t\r\n[ 1 , { \"x\" : \"y\" } ] \n", [1, ["x": "y"]]),
        (#"{"a":{"b":{"c":[{"d":"e"}]}}}"#, ["a": ["b": ["c": [["d": "e"]]]]]),
    ]

    @Test func acceptsValidDocuments() throws {
        for (text, expected) in Self.accepted {
            let parsed = try JSON.parse(text)
            #expect(parsed == expected, "\(text)")
        }
    }

    static let rejected: [(name: String, bytes: [UInt8])] = {
        var cases: [(String, [UInt8])] = [
            ("empty", []), ("whitespace only", Array("  ".utf8)),
            ("trailing comma array", Array("[1,2,]".utf8)), ("trailing comma object", Array(#"{"a":1,}"#.utf8)),
            ("leading comma", Array("[,1]".utf8)), ("double comma", Array("[1,,2]".utf8)),
            ("leading zero", Array("01".utf8)), ("leading zero negative", Array("-01".utf8)), ("leading zero in array", Array("[00]".utf8)),
            ("plus sign", Array("+1".utf8)), ("bare minus", Array("-".utf8)), ("dot first", Array(".5".utf8)),
            ("dot last", Array("1.".utf8)), ("exponent without digits", Array("1e".utf8)), ("exponent sign only", Array("1e+".utf8)),
            ("NaN", Array("NaN".utf8)), ("Infinity", Array("Infinity".utf8)), ("-Infinity", Array("-Infinity".utf8)),
            ("hex", Array("0x10".utf8)), ("huge exponent", Array("1e400".utf8)),
            ("single quotes", Array("['a']".utf8)), ("unquoted key", Array("{a:1}".utf8)),
            ("comment", Array("[1]//c".utf8)), ("block comment", Array("/* c */ 1".utf8)),
            ("unterminated string", Array(#""abc"#.utf8)), ("unterminated array", Array("[1".utf8)),
            ("unterminated object", Array(#"{"a":1"#.utf8)), ("missing colon", Array(#"{"a" 1}"#.utf8)),
            ("missing value", Array(#"{"a":}"#.utf8)), ("non-string key", Array("{1:2}".utf8)),
            ("two values", Array("1 2".utf8)), ("trailing garbage", Array("{}x".utf8)),
            ("raw newline in string", Array("\"a\nb\"".utf8)), ("raw tab in string", Array("\"a\tb\"".utf8)),
            ("raw NUL in string", [0x22, 0x00, 0x22]), ("raw 0x1F", [0x22, 0x1F, 0x22]),
            ("bad escape", Array(#""\x""#.utf8)), ("short unicode escape", Array(#""\u12""#.utf8)),
            ("bad hex", Array(#""\u12G4""#.utf8)), ("lone high surrogate", Array(#""\uD800""#.utf8)),
            ("lone low surrogate", Array(#""\uDC00""#.utf8)), ("high then not low", Array(#""\uD800\u0041""#.utf8)),
            ("high then text", Array(#""\uD800abc""#.utf8)), ("truncated literal", Array("tru".utf8)),
            ("wrong literal", Array("nul".utf8)), ("capital literal", Array("True".utf8)),
            ("invalid byte 0xFF", [0x22, 0xFF, 0x22]), ("invalid byte 0xF5", [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22]),
            ("lone continuation", [0x22, 0x80, 0x22]), ("overlong slash C0 AF", [0x22, 0xC0, 0xAF, 0x22]),
            ("overlong C1", [0x22, 0xC1, 0xBF, 0x22]), ("overlong 3 bytes", [0x22, 0xE0, 0x80, 0xAF, 0x22]),
            ("overlong 4 bytes", [0x22, 0xF0, 0x80, 0x80, 0xAF, 0x22]), ("UTF-8 surrogate ED A0 80", [0x22, 0xED, 0xA0, 0x80, 0x22]),
            ("above U+10FFFF", [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22]), ("truncated sequence", [0x22, 0xE2, 0x82, 0x22]),
            ("truncated at end", [0x22, 0xE2, 0x82]), ("non-ASCII outside string", [0xC3, 0xA9]),
            ("BOM", [0xEF, 0xBB, 0xBF] + Array("1".utf8)), ("form feed whitespace", Array("\u{c}1".utf8)),
            ("NBSP whitespace", [0xC2, 0xA0, 0x31]),
        ]
        cases.append(("too deep arrays", Array(String(repeating: "[", count: 257).utf8) + Array(String(repeating: "]", count: 257).utf8)))
        cases.append(("too deep objects", Array(String(repeating: #"{"a":"#, count: 257).utf8) + Array("1".utf8) + Array(String(repeating: "}", count: 257).utf8)))
        cases.append(("very deep, unterminated", Array(String(repeating: "[", count: 100_000).utf8)))
        return cases
    }()

    @Test func rejectsInvalidDocuments() {
        for (name, bytes) in Self.rejected {
            #expect(throws: JSONParseError.self, "\(name)") { try JSON.parse(bytes) }
        }
    }

    @Test func nestingLimitIsExactly256() throws {
        let ok = String(repeating: "[", count: 256) + String(repeating: "]", count: 256)
        _ = try JSON.parse(ok)
        let tooDeep = "[" + ok + "]"
        let error = try #require(throws: JSONParseError.self) { try JSON.parse(tooDeep) }
        #expect(error.reason == "nesting deeper than 256 levels")
    }

    @Test func errorMessagesCarryOffsets() throws {
        func error(_ bytes: [UInt8]) throws -> JSONParseError {
            try #require(throws: JSONParseError.self) { try JSON.parse(bytes) }
        }
        var e = try error(Array(#"{"a":x}"#.utf8))
        #expect(e.offset == 5)
        #expect(e.description == "unexpected character 'x' at byte 5")
        e = try error([0x22, 0x61, 0xFF, 0x22])
        #expect(e.description == "invalid UTF-8 at byte 2")
        e = try error(Array("[1] 2".utf8))
        #expect(e.description == "trailing characters after JSON value at byte 4")
        e = try error(Array("[1,]".utf8))
        #expect(e.offset == 3)
        e = try error(Array("\"a\nb\"".utf8))
        #expect(e.offset == 2)
        #expect(e.reason.contains("control character"))
        e = try error(Array("[".utf8))
        #expect(e.description == "unexpected end of input at byte 1")
        e = try error(Array("012".utf8))
        #expect(e.reason.contains("leading zero"))
    }

    @Test func duplicateKeysKeepAllMembersLastWins() throws {
        let json = try JSON.parse(#"{"a":1,"b":2,"a":3}"#)
        #expect(json["a"] == 3)
        #expect(json.objectValue?.count == 3)
        #expect(json.objectValue?.keys == ["a", "b", "a"])
    }

    @Test func objectsPreserveOrder() throws {
        let json = try JSON.parse(#"{"z":1,"a":2,"m":3}"#)
        #expect(json.objectValue?.keys == ["z", "a", "m"])
        #expect(json.jsonString == #"{"z":1,"a":2,"m":3}"#)
    }

    @Test func parseOverloadsAgree() throws {
        let text = #"{"k":[1,"two",3.5]}"#
        let bytes = Array(text.utf8)
        let a = try JSON.parse(text)
        let b = try JSON.parse(bytes)
        let c = try bytes.withUnsafeBytes { raw in try JSON.parse(raw) }
        let d = try JSON.parse(bytes[...])  // ArraySlice
        let e = try JSON.parse(AnyCollection(bytes))  // non-contiguous path
        #expect(a == b && b == c && c == d && d == e)
    }

    @Test func accessors() throws {
        let json: JSON = ["s": "x", "i": 3, "d": 2.0, "f": 2.5, "n": nil, "a": [1, 2], "o": ["k": true]]
        #expect(json["s"]?.stringValue == "x")
        #expect(json["i"]?.int64Value == 3)
        #expect(json["d"]?.int64Value == 2)
        #expect(json["f"]?.int64Value == nil)
        #expect(json["i"]?.doubleValue == 3)
        #expect(json["n"]?.isNull == true)
        #expect(json["missing"] == nil)
        #expect(json["a"]?[1] == 2)
        #expect(json["a"]?[2] == nil)
        #expect(json["o"]?["k"]?.boolValue == true)
        #expect(json["o"]?.objectValue?.count == 1)
        #expect(json["a"]?.arrayValue?.count == 2)
        #expect(json[0] == nil)
    }

    @Test func objectMutation() {
        var object: JSONObject = ["a": 1, "b": 2]
        object["c"] = 3
        object["a"] = 10
        #expect(object.keys == ["a", "b", "c"])
        #expect(object["a"] == 10)
        #expect(object.removeValue(forKey: "b") == 2)
        #expect(object.keys == ["a", "c"])
        object["c"] = nil
        #expect(object.count == 1)
        #expect(object.removeValue(forKey: "zzz") == nil)
        object.append(key: "a", value: 11)
        #expect(object["a"] == 11)
        #expect(object.count == 2)
        #expect(object.removeValue(forKey: "a") == 11)
        #expect(object.isEmpty)
    }
}
