import Foundation
import Testing
import JSONCoding

enum Priority: String, Codable, Equatable { case low, normal, high }
enum Level: Int, Codable, Equatable { case one = 1, two = 2 }

struct Phone: Codable, Equatable { var number: String; var verified: Bool? }
struct Customer: Codable, Equatable {
    var name: String
    var phone: Phone?
    var phones: [Phone]
}

struct Everything: Codable, Equatable {
    var id: UUID
    var customer: Customer
    var priority: Priority
    var level: Level
    var tags: [String]
    var counts: [String: Int]
    var labels: [String: String]
    var matrix: [[Double]]
    var optionalInt: Int?
    var optionalMissing: String?
    var created: Date
    var blob: Data
    var amount: Decimal
    var link: URL
    var extra: JSON
    var extraObject: JSONObject
    var small: Int8
    var unsigned: UInt64
    var float: Float
    var flags: [Bool]
    var ids: [UUID]
    var nestedOptionals: [Int?]
}

func sample() -> Everything {
    Everything(
        id: UUID(uuidString: "E621E1F8-C36C-495A-93FC-0C247A3E6E5F")!,
        customer: Customer(name: "Zoë \"Z\" Smith\n", phone: Phone(number: "+31 6 1234", verified: nil),
                           phones: [Phone(number: "1", verified: true), Phone(number: "2", verified: false)]),
        priority: .high, level: .two,
        tags: ["a", "b/c", "日本"],
        counts: ["x": 1, "y": -2],
        labels: ["k": "v"],
        matrix: [[1.5, 2], [], [-0.25]],
        optionalInt: 7, optionalMissing: nil,
        created: Date(timeIntervalSince1970: 1_795_439_100.123),
        blob: Data([0, 1, 2, 255, 254]),
        amount: Decimal(string: "12.50")!,
        link: URL(string: "https://example.com/a/b?c=d&e=%20")!,
        extra: ["free": ["form": [1, 2.5, nil, "x"]], "n": .integer(.max)],
        extraObject: ["b": 1, "a": 2],
        small: -128, unsigned: 1 << 63 - 1, float: 0.1,
        flags: [true, false], ids: [UUID(uuidString: "00000000-0000-0000-0000-000000000001")!],
        nestedOptionals: [1, nil, 3]
    )
}

@Suite struct CodableTests {
    let encoder = JSONValueEncoder()
    let decoder = JSONValueDecoder()

    @Test func roundTripThroughValueAndBytes() throws {
        let value = sample()
        let json = try encoder.encode(value)
        #expect(try decoder.decode(Everything.self, from: json) == value)
        let reparsed = try JSON.parse(json.serialized())
        #expect(reparsed == json)
        #expect(try decoder.decode(Everything.self, from: reparsed) == value)
        #expect(try decoder.decode(Everything.self, from: encoder.encodeToBytes(value)) == value)
    }

    @Test func specialRepresentations() throws {
        let json = try encoder.encode(sample())
        #expect(json["created"] == "2026-11-23T13:05:00.123Z")
        #expect(json["blob"] == "AAEC//4=")
        #expect(json["amount"] == 12.5)
        #expect(json["link"] == "https://example.com/a/b?c=d&e=%20")
        #expect(json["id"] == "E621E1F8-C36C-495A-93FC-0C247A3E6E5F")
        #expect(json["priority"] == "high")
        #expect(json["level"] == 2)
        #expect(json["extra"] == ["free": ["form": [1, 2.5, nil, "x"]], "n": .integer(.max)])
        #expect(json["extraObject"]?.objectValue?.keys == ["b", "a"])
        #expect(json["optionalMissing"] == nil)
        #expect(json["float"] == 0.1)
        #expect(json["customer"]?["phone"]?["verified"] == nil)
        #expect(json["nestedOptionals"] == [1, nil, 3])
        // Declaration order is kept.
        #expect(json.objectValue?.keys.prefix(3) == ["id", "customer", "priority"])
    }

    @Test func decimalsAreExact() throws {
        for text in ["12.5", "0.1", "19.99", "-3.333", "1234567.89", "0.000001", "100"] {
            let decimal = try decoder.decode(Decimal.self, from: JSON.parse(text))
            #expect(decimal == Decimal(string: text)!, "\(text)")
            let back = try encoder.encode(decimal)
            #expect(try back.jsonString == JSON.parse(text).jsonString, "\(text)")
        }
        #expect(try encoder.encode(Decimal(string: "12.50")!).jsonString == "12.5")
        #expect(try encoder.encode(Decimal(42)) == .integer(42))
        #expect(try decoder.decode(Decimal.self, from: "9.95") == Decimal(string: "9.95")!)
    }

    @Test func datesAcceptVariants() throws {
        let base = Date(timeIntervalSince1970: 1_795_439_100)
        let cases: [(String, Date)] = [
            ("2026-11-23T13:05:00Z", base),
            ("2026-11-23T13:05:00.000Z", base),
            ("2026-11-23T13:05:00.5Z", base.addingTimeInterval(0.5)),
            ("2026-11-23T14:05:00+01:00", base),
            ("2026-11-23T08:35:00-04:30", base),
            ("2026-11-23T14:05:00+0100", base),
            ("2026-11-23t13:05:00z", base),
            ("1970-01-01T00:00:00Z", Date(timeIntervalSince1970: 0)),
            ("1969-12-31T23:59:59.999Z", Date(timeIntervalSince1970: -0.001)),
            ("2000-02-29T00:00:00Z", Date(timeIntervalSince1970: 951_782_400)),
        ]
        for (text, expected) in cases {
            let date = try decoder.decode(Date.self, from: .string(text))
            #expect(abs(date.timeIntervalSince1970 - expected.timeIntervalSince1970) < 1e-6, "\(text)")
        }
        for bad in ["2026-11-23", "2026-11-23T13:05:00", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
                    "2026-11-23T25:00:00Z", "2026-11-23T13:05:00.Z", "yesterday", "2026-11-23T13:05:00Zjunk"] {
            #expect(throws: DecodingError.self, "\(bad)") { try decoder.decode(Date.self, from: .string(bad)) }
        }
        #expect(try encoder.encode(Date(timeIntervalSince1970: -0.001)) == "1969-12-31T23:59:59.999Z")
        #expect(try encoder.encode(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
    }

    @Test func missingKeyAndTypeMismatchCarryPath() throws {
        struct Params: Codable { var customer: Customer }
        let wrongType: JSON = ["customer": ["name": "A", "phone": ["number": 5], "phones": []]]
        let error = try #require(throws: DecodingError.self) { try decoder.decode(Params.self, from: wrongType) }
        guard case .typeMismatch(_, let context) = error else { Issue.record("\(error)"); return }
        #expect(context.codingPath.map(\.stringValue) == ["customer", "phone", "number"])
        #expect(JSONValueDecoder.describe(error, pathPrefix: "params") == "params.customer.phone.number: expected a string but found a number")

        let missing: JSON = ["customer": ["phones": []]]
        let error2 = try #require(throws: DecodingError.self) { try decoder.decode(Params.self, from: missing) }
        guard case .keyNotFound(let key, let context2) = error2 else { Issue.record("\(error2)"); return }
        #expect(key.stringValue == "name")
        #expect(context2.codingPath.map(\.stringValue) == ["customer"])
        #expect(JSONValueDecoder.describe(error2) == "customer.name: is required")

        let inArray: JSON = ["customer": ["name": "A", "phones": [["number": "1"], ["number": nil]]]]
        let error3 = try #require(throws: DecodingError.self) { try decoder.decode(Params.self, from: inArray) }
        #expect(JSONValueDecoder.describe(error3) == "customer.phones[1].number: expected a string but found null")

        struct Tags: Codable { var tags: [String] }
        let error4 = try #require(throws: DecodingError.self) { try decoder.decode(Tags.self, from: ["tags": ["a", 1]]) }
        #expect(JSONValueDecoder.describe(error4) == "tags[1]: expected a string but found a number")
    }

    @Test func optionalsAndUnknownKeys() throws {
        let json: JSON = ["name": "A", "phone": nil, "phones": [], "unknown": [1, 2, 3]]
        let customer = try decoder.decode(Customer.self, from: json)
        #expect(customer == Customer(name: "A", phone: nil, phones: []))
    }

    @Test func integerRangesAndConversions() throws {
        #expect(try decoder.decode(Int8.self, from: 127) == 127)
        #expect(throws: DecodingError.self) { try decoder.decode(Int8.self, from: 128) }
        #expect(throws: DecodingError.self) { try decoder.decode(UInt8.self, from: -1) }
        #expect(throws: DecodingError.self) { try decoder.decode(UInt.self, from: -1) }
        #expect(try decoder.decode(Int.self, from: 3.0) == 3)
        #expect(throws: DecodingError.self) { try decoder.decode(Int.self, from: 3.5) }
        #expect(try decoder.decode(UInt64.self, from: JSON.parse("10000000000000000000")) == 10_000_000_000_000_000_000)
        #expect(try decoder.decode(Double.self, from: 3) == 3.0)
        #expect(throws: DecodingError.self) { try decoder.decode(Int.self, from: "3") }
        #expect(throws: DecodingError.self) { try decoder.decode(Bool.self, from: 1) }
        #expect(throws: DecodingError.self) { try decoder.decode(String.self, from: nil) }
        #expect(try decoder.decode(Int?.self, from: nil) == nil)
        #expect(try decoder.decode([Int?].self, from: [1, nil]) == [1, nil])
        #expect(try decoder.decode(Level.self, from: 1) == .one)
        #expect(throws: DecodingError.self) { try decoder.decode(Level.self, from: 3) }
        #expect(throws: DecodingError.self) { try decoder.decode(Priority.self, from: "urgent") }
    }

    @Test func nonFiniteDoublesThrow() {
        #expect(throws: EncodingError.self) { try encoder.encode(Double.nan) }
        #expect(throws: EncodingError.self) { try encoder.encode(["x": Double.infinity]) }
        #expect(throws: EncodingError.self) { try encoder.encode([1.0, -Double.infinity]) }
        #expect(throws: EncodingError.self) { try encoder.encode(Float.nan) }
    }

    @Test func topLevelValues() throws {
        #expect(try encoder.encode("x") == "x")
        #expect(try encoder.encode(5) == 5)
        #expect(try encoder.encode([1, 2]) == [1, 2])
        #expect(try encoder.encode(["a": 1]) == ["a": 1])
        #expect(try encoder.encode(Optional<Int>.none) == nil)
        #expect(try encoder.encode(JSON.array([1])) == [1])
        #expect(try encoder.encode(UInt64.max) == .double(Double(UInt64.max)))
        #expect(try decoder.decode(JSON.self, from: ["a": [1]]) == ["a": [1]])
        #expect(try decoder.decode([String: JSON].self, from: ["a": [1]]) == ["a": [1]])
        #expect(try decoder.decode([String: [Int]].self, from: ["a": [1]]) == ["a": [1]])
    }

    /// Hand-written Codable using nested containers and super encoders/decoders.
    struct Manual: Codable, Equatable {
        var a: Int
        var b: [String]
        var c: Int
        var d: String

        enum Keys: String, CodingKey { case outer, list, inner, sup }
        enum InnerKeys: String, CodingKey { case a }

        init(a: Int, b: [String], c: Int, d: String) { self.a = a; self.b = b; self.c = c; self.d = d }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            var outer = container.nestedContainer(keyedBy: InnerKeys.self, forKey: .outer)
            try outer.encode(a, forKey: .a)
            var list = container.nestedUnkeyedContainer(forKey: .list)
            for s in b { try list.encode(s) }
            var deeper = list.nestedContainer(keyedBy: InnerKeys.self)
            try deeper.encode(c, forKey: .a)
            var single = container.superEncoder(forKey: .sup).singleValueContainer()
            try single.encode(d)
            var superSingle = container.superEncoder().singleValueContainer()
            try superSingle.encode(true)
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            let outer = try container.nestedContainer(keyedBy: InnerKeys.self, forKey: .outer)
            a = try outer.decode(Int.self, forKey: .a)
            var list = try container.nestedUnkeyedContainer(forKey: .list)
            var strings: [String] = []
            while list.count! - list.currentIndex > 1 { strings.append(try list.decode(String.self)) }
            b = strings
            c = try list.nestedContainer(keyedBy: InnerKeys.self).decode(Int.self, forKey: .a)
            #expect(list.isAtEnd)
            d = try container.superDecoder(forKey: .sup).singleValueContainer().decode(String.self)
            #expect(try container.superDecoder().singleValueContainer().decode(Bool.self))
        }
    }

    @Test func nestedContainersAndSuper() throws {
        let value = Manual(a: 1, b: ["x", "y"], c: 3, d: "dee")
        let json = try encoder.encode(value)
        #expect(json == ["outer": ["a": 1], "list": ["x", "y", ["a": 3]], "sup": "dee", "super": true])
        #expect(try decoder.decode(Manual.self, from: json) == value)
    }

    @Test func classInheritanceWithSuper() throws {
        class Base: Codable { var base = 1 }
        final class Derived: Base {
            var own = 2
            enum K: CodingKey { case own }
            override init() { super.init() }
            required init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: K.self)
                own = try c.decode(Int.self, forKey: .own)
                try super.init(from: c.superDecoder())
            }
            override func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: K.self)
                try c.encode(own, forKey: .own)
                try super.encode(to: c.superEncoder())
            }
        }
        let json = try encoder.encode(Derived())
        #expect(json == ["own": 2, "super": ["base": 1]])
        let back = try decoder.decode(Derived.self, from: ["own": 5, "super": ["base": 6]])
        #expect(back.own == 5 && back.base == 6)
    }

    @Test func jsonWorksWithFoundationCoders() throws {
        let value: JSON = ["a": [1, 2.5, "x", nil, true], "b": ["c": [:]], "big": .integer(.max)]
        let data = try JSONEncoder().encode(value)
        let back = try JSONDecoder().decode(JSON.self, from: data)
        #expect(back["a"] == [1, 2.5, "x", nil, true])
        #expect(back["b"] == ["c": [:]])
        #expect(back["big"] == .integer(.max))
        #expect(try JSON.parse(Array(data))["a"] == value["a"])
        struct Wrapper: Codable, Equatable { var payload: JSON }
        let wrapped = Wrapper(payload: value)
        #expect(try JSONDecoder().decode(Wrapper.self, from: JSONEncoder().encode(wrapped)).payload["a"] == value["a"])
    }

    @Test func userInfoIsPassedThrough() throws {
        struct Reader: Decodable {
            var flag: Bool
            init(from decoder: any Decoder) throws { flag = decoder.userInfo[CodingUserInfoKey(rawValue: "flag")!] as? Bool ?? false }
        }
        var decoder = JSONValueDecoder()
        decoder.userInfo[CodingUserInfoKey(rawValue: "flag")!] = true
        #expect(try decoder.decode(Reader.self, from: [:]).flag)
    }
}
