import Contracts
import JSONCoding
import LineProtocol

/// One delivery a send will create: a recipient's address on one channel, with its rendered text.
struct PlannedDelivery: Sendable {
    var position: Int
    var channel: NotificationChannel
    var address: String
    var name: String?
    var content: JSON
}

/// Checks a `notification.send` and renders it, before anything is written: every problem is an
/// `invalid_params` error naming the field, so a refused send changes nothing.
enum SendPlan {
    /// Bounds on input sizes (a send is a few hundred bytes; these stop abuse, not use).
    static let maxKeyLength = 256
    static let maxRecipients = 100
    static let maxVariableLength = 4_000

    static func plan(_ params: NotificationSend.Params, catalog: TemplateCatalog, settings: NotificationSettings) throws(RPCError) -> [PlannedDelivery] {
        let key = params.key
        guard !key.isEmpty, key.count <= maxKeyLength, !key.contains(where: { $0.isNewline || $0.asciiValue.map { $0 < 0x20 } == true }) else {
            throw .invalidParams("key must be 1...\(maxKeyLength) printable characters", details: ["field": .string("key")])
        }
        guard !params.recipients.isEmpty, params.recipients.count <= maxRecipients else {
            throw .invalidParams("recipients must list 1...\(maxRecipients) recipients", details: ["field": .string("recipients")])
        }
        guard !params.channels.isEmpty, Set(params.channels).count == params.channels.count else {
            throw .invalidParams("channels must list each channel at most once, and at least one", details: ["field": .string("channels")])
        }
        if let missing = TemplateCatalog.missingVariables(params.template, in: params.variables).first {
            throw .invalidParams(
                "variable \(missing) is missing for template \(params.template.rawValue); it needs \(params.template.requiredVariables.joined(separator: ", "))",
                details: ["field": .string("variables.\(missing)"), "variable": .string(missing)]
            )
        }
        for (name, value) in params.variables where value.count > maxVariableLength {
            throw .invalidParams("variable \(name) is longer than \(maxVariableLength) characters", details: ["field": .string("variables.\(name)")])
        }
        let rendered = catalog.render(params.template, params.locale, variables: params.variables)
        let smsParts = try smsParts(rendered.sms, settings: settings)

        var planned: [PlannedDelivery] = []
        var seen: Set<String> = []
        for (index, recipient) in params.recipients.enumerated() {
            if let phone = recipient.phone, !isPhone(phone) {
                throw .invalidParams("recipients[\(index)].phone must be E.164, like +8613812345678", details: ["field": .string("recipients[\(index)].phone")])
            }
            if let email = recipient.email, !isEmail(email) {
                throw .invalidParams("recipients[\(index)].email is not a valid address", details: ["field": .string("recipients[\(index)].email")])
            }
            if let name = recipient.name, name.count > 200 || name.contains(where: \.isNewline) {
                throw .invalidParams("recipients[\(index)].name must be one line of at most 200 characters", details: ["field": .string("recipients[\(index)].name")])
            }
            var chosen: [(NotificationChannel, String)] = []
            for channel in params.channels {
                let address: String? = switch channel {
                case .sms: recipient.phone
                case .email: recipient.email?.lowercased()
                }
                guard let address else { continue }
                chosen.append((channel, address))
                if params.channelPolicy == .firstAvailable { break }
            }
            if chosen.isEmpty {
                throw .invalidParams(
                    "recipients[\(index)] has no address for the channels \(params.channels.map(\.rawValue).joined(separator: ", "))",
                    details: ["field": .string("recipients[\(index)]")]
                )
            }
            for (channel, address) in chosen where seen.insert("\(channel.rawValue) \(address)").inserted {
                let content: JSON = switch channel {
                case .sms: ["parts": .array(smsParts.map { .string($0) })]
                case .email: ["subject": .string(rendered.subject), "text": .string(rendered.text), "html": .string(rendered.html)]
                }
                planned.append(PlannedDelivery(position: planned.count, channel: channel, address: address, name: recipient.name, content: content))
            }
        }
        return planned
    }

    /// The SMS as it will be sent: one text (maybe concatenated by the provider) or split parts.
    static func smsParts(_ text: String, settings: NotificationSettings) throws(RPCError) -> [String] {
        let segments = SMSSegments(text)
        switch settings.smsLongText {
        case .refuse where segments.segments > 1, .concatenate where segments.segments > settings.smsMaxSegments:
            throw .invalidParams(
                "the SMS text needs \(segments.segments) segments (\(segments.units) \(segments.encoding == .gsm7 ? "GSM-7 septets" : "UCS-2 units")); at most \(settings.smsLongText == .refuse ? 1 : settings.smsMaxSegments) allowed: shorten the variables",
                details: ["field": .string("variables"), "segments": .integer(Int64(segments.segments))]
            )
        case .split:
            let parts = SMSSegments.split(text)
            guard parts.count <= settings.smsMaxSegments else {
                throw .invalidParams("the SMS text needs \(parts.count) messages; at most \(settings.smsMaxSegments) allowed: shorten the variables", details: ["field": .string("variables")])
            }
            return parts
        default:
            return [text]
        }
    }

    static func isPhone(_ text: String) -> Bool {
        let digits = text.dropFirst()
        return text.first == "+" && (8...16).contains(text.count) && digits.first != "0" && digits.allSatisfy(\.isASCII) && digits.allSatisfy(\.isNumber)
    }

    static func isEmail(_ text: String) -> Bool {
        guard text.count <= 254, text.allSatisfy({ $0.isASCII && !$0.isWhitespace && !"<>()[],;:\\\"".contains($0) }) else { return false }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].count <= 64 else { return false }
        let domain = parts[1]
        return domain.contains(".") && !domain.hasPrefix(".") && !domain.hasSuffix(".") && !domain.contains("..")
    }

    /// `+86138****5678`, `z***@example.org`: enough to recognise, not to use.
    static func mask(_ address: String, channel: NotificationChannel) -> String {
        switch channel {
        case .sms:
            guard address.count > 8 else { return String(repeating: "*", count: address.count) }
            return address.prefix(6) + String(repeating: "*", count: address.count - 10 > 0 ? address.count - 10 : 1) + address.suffix(4)
        case .email:
            let parts = address.split(separator: "@")
            guard parts.count == 2 else { return "***" }
            return "\(parts[0].prefix(1))***@\(parts[1])"
        }
    }
}
