import JSONCoding
import LineProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The message every server echoes: the same ~200-byte JSON object as `onestop-bench protocol`.
struct EchoPayload: Codable, Sendable, Equatable {
    var caseId: String
    var tracking: String
    var serviceType: String
    var channel: String
    var priority: String
    var note: String
    var materials: [String]
    var sequence: Int

    static let sample = EchoPayload(
        caseId: "0193a6f2-7c1e-7d4a-9b1f-3c2d4e5f6a7b", tracking: "SQ20261123000123K",
        serviceType: "business-license", channel: "counter", priority: "regular",
        note: "applicant brought originals", materials: ["id-card", "lease-contract", "photo"], sequence: 0
    )
}

/// The line protocol's echo method, as a service would define it in Contracts.
enum BenchEcho: RPCMethod {
    typealias Params = EchoPayload
    typealias Result = EchoPayload
    static let name = "bench.echo"
}

/// How the alternatives turn messages into JSON bytes. `foundation` is what their users get
/// (gRPC Swift's JSON example and Hummingbird's default coders use JSONEncoder/JSONDecoder);
/// `onestop` gives them the project's own codec, so the transport alone is compared.
/// The line protocol always uses the project's codec: it is part of it.
enum Codec: String, Codable, Sendable, CaseIterable {
    case foundation
    case onestop

    func encode(_ payload: EchoPayload) throws -> [UInt8] {
        switch self {
        case .foundation: Array(try JSONEncoder().encode(payload))
        case .onestop: try JSONValueEncoder().encode(payload).serialized()
        }
    }

    func decode(_ bytes: UnsafeRawBufferPointer) throws -> EchoPayload {
        switch self {
        case .foundation: try JSONDecoder().decode(EchoPayload.self, from: Data(bytes))
        case .onestop: try JSONValueDecoder().decode(EchoPayload.self, from: bytes)
        }
    }
}

struct EchoMismatch: Error, CustomStringConvertible {
    let sent: EchoPayload
    let received: EchoPayload
    var description: String { "the server answered \(received) to \(sent)" }
}
