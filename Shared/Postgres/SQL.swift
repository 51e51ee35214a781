/// A SQL statement whose values travel as binds, never as text.
///
/// Every interpolated value becomes a `$n` placeholder plus a parameter:
///
///     let rows = try await pool.query("SELECT id FROM cases WHERE status = \(status) AND created_at > \(since)")
///
/// Trusted text that must become part of the statement itself (an identifier chosen by code, not by a
/// user) needs an explicit `\(unsafeRaw: "cases_2024")` or `SQL(unsafeSQL:)`. SQL values can be
/// interpolated into each other (`\(filter)`) or joined with `+`; placeholders are renumbered.
public struct SQL: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
    enum Fragment: Sendable {
        case text(String)
        case bind(Int)
    }

    var fragments: [Fragment]
    var binds: [any PostgresEncodable]

    /// Raw SQL text, sent as written. Never build it from user input.
    public init(unsafeSQL text: String) {
        fragments = [.text(text)]
        binds = []
    }

    public init(stringLiteral value: String) {
        self.init(unsafeSQL: value)
    }

    public init(stringInterpolation: StringInterpolation) {
        fragments = stringInterpolation.fragments
        binds = stringInterpolation.binds
    }

    /// The statement text with `$1…$n` placeholders. Contains no bind values, so it is safe to log.
    public var text: String {
        var result = ""
        for fragment in fragments {
            switch fragment {
            case .text(let text): result += text
            case .bind(let index): result += "$\(index + 1)"
            }
        }
        return result
    }

    /// How many parameters the statement carries.
    public var bindCount: Int { binds.count }

    public var description: String { text }

    /// `lhs` followed by `rhs`, with `rhs`'s placeholders renumbered.
    public static func + (lhs: SQL, rhs: SQL) -> SQL {
        var result = lhs
        result.append(rhs)
        return result
    }

    public static func += (lhs: inout SQL, rhs: SQL) {
        lhs.append(rhs)
    }

    mutating func append(_ other: SQL) {
        let offset = binds.count
        for fragment in other.fragments {
            switch fragment {
            case .text(let text): fragments.append(.text(text))
            case .bind(let index): fragments.append(.bind(index + offset))
            }
        }
        binds.append(contentsOf: other.binds)
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        var fragments: [Fragment] = []
        var binds: [any PostgresEncodable] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            fragments.reserveCapacity(interpolationCount * 2 + 1)
            binds.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) {
            if !literal.isEmpty { fragments.append(.text(literal)) }
        }

        /// A value: becomes `$n` and a bind.
        public mutating func appendInterpolation(_ value: some PostgresEncodable) {
            fragments.append(.bind(binds.count))
            binds.append(value)
        }

        /// An optional value: NULL when nil. Said explicitly so the compiler need not warn that
        /// an optional is interpolated (it is bound, never printed).
        public mutating func appendInterpolation<Wrapped: PostgresEncodable>(_ value: Wrapped?) {
            fragments.append(.bind(binds.count))
            binds.append(value)
        }

        /// Trusted raw text (an identifier chosen by code). Never pass user input.
        public mutating func appendInterpolation(unsafeRaw text: String) {
            fragments.append(.text(text))
        }

        /// Another SQL fragment, with its binds.
        public mutating func appendInterpolation(_ sql: SQL) {
            let offset = binds.count
            for fragment in sql.fragments {
                switch fragment {
                case .text(let text): fragments.append(.text(text))
                case .bind(let index): fragments.append(.bind(index + offset))
                }
            }
            binds.append(contentsOf: sql.binds)
        }
    }
}
