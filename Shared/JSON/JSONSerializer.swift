extension JSON {
    /// Appends the compact JSON text of this value. The output never contains a raw newline or
    /// other control character (they are escaped), keeps non-ASCII as UTF-8, does not escape "/",
    /// and writes non-finite doubles (which JSON cannot express) as `null`.
    public func serialize(into buffer: inout [UInt8]) {
        var writer = JSONWriter(capacity: 512)
        defer { writer.deallocate() }
        writer.write(self)
        buffer.append(contentsOf: UnsafeBufferPointer(start: writer.start, count: writer.count))
    }

    /// The compact JSON text as bytes.
    public func serialized() -> [UInt8] {
        var writer = JSONWriter(capacity: 512)
        defer { writer.deallocate() }
        writer.write(self)
        return Array(UnsafeBufferPointer(start: writer.start, count: writer.count))
    }

    /// The compact JSON text.
    public var jsonString: String {
        var writer = JSONWriter(capacity: 512)
        defer { writer.deallocate() }
        writer.write(self)
        return String(decoding: UnsafeBufferPointer(start: writer.start, count: writer.count), as: UTF8.self)
    }
}

/// A growable byte buffer without per-append uniqueness checks; the serializer's workhorse.
struct JSONWriter {
    var start: UnsafeMutablePointer<UInt8>
    var count = 0
    var capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        start = .allocate(capacity: capacity)
    }

    func deallocate() { start.deallocate() }

    @inline(__always)
    mutating func reserve(_ n: Int) {
        if count + n > capacity { grow(count + n) }
    }

    mutating func grow(_ needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newStart = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newStart.update(from: start, count: count)
        start.deallocate()
        start = newStart
        capacity = newCapacity
    }

    @inline(__always)
    mutating func byte(_ b: UInt8) {
        reserve(1)
        start[count] = b
        count += 1
    }

    @inline(__always)
    mutating func bytes(_ source: UnsafePointer<UInt8>, _ n: Int) {
        reserve(n)
        (start + count).update(from: source, count: n)
        count += n
    }

    @inline(__always)
    mutating func literal(_ literal: StaticString) {
        bytes(literal.utf8Start, literal.utf8CodeUnitCount)
    }

    mutating func write(_ value: JSON) {
        switch value {
        case .null:
            literal("null")
        case .bool(let value):
            literal(value ? "true" : "false")
        case .integer(let value):
            integer(value)
        case .double(let value):
            double(value)
        case .string(let value):
            string(value)
        case .array(let elements):
            byte(UInt8(ascii: "["))
            var first = true
            for element in elements {
                if !first { byte(UInt8(ascii: ",")) }
                first = false
                write(element)
            }
            byte(UInt8(ascii: "]"))
        case .object(let object):
            byte(UInt8(ascii: "{"))
            var first = true
            for member in object.members {
                if !first { byte(UInt8(ascii: ",")) }
                first = false
                string(member.key)
                byte(UInt8(ascii: ":"))
                write(member.value)
            }
            byte(UInt8(ascii: "}"))
        }
    }

    mutating func integer(_ value: Int64) {
        reserve(20)
        if value < 0 {
            start[count] = UInt8(ascii: "-")
            count += 1
        }
        var v = value.magnitude
        if v < 10 {
            start[count] = UInt8(truncatingIfNeeded: v) &+ UInt8(ascii: "0")
            count += 1
            return
        }
        var digits = 0
        var t = v
        while t > 0 {
            digits += 1
            t /= 10
        }
        var i = count + digits
        while v > 0 {
            let (q, r) = v.quotientAndRemainder(dividingBy: 10)
            i -= 1
            start[i] = UInt8(truncatingIfNeeded: r) &+ UInt8(ascii: "0")
            v = q
        }
        count += digits
    }

    mutating func double(_ value: Double) {
        guard value.isFinite else {
            literal("null")
            return
        }
        // Swift's description is the shortest representation that round-trips, and for finite
        // values is valid JSON ("1.0", "1e-05", "1.7976931348623157e+308").
        var text = value.description
        text.withUTF8 { bytes($0.baseAddress!, $0.count) }
    }

    static let hexDigits: StaticString = "0123456789abcdef"

    /// Whether any byte of `word` is < 0x20, '"' or '\\' (may report true spuriously, never
    /// false when one is present).
    @inline(__always)
    static func needsEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        let quote = word ^ (ones &* 0x22)
        let slash = word ^ (ones &* 0x5C)
        let control = (word &- ones &* 0x20) & ~word
        let q = (quote &- ones) & ~quote
        let b = (slash &- ones) & ~slash
        return (control | q | b) & high != 0
    }

    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            let n = utf8.count
            // Worst case: every byte becomes \u00XX.
            reserve(n * 6 + 2)
            var out = start + count
            out.pointee = UInt8(ascii: "\"")
            out += 1
            if let source = utf8.baseAddress, n > 0 {
                let raw = UnsafeRawPointer(source)
                var i = 0
                while i < n {
                    // Eight bytes at a time while none needs escaping.
                    while i + 8 <= n {
                        let word = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                        if JSONWriter.needsEscape(word) { break }
                        UnsafeMutableRawPointer(out).storeBytes(of: word, as: UInt64.self)
                        out += 8
                        i += 8
                    }
                    guard i < n else { break }
                    let byte = source[i]
                    i += 1
                    if byte >= 0x20 && byte != 0x22 && byte != 0x5C {
                        out.pointee = byte
                        out += 1
                        continue
                    }
                    out[0] = 0x5C
                    switch byte {
                    case 0x22: out[1] = 0x22; out += 2
                    case 0x5C: out[1] = 0x5C; out += 2
                    case 0x0A: out[1] = UInt8(ascii: "n"); out += 2
                    case 0x0D: out[1] = UInt8(ascii: "r"); out += 2
                    case 0x09: out[1] = UInt8(ascii: "t"); out += 2
                    case 0x08: out[1] = UInt8(ascii: "b"); out += 2
                    case 0x0C: out[1] = UInt8(ascii: "f"); out += 2
                    default:
                        let hex = JSONWriter.hexDigits.utf8Start
                        out[1] = UInt8(ascii: "u")
                        out[2] = UInt8(ascii: "0")
                        out[3] = UInt8(ascii: "0")
                        out[4] = hex[Int(byte >> 4)]
                        out[5] = hex[Int(byte & 15)]
                        out += 6
                    }
                }
            }
            out.pointee = UInt8(ascii: "\"")
            out += 1
            count = out - start
        }
    }
}
