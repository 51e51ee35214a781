import Testing
import JSONCoding

@Suite struct RobustnessTests {
    struct RNG: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let documents: [String] = [
        #"{"jsonrpc":"2.0","id":7,"method":"intake.create","params":{"customer":{"name":"Zoë","phone":"+31 6"},"items":[1,2.5,-3e2,true,null,"\u00e9\n"]}}"#,
        #"[{"a":[[[]]]},{"b":{"c":{"d":"\uD83D\uDE00"}}},"日本",-0.0,12345678901234567890]"#,
    ]

    @Test func randomBytesNeverCrash() {
        var rng = RNG(state: 42)
        let alphabet = Array(#"{}[]:,"\/-+.eE0123456789tfrueanlsbu "#.utf8) + [0x00, 0x0A, 0x80, 0xC3, 0xA9, 0xED, 0xF0, 0xFF]
        for _ in 0..<3000 {
            let length = Int.random(in: 0..<64, using: &rng)
            let bytes: [UInt8] = (0..<length).map { _ in
                Bool.random(using: &rng) ? alphabet.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
            }
            if let value = try? JSON.parse(bytes) {
                // Anything accepted must round-trip.
                #expect((try? JSON.parse(value.serialized())) == value || value.jsonString.contains("null"))
            }
        }
    }

    @Test func truncationsAndMutationsNeverCrash() throws {
        var rng = RNG(state: 7)
        for document in Self.documents {
            let bytes = Array(document.utf8)
            _ = try JSON.parse(bytes)
            for end in 0..<bytes.count {
                #expect(throws: JSONParseError.self) { try JSON.parse(bytes[..<end]) }
            }
            for _ in 0..<1500 {
                var mutated = bytes
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    let i = Int.random(in: 0..<mutated.count, using: &rng)
                    switch Int.random(in: 0..<3, using: &rng) {
                    case 0: mutated[i] = UInt8.random(in: 0...255, using: &rng)
                    case 1: mutated.remove(at: i)
                    default: mutated.insert(UInt8.random(in: 0...255, using: &rng), at: i)
                    }
                    if mutated.isEmpty { break }
                }
                if let value = try? JSON.parse(mutated) {
                    #expect(try JSON.parse(value.serialized()) == value)
                }
            }
        }
    }

    @Test func deepNestingIsBoundedNotCrashing() {
        for n in [255, 256, 257, 1000, 50_000] {
            let text = String(repeating: #"{"k":["#, count: n / 2) + String(repeating: "]}", count: n / 2)
            _ = try? JSON.parse(text)
        }
    }
}
