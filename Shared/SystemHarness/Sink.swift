import JSONCoding
import TestSupport

#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A real SMTP server (aiosmtpd) or HTTP SMS gateway standing in for the providers, started from
/// the notification tests' scripts (`Tests/NotificationTests/Sinks`). Each writes one JSON line
/// per message it accepted to a file; the scenarios count and read those lines.
public final class Sink: Sendable {
    private let process: ChildProcess
    public let port: Int
    public let recordsFile: URL

    public enum Kind: String {
        case smtp = "smtp_sink.py"
        case sms = "sms_sink.py"
    }

    static let scripts = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Tests/NotificationTests/Sinks")

    /// Starts the sink with Debian's `/usr/bin/python3` (the one with aiosmtpd) on a free port.
    ///
    /// - Parameter recordingContent: false has the SMTP sink record only each message's
    ///   recipients (`--count-only`): it still speaks SMTP and accepts every message, but skips
    ///   parsing the MIME with Python's email package, which took a sixth of a 2-core machine
    ///   with the whole system at 40 cases a second. For benchmarks, which check deliveries in
    ///   notification's database; `records()` then holds no subjects or bodies.
    public init(_ kind: Kind, recordingContent: Bool = true) async throws {
        recordsFile = FileManager.default.temporaryDirectory.appendingPathComponent("onestop-e2e-\(kind)-\(UUID().uuidString).jsonl")
        _ = FileManager.default.createFile(atPath: recordsFile.path, contents: nil)
        var arguments = [Self.scripts.appendingPathComponent(kind.rawValue).path, recordsFile.path]
        if !recordingContent, kind == .smtp { arguments.append("--count-only") }
        process = try ChildProcess(path: "/usr/bin/python3", name: "\(kind) sink", arguments: arguments)
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            if let line = process.outputSoFar.split(separator: "\n").first(where: { $0.hasPrefix("READY ") }),
               let port = Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces)) {
                self.port = port
                break
            }
            guard process.isRunning, ContinuousClock.now < deadline else {
                process.kill()
                throw EndToEndError("the \(kind) sink did not start: \(process.outputSoFar.suffix(1000))")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Every message received so far, in arrival order.
    public func records() -> [JSON] {
        guard let data = FileManager.default.contents(atPath: recordsFile.path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { try? JSON.parse(Array($0.utf8)) }
    }

    /// Kills the sink and removes its file.
    public func stop() async {
        process.kill()
        await process.waitForExit(timeout: .seconds(5))
        try? FileManager.default.removeItem(at: recordsFile)
    }
}

/// A message as it arrived at a sink, reduced to what the scenarios look at.
public struct DeliveredMessage: Sendable, CustomStringConvertible {
    public enum Channel: String, Sendable { case sms, email }
    public var channel: Channel
    /// The phone number or email address it went to.
    public var recipient: String
    /// The SMS text, or the email's subject and plain-text body.
    public var text: String
    /// What identifies a message across resends: the SMS idempotency key (the notification key),
    /// or the email's Message-ID (stable for one key and recipient).
    public var key: String?

    public var description: String { "\(channel.rawValue) to \(recipient): \(text.prefix(160))" }
}

extension Sink {
    /// SMS records as messages (the body is the webhook JSON: to, from, text, reference).
    public func smsMessages() -> [DeliveredMessage] {
        records().compactMap { record in
            guard let body = record["body"]?.stringValue, let parsed = try? JSON.parse(Array(body.utf8)),
                  let to = parsed["to"]?.stringValue else { return nil }
            return DeliveredMessage(channel: .sms, recipient: to, text: parsed["text"]?.stringValue ?? "",
                                    key: record["idempotencyKey"]?.stringValue ?? parsed["reference"]?.stringValue)
        }
    }

    /// Email records as messages, one per recipient.
    public func emailMessages() -> [DeliveredMessage] {
        records().flatMap { record -> [DeliveredMessage] in
            let subject = record["subject"]?.stringValue ?? ""
            let plain = record["parts"]?["text/plain"]?.stringValue ?? ""
            return (record["rcpt"]?.arrayValue ?? []).compactMap { $0.stringValue }.map {
                DeliveredMessage(channel: .email, recipient: $0.lowercased(), text: subject + "\n" + plain,
                                 key: record["messageId"]?.stringValue)
            }
        }
    }
}

public struct EndToEndError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
