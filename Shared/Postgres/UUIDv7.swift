#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

extension UUID {
    /// A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Time-ordered, so
    /// new rows land at the right end of a B-tree index instead of all over it.
    public static func v7(at instant: Date = Date()) -> UUID {
        let milliseconds = UInt64(max(0, instant.timeIntervalSince1970 * 1000))
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: milliseconds >> (8 * (5 - UInt64(index)))) }
        var generator = SystemRandomNumberGenerator()
        for index in 6..<16 { bytes[index] = UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = (bytes[6] & 0x0F) | 0x70
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }

    /// Lower-case text, as Postgres prints a `uuid`.
    public var lowercasedString: String { uuidString.lowercased() }
}
