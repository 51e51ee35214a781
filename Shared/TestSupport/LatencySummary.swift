import Foundation

/// Percentiles of a set of latency samples, for the benchmarks' tables. Nearest-rank on the
/// sorted samples: p99 of 10,000 samples is the 9,900th smallest, never an interpolation.
public struct LatencySummary: Sendable {
    public let count: Int
    private let sorted: [Double]

    public init(_ samples: [Double]) {
        sorted = samples.sorted()
        count = sorted.count
    }

    /// The sample at quantile `q` (0...1); 0 when there are no samples.
    public func percentile(_ q: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[Swift.min(sorted.count - 1, Swift.max(0, Int((Double(sorted.count) * q).rounded(.up)) - 1))]
    }

    public var p50: Double { percentile(0.50) }
    public var p99: Double { percentile(0.99) }
    public var max: Double { sorted.last ?? 0 }
}

/// The median and range of one figure over several runs: "median (min–max)".
public struct RunSpread: Sendable, CustomStringConvertible {
    public let median: Double
    public let min: Double
    public let max: Double

    public init(_ values: [Double]) {
        let sorted = values.sorted()
        median = sorted.isEmpty ? 0 : sorted[(sorted.count - 1) / 2]
        min = sorted.first ?? 0
        max = sorted.last ?? 0
    }

    public func formatted(_ digits: Int = 2) -> String {
        func text(_ value: Double) -> String { String(format: "%.\(digits)f", value) }
        return min == max ? text(median) : "\(text(median)) (\(text(min))–\(text(max)))"
    }

    public var description: String { formatted() }
}
