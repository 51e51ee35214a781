/// The statements one session has prepared on the server, by SQL text and bind types.
///
/// A statement run through `PQexecParams` is parsed, analysed and planned on every call; a
/// prepared one only binds and executes, and after a few runs the server may keep one generic
/// plan for it. On this machine that more than doubled pgbench's select-only rate (18,000 →
/// 45,000/s) and added a third to its write transactions, and OneStop's statements are the same
/// few dozen over and over.
///
/// A statement is prepared on its second run, so text that is built on the fly and seen once
/// costs no extra round trip. At most `capacity` stay prepared; the least recently used one is
/// dropped (`DEALLOCATE`, sent once the session is outside a transaction).
struct PreparedStatementCache {
    enum Plan: Equatable {
        /// Run it with `PQexecParams` (first sighting, or caching is off).
        case unprepared
        /// Prepare it under this name, then run it.
        case prepare(name: String)
        /// Already prepared under this name.
        case prepared(name: String)
    }

    let capacity: Int
    private var prepared: [String: (name: String, lastUse: UInt64)] = [:]
    private var seenOnce: Set<String> = []
    private var clock: UInt64 = 0
    private var nextNumber = 0
    /// Names evicted or broken, to `DEALLOCATE` when the session is next idle.
    private(set) var namesToDeallocate: [String] = []

    init(capacity: Int) {
        self.capacity = capacity
    }

    mutating func plan(for key: String) -> Plan {
        guard capacity > 0 else { return .unprepared }
        clock &+= 1
        if let entry = prepared[key] {
            prepared[key] = (entry.name, clock)
            return .prepared(name: entry.name)
        }
        guard seenOnce.remove(key) != nil else {
            if seenOnce.count >= capacity * 4 { seenOnce.removeAll(keepingCapacity: true) }
            seenOnce.insert(key)
            return .unprepared
        }
        if prepared.count >= capacity, let oldest = prepared.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            prepared.removeValue(forKey: oldest.key)
            namesToDeallocate.append(oldest.value.name)
        }
        nextNumber += 1
        let name = "onestop_\(nextNumber)"
        prepared[key] = (name, clock)
        return .prepare(name: name)
    }

    /// The statement failed to prepare, or the server no longer has it (or its plan no longer
    /// fits the table): prepare it afresh next time.
    mutating func forget(_ key: String, deallocate: Bool) {
        guard let entry = prepared.removeValue(forKey: key) else { return }
        if deallocate { namesToDeallocate.append(entry.name) }
    }

    mutating func deallocated() {
        namesToDeallocate.removeAll()
    }

    static func key(text: String, types: [UInt32]) -> String {
        types.isEmpty ? text : text + "\u{0}" + types.map(String.init).joined(separator: ",")
    }
}
