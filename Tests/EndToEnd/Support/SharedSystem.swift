import SystemHarness
/// One running system shared by the scenarios that do not break anything, so the suite starts
/// the seven processes once rather than per test. Users count in and out; the last one out
/// stops it (processes killed, databases dropped). A scenario that kills services starts a
/// system of its own with `OneStopSystem.withDedicated`.
actor SharedSystem {
    static let instance = SharedSystem()

    private var starting: Task<(OneStopSystem, Hall), any Error>?
    private var users = 0

    func acquire() async throws -> (OneStopSystem, Hall) {
        users += 1
        let task: Task<(OneStopSystem, Hall), any Error>
        if let starting {
            task = starting
        } else {
            task = Task {
                let system = try await OneStopSystem.start()
                do {
                    return (system, try await Hall.setUp(system.api))
                } catch {
                    let logs = system.logs()
                    await system.stop()
                    throw EndToEndError("\(error)\n\(logs)")
                }
            }
            starting = task
        }
        do {
            return try await task.value
        } catch {
            await release()
            throw error
        }
    }

    func release() async {
        users -= 1
        guard users == 0, let task = starting else { return }
        starting = nil
        if let (system, _) = try? await task.value { await system.stop() }
    }
}

extension OneStopSystem {
    /// Runs `body` with the shared system; on failure the services' last log lines are attached.
    static func withShared(_ body: (OneStopSystem, Hall) async throws -> Void) async throws {
        let (system, hall) = try await SharedSystem.instance.acquire()
        do {
            try await body(system, hall)
        } catch {
            let logs = system.logs()
            await SharedSystem.instance.release()
            throw EndToEndError("\(error)\n\(logs)")
        }
        await SharedSystem.instance.release()
    }

    /// Runs `body` with a system of its own (for scenarios that kill services or change its
    /// settings with `overrides`), stopped afterwards.
    static func withDedicated(overrides: [Part: [String: String]] = [:], _ body: (OneStopSystem, Hall) async throws -> Void) async throws {
        let system = try await OneStopSystem.start(overrides: overrides)
        do {
            let hall = try await Hall.setUp(system.api)
            try await body(system, hall)
        } catch {
            let logs = system.logs()
            await system.stop()
            throw EndToEndError("\(error)\n\(logs)")
        }
        await system.stop()
    }
}
