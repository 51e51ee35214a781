/// Why some bytes are not one JSON value.
///
/// `reason` is the message without the position (e.g. "unexpected character 'x'");
/// `description` adds it ("unexpected character 'x' at byte 3"). `offset` is 0-based.
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public let offset: Int
    public let reason: String

    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "\(reason) at byte \(offset)" }
}

extension JSON {
    /// The deepest nesting of arrays and objects the parser accepts.
    public static let maximumNestingDepth = 256

    /// Parses exactly one JSON value (surrounded by optional whitespace), strictly per RFC 8259.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONParseError) -> JSON {
        var parser = JSONParser(bytes)
        return try parser.parseDocument()
    }

    /// Parses bytes from any collection; contiguous ones (`[UInt8]`, `Data`, buffer views) are
    /// read in place.
    @inlinable
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONParseError) -> JSON {
        let result: Result<JSON, JSONParseError>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(JSONParseError) -> JSON in try parse(UnsafeRawBufferPointer(buffer)) }
        }
        if let result { return try result.get() }
        let array = Array(bytes)
        return try array.withUnsafeBytes { raw in
            Result { () throws(JSONParseError) -> JSON in try parse(raw) }
        }.get()
    }

    /// Parses the UTF-8 text of a string.
    public static func parse(_ text: String) throws(JSONParseError) -> JSON {
        var text = text
        return try text.withUTF8 { buffer in
            Result { () throws(JSONParseError) -> JSON in try parse(UnsafeRawBufferPointer(buffer)) }
        }.get()
    }
}

@usableFromInline
struct JSONParser {
    let base: UnsafePointer<UInt8>
    let count: Int
    var index = 0
    var depth = 0
    /// Reused for strings with escapes.
    var scratch: [UInt8] = []

    init(_ bytes: UnsafeRawBufferPointer) {
        if let start = bytes.baseAddress, bytes.count > 0 {
            base = start.assumingMemoryBound(to: UInt8.self)
            count = bytes.count
        } else {
            // A valid, never-dereferenced pointer for the empty input.
            base = UnsafePointer(bitPattern: 1)!
            count = 0
        }
    }

    // MARK: Errors

    func error(_ reason: String, at offset: Int) -> JSONParseError {
        JSONParseError(offset: offset, reason: reason)
    }

    func unexpected(at offset: Int) -> JSONParseError {
        guard offset < count else { return error("unexpected end of input", at: offset) }
        let byte = base[offset]
        if byte >= 0x20 && byte < 0x7F {
            let char = Character(Unicode.Scalar(byte))
            if byte == UInt8(ascii: "'") {
                return error("unexpected character \"'\" (strings need double quotes)", at: offset)
            }
            return error("unexpected character '\(char)'", at: offset)
        }
        return error("unexpected byte 0x\(hex2(byte))", at: offset)
    }

    func hex2(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 15)]], as: UTF8.self)
    }

    // MARK: Structure

    @inline(__always)
    mutating func skipWhitespace() {
        while index < count {
            let byte = base[index]
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return }
            index += 1
        }
    }

    mutating func parseDocument() throws(JSONParseError) -> JSON {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        if index < count {
            throw error("trailing characters after JSON value", at: index)
        }
        return value
    }

    mutating func parseValue() throws(JSONParseError) -> JSON {
        guard index < count else { throw error("unexpected end of input", at: index) }
        switch base[index] {
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "{"):
            return try parseObject()
        case UInt8(ascii: "["):
            return try parseArray()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try parseNumber()
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        default:
            throw unexpected(at: index)
        }
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let n = literal.utf8CodeUnitCount
        let p = literal.utf8Start
        for i in 0..<n {
            guard index + i < count, base[index + i] == p[i] else { throw unexpected(at: index + i) }
        }
        index += n
    }

    mutating func enter() throws(JSONParseError) {
        depth += 1
        if depth > JSON.maximumNestingDepth {
            throw error("nesting deeper than \(JSON.maximumNestingDepth) levels", at: index)
        }
    }

    mutating func parseObject() throws(JSONParseError) -> JSON {
        try enter()
        index += 1  // {
        skipWhitespace()
        var members: [JSONObject.Element] = []
        if index < count && base[index] == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return .object(JSONObject(members: members))
        }
        members.reserveCapacity(8)
        while true {
            guard index < count, base[index] == UInt8(ascii: "\"") else {
                if index < count && base[index] == UInt8(ascii: "}") {
                    throw error("trailing comma in object", at: index)
                }
                throw unexpected(at: index)
            }
            let key = try parseString()
            skipWhitespace()
            guard index < count, base[index] == UInt8(ascii: ":") else { throw unexpected(at: index) }
            index += 1
            skipWhitespace()
            let value = try parseValue()
            members.append((key: key, value: value))
            skipWhitespace()
            guard index < count else { throw unexpected(at: index) }
            let byte = base[index]
            index += 1
            if byte == UInt8(ascii: ",") {
                skipWhitespace()
                continue
            }
            if byte == UInt8(ascii: "}") { break }
            throw unexpected(at: index - 1)
        }
        depth -= 1
        return .object(JSONObject(members: members))
    }

    mutating func parseArray() throws(JSONParseError) -> JSON {
        try enter()
        index += 1  // [
        skipWhitespace()
        var elements: [JSON] = []
        if index < count && base[index] == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return .array(elements)
        }
        elements.reserveCapacity(4)
        while true {
            if index < count && base[index] == UInt8(ascii: "]") {
                throw error("trailing comma in array", at: index)
            }
            elements.append(try parseValue())
            skipWhitespace()
            guard index < count else { throw unexpected(at: index) }
            let byte = base[index]
            index += 1
            if byte == UInt8(ascii: ",") {
                skipWhitespace()
                continue
            }
            if byte == UInt8(ascii: "]") { break }
            throw unexpected(at: index - 1)
        }
        depth -= 1
        return .array(elements)
    }

    // MARK: Strings

    /// Parses a string starting at the opening quote.
    mutating func parseString() throws(JSONParseError) -> String {
        index += 1  // "
        let start = index
        // Fast scan: plain ASCII with no escapes, eight bytes at a time, then byte by byte.
        let raw = UnsafeRawPointer(base)
        while index + 8 <= count {
            let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            if JSONWriter.needsEscape(word) || word & 0x8080_8080_8080_8080 != 0 { break }
            index += 8
        }
        while index < count {
            let byte = base[index]
            if byte == UInt8(ascii: "\"") {
                let string = String(decoding: UnsafeBufferPointer(start: base + start, count: index - start), as: UTF8.self)
                index += 1
                return string
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { break }
            index += 1
        }
        return try parseStringSlow(start: start)
    }

    mutating func parseStringSlow(start: Int) throws(JSONParseError) -> String {
        var hasEscapes = false
        scratch.removeAll(keepingCapacity: true)
        var runStart = start  // start of the bytes not yet copied to scratch
        while true {
            guard index < count else { throw error("unterminated string", at: index) }
            let byte = base[index]
            if byte == UInt8(ascii: "\"") {
                let string: String
                if hasEscapes {
                    scratch.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: index - runStart))
                    string = String(decoding: scratch, as: UTF8.self)
                } else {
                    string = String(decoding: UnsafeBufferPointer(start: base + start, count: index - start), as: UTF8.self)
                }
                index += 1
                return string
            }
            if byte < 0x20 {
                throw error("unescaped control character 0x\(hex2(byte)) in string", at: index)
            }
            if byte < 0x80 {
                if byte == UInt8(ascii: "\\") {
                    hasEscapes = true
                    scratch.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: index - runStart))
                    try parseEscape()
                    runStart = index
                } else {
                    index += 1
                }
                continue
            }
            try validateUTF8Sequence()
        }
    }

    /// Validates one multi-byte UTF-8 sequence at `index` (whose first byte is >= 0x80).
    @inline(__always)
    mutating func validateUTF8Sequence() throws(JSONParseError) {
        let b0 = base[index]
        let length: Int
        var low: UInt8 = 0x80, high: UInt8 = 0xBF  // range of the second byte
        switch b0 {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F  // no UTF-16 surrogates
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F  // <= U+10FFFF
        default: throw error("invalid UTF-8", at: index)
        }
        guard index + length <= count else {
            // Truncated at the end of input: report the first byte that is not there or is wrong.
            var i = index + 1
            while i < count {
                let b = base[i]
                let ok = i == index + 1 ? (b >= low && b <= high) : (b & 0xC0 == 0x80)
                if !ok { break }
                i += 1
            }
            throw error("invalid UTF-8", at: i < count ? i : index)
        }
        let b1 = base[index + 1]
        guard b1 >= low && b1 <= high else { throw error("invalid UTF-8", at: index + 1) }
        var i = 2
        while i < length {
            guard base[index + i] & 0xC0 == 0x80 else { throw error("invalid UTF-8", at: index + i) }
            i += 1
        }
        index += length
    }

    /// Decodes the escape at `index` (a backslash) into `scratch`.
    mutating func parseEscape() throws(JSONParseError) {
        let escapeStart = index
        index += 1
        guard index < count else { throw error("unterminated string", at: index) }
        let byte = base[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""): scratch.append(0x22)
        case UInt8(ascii: "\\"): scratch.append(0x5C)
        case UInt8(ascii: "/"): scratch.append(0x2F)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = UInt32(try parseHex4())
            if scalar >= 0xD800 && scalar <= 0xDBFF {
                // A high surrogate must be followed by an escaped low surrogate.
                guard index + 1 < count, base[index] == UInt8(ascii: "\\"), base[index + 1] == UInt8(ascii: "u") else {
                    throw error("lone surrogate \\u\(String(scalar, radix: 16, uppercase: true)) in string", at: escapeStart)
                }
                index += 2
                let low = UInt32(try parseHex4())
                guard low >= 0xDC00 && low <= 0xDFFF else {
                    throw error("lone surrogate \\u\(String(scalar, radix: 16, uppercase: true)) in string", at: escapeStart)
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                throw error("lone surrogate \\u\(String(scalar, radix: 16, uppercase: true)) in string", at: escapeStart)
            }
            appendUTF8(scalar)
        default:
            throw error("invalid escape sequence", at: escapeStart)
        }
    }

    mutating func parseHex4() throws(JSONParseError) -> UInt16 {
        guard index + 4 <= count else { throw error("invalid \\u escape", at: index) }
        var value: UInt16 = 0
        for i in 0..<4 {
            let byte = base[index + i]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte &- UInt8(ascii: "a") &+ 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte &- UInt8(ascii: "A") &+ 10
            default: throw error("invalid \\u escape", at: index + i)
            }
            value = value << 4 | UInt16(digit)
        }
        index += 4
        return value
    }

    mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | (scalar >> 6)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | (scalar >> 12)))
            scratch.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        default:
            scratch.append(UInt8(0xF0 | (scalar >> 18)))
            scratch.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
            scratch.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        }
    }

    // MARK: Numbers

    mutating func parseNumber() throws(JSONParseError) -> JSON {
        let start = index
        var negative = false
        if base[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        guard index < count, isDigit(base[index]) else {
            throw index < count ? error("invalid number", at: index) : error("unexpected end of input", at: index)
        }
        var mantissa: UInt64 = 0
        var overflow = false
        if base[index] == UInt8(ascii: "0") {
            index += 1
            if index < count && isDigit(base[index]) {
                throw error("leading zeros are not allowed in numbers", at: start)
            }
        } else {
            while index < count, isDigit(base[index]) {
                let digit = UInt64(base[index] &- UInt8(ascii: "0"))
                if !overflow {
                    let (m1, o1) = mantissa.multipliedReportingOverflow(by: 10)
                    let (m2, o2) = m1.addingReportingOverflow(digit)
                    if o1 || o2 { overflow = true } else { mantissa = m2 }
                }
                index += 1
            }
        }
        var isInteger = true
        var fractionDigits = 0
        if index < count && base[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard index < count, isDigit(base[index]) else {
                throw index < count ? error("invalid number: expected a digit after '.'", at: index)
                    : error("unexpected end of input", at: index)
            }
            while index < count, isDigit(base[index]) {
                if !overflow && mantissa < 1_000_000_000_000_000 {
                    mantissa = mantissa * 10 + UInt64(base[index] &- UInt8(ascii: "0"))
                    fractionDigits += 1
                } else {
                    overflow = true
                }
                index += 1
            }
        }
        var exponent = 0
        if index < count && (base[index] | 0x20) == UInt8(ascii: "e") {
            isInteger = false
            index += 1
            var expNegative = false
            if index < count && (base[index] == UInt8(ascii: "+") || base[index] == UInt8(ascii: "-")) {
                expNegative = base[index] == UInt8(ascii: "-")
                index += 1
            }
            guard index < count, isDigit(base[index]) else {
                throw index < count ? error("invalid number: expected a digit in the exponent", at: index)
                    : error("unexpected end of input", at: index)
            }
            while index < count, isDigit(base[index]) {
                if exponent < 100_000 { exponent = exponent * 10 + Int(base[index] &- UInt8(ascii: "0")) }
                index += 1
            }
            if expNegative { exponent = -exponent }
        }
        if isInteger && !overflow {
            if negative {
                if mantissa <= UInt64(Int64.max) { return .integer(-Int64(mantissa)) }
                if mantissa == UInt64(Int64.max) + 1 { return .integer(.min) }
            } else if mantissa <= UInt64(Int64.max) {
                return .integer(Int64(mantissa))
            }
        }
        // Exact fast path (Clinger): mantissa and power of ten both exactly representable.
        if !overflow && mantissa <= (1 << 53) {
            let e = exponent - fractionDigits
            if e >= -22 && e <= 22 {
                var value = Double(mantissa)
                value = e < 0 ? value / JSONParser.powersOf10[-e] : value * JSONParser.powersOf10[e]
                return .double(negative ? -value : value)
            }
        }
        let text = String(decoding: UnsafeBufferPointer(start: base + start, count: index - start), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw error("number out of range", at: start)
        }
        return .double(value)
    }

    static let powersOf10: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    @inline(__always)
    func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }
}
