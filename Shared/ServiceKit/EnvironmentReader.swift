/// Reads typed settings from environment variables and collects every problem, so a bad
/// deployment is told all that is wrong at once instead of one variable per restart.
public struct EnvironmentReader {
    public let variables: [String: String]
    public private(set) var problems: [String] = []

    public init(_ variables: [String: String]) {
        self.variables = variables
    }

    public mutating func string(_ name: String, default fallback: String) -> String {
        guard let value = variables[name] else { return fallback }
        guard !value.isEmpty else {
            problems.append("\(name) is set but empty; unset it to use the default (\(fallback)) or give a value")
            return fallback
        }
        return value
    }

    public func optionalString(_ name: String) -> String? {
        variables[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    public mutating func integer(_ name: String, default fallback: Int, range: ClosedRange<Int>) -> Int {
        guard let raw = variables[name] else { return fallback }
        guard let value = Int(raw.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
            problems.append("\(name)=\(raw.prefix(40)) is not a whole number in \(range.lowerBound)...\(range.upperBound)")
            return fallback
        }
        return value
    }

    public mutating func port(_ name: String, default fallback: Int) -> Int {
        integer(name, default: fallback, range: 0...65535)
    }

    public mutating func choice<T: RawRepresentable & CaseIterable>(_ name: String, default fallback: T) -> T where T.RawValue == String {
        guard let raw = variables[name] else { return fallback }
        guard let value = T(rawValue: raw.lowercased()) else {
            problems.append("\(name)=\(raw.prefix(40)) is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
            return fallback
        }
        return value
    }

    /// A comma-separated list of `host:port`.
    public mutating func addresses(_ name: String, default fallback: [RPCTarget]) -> [RPCTarget] {
        guard let raw = variables[name] else { return fallback }
        let parts = raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let targets = parts.compactMap(RPCTarget.init)
        guard !parts.isEmpty, targets.count == parts.count else {
            problems.append("\(name)=\(raw.prefix(80)) must be a comma-separated list of host:port")
            return fallback
        }
        return targets
    }

    /// The contents of the file a variable names (certificates, keys); nil when the variable is
    /// unset. A missing, unreadable or empty file is a problem naming the variable.
    public mutating func fileContents(_ name: String) -> [UInt8]? {
        guard let path = variables[name] else { return nil }
        guard !path.isEmpty else {
            problems.append("\(name) is set but empty; give the path of a file or unset it")
            return nil
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            problems.append("\(name)=\(path): no such file")
            return nil
        }
        guard !isDirectory.boolValue else {
            problems.append("\(name)=\(path) is a directory; give the path of a file")
            return nil
        }
        guard FileManager.default.isReadableFile(atPath: path), let data = FileManager.default.contents(atPath: path) else {
            problems.append("\(name)=\(path) cannot be read by this process (check its permissions and owner)")
            return nil
        }
        guard !data.isEmpty else {
            problems.append("\(name)=\(path) is empty")
            return nil
        }
        return [UInt8](data)
    }

    public mutating func require(_ condition: Bool, _ problem: @autoclosure () -> String) {
        if !condition { problems.append(problem()) }
    }
}

/// A configuration that cannot be used; lists every problem found.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let problems: [String]
    public init(problems: [String]) { self.problems = problems }
    public var description: String {
        "invalid configuration:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}

import LineProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation
