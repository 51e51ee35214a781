#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// CPU time used by processes on this machine, from `/proc` (Linux), for benchmarks that say
/// where the time went.
public enum ProcessCPU {
    /// User plus system seconds used so far by `pid`; nil when it is gone.
    public static func seconds(_ pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name: state is the 3rd field of the line, utime the 14th, stime the 15th.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Seconds used so far by every PostgreSQL server process on the machine.
    public static func postgresSeconds() -> Double {
        var total = 0.0
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8),
                  comm.hasPrefix("postgres") else { continue }
            total += seconds(pid) ?? 0
        }
        return total
    }

    /// Seconds the whole machine has been busy so far, summed over its cores (/proc/stat: every
    /// kind of time but idle and I/O wait). Unlike the per-process figures it includes what no
    /// process is charged with, such as the kernel's network work, and processes that ended.
    public static func machineBusySeconds() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = stat.split(separator: "\n").first, line.hasPrefix("cpu ") else { return nil }
        let ticks = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard ticks.count >= 5 else { return nil }
        // user nice system idle iowait irq softirq steal …
        return (ticks.reduce(0, +) - ticks[3] - ticks[4]) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
