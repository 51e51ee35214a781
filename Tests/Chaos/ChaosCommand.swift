import ArgumentParser
import SystemHarness

#if canImport(Glibc)
import Glibc
#endif

/// `onestop-chaos --cases 5000`: the long chaos run (the short one runs in `make test`).
/// Starts the whole system from the build, so build first (`swift build`).
@main
struct ChaosCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "onestop-chaos",
        abstract: "Submit cases through the gateway while services, Postgres and a link fail; account for every case."
    )

    @Option(help: "Cases to submit (default 5000; 150 with --short).") var cases: Int?
    @Option(help: "Cases a second, open loop (default 25; 5 with --short).") var rate: Int?
    @Option(help: "Only these faults, comma-separated: gateway, intake, review, review-worker, routing, notification, complaints, database, freeze, link, link-reset, link-stall.")
    var faults: String?
    @Option(help: "Log at debug level in these parts (comma-separated), shown when cases are unfinished.")
    var debug: String?
    @Flag(help: "The short schedule of the test suite instead of the full 10-second faults.") var short = false

    func run() async throws {
        var configuration = short ? ChaosRun.Configuration.short : ChaosRun.Configuration.long()
        if let cases { configuration.cases = cases }
        if let rate { configuration.rate = rate }
        for name in debug?.split(separator: ",") ?? [] {
            guard let part = OneStopSystem.Part(rawValue: String(name)) else { throw ValidationError("unknown part \(name)") }
            configuration.overrides[part, default: [:]]["ONESTOP_LOG_LEVEL"] = "debug"
        }
        if let faults {
            configuration.faults = try faults.split(separator: ",").map { name in
                guard let fault = ChaosFault(name: String(name)) else { throw ValidationError("unknown fault \(name)") }
                return fault
            }
        }
        let report = try await ChaosRun(configuration) { line in
            print(line)
            fflush(nil)
        }.run()
        print(report)
        fflush(nil)
        if !report.passed { throw ExitCode.failure }
    }
}
