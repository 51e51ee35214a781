import Testing
import JSONCoding

@Suite struct SerializerTests {
    static let values: [JSON] = [
        .null, true, false, 0, -1, .integer(.max), .integer(.min), 1.5, -0.0, 1e20, 1e-7, 0.1, 123456.789,
        .double(1.7976931348623157e308), .double(5e-324), .double(Double(Int64.max)),
        "", "plain", "quote \" backslash \\ slash /", "\n\r\t\u{8}\u{c}", "\u{0}\u{1}\u{1F}\u{7F}",
        "é日本😀\u{10FFFF}", "line1\nline2\r\n", "\u{2028}\u{2029}",
        [], [1, "a", nil, [true]], [:], ["": ""], ["a\nb": ["c": [1, 2, ["d": nil]]]],
        ["dup": 1, "other": "x"],
    ]

    @Test func roundTrips() throws {
        for value in Self.values {
            let bytes = value.serialized()
            let parsed = try JSON.parse(bytes)
            #expect(parsed == value || (value.doubleValue?.isNaN ?? false), "\(value.jsonString)")
            #expect(!bytes.contains(0x0A) && !bytes.contains(0x0D), "\(value.jsonString)")
            #expect(!bytes.contains(where: { $0 < 0x20 }))
        }
    }

    @Test func exactOutput() {
        #expect(JSON.string("a/b").jsonString == #""a/b""#)
        #expect(JSON.string("\n\u{1}\"\\").jsonString == #""\n\u0001\"\\""#)
        #expect(JSON.string("é").serialized() == [0x22, 0xC3, 0xA9, 0x22])
        #expect(JSON.integer(-42).jsonString == "-42")
        #expect(JSON.integer(.min).jsonString == "-9223372036854775808")
        #expect(JSON.double(1.5).jsonString == "1.5")
        #expect(JSON.double(1e20).jsonString == "1e+20")
        #expect(JSON.double(.infinity).jsonString == "null")
        #expect(JSON.double(.nan).jsonString == "null")
        #expect(JSON.array([1, nil, "x"]).jsonString == #"[1,null,"x"]"#)
        #expect(JSON.object(["b": 1, "a": [true]]).jsonString == #"{"b":1,"a":[true]}"#)
    }

    @Test func doublesUseShortestRoundTripForm() throws {
        for d in [0.1, 0.2, 1.0 / 3.0, 2.0 / 3.0, 1e-300, 6.02214076e23, -123.456, 100.0, 1e15, 1e16, 1e22, 1e23] {
            let text = JSON.double(d).jsonString
            #expect(try JSON.parse(text).doubleValue == d, "\(text)")
        }
    }

    @Test func appendsToExistingBuffer() {
        var buffer = Array("x".utf8)
        JSON.array([1]).serialize(into: &buffer)
        #expect(buffer == Array("x[1]".utf8))
    }

    @Test func randomStringsRoundTrip() throws {
        var rng = SystemRandomNumberGenerator()
        let pieces: [String] = ["a", "bcdefgh", "\"", "\\", "/", "\n", "\r", "\t", "\u{0}", "\u{1F}", "\u{7F}", "é", "日", "😀", " "]
        for _ in 0..<2000 {
            let string = (0..<Int.random(in: 0..<40, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            let bytes = JSON.string(string).serialized()
            #expect(!bytes.contains(where: { $0 < 0x20 }))
            #expect(try JSON.parse(bytes) == .string(string))
        }
    }

    @Test func largeDocumentsGrowTheBuffer() throws {
        let long = String(repeating: "x\"y\n", count: 5000)
        let value: JSON = ["long": .string(long), "list": .array((0..<5000).map { .integer(Int64($0) * 1_000_003) })]
        let bytes = value.serialized()
        #expect(bytes.count > 50_000)
        #expect(try JSON.parse(bytes) == value)
        var buffer = Array("prefix".utf8)
        value.serialize(into: &buffer)
        #expect(buffer.count == bytes.count + 6)
        #expect(value.jsonString.utf8.count == bytes.count)
    }
}
