import Contracts
import JSONCoding

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// What an attempt came to, from the provider's answer.
enum AttemptVerdict: Sendable, Equatable {
    case sent(providerID: String?)
    /// Try again later: timeouts, connection errors, SMTP 4xx, HTTP 5xx/429/408.
    case retry(reason: String, detail: String, retryAfter: Duration?)
    /// Never try again: SMTP 5xx, HTTP 4xx other than 408/429. `suppress` names a hard bounce.
    case permanent(reason: String, detail: String, suppress: String?)
}

/// Builds the provider requests from the settings and classifies the answers.
struct ProviderTransport: Sendable {
    let settings: NotificationSettings
    let pool: CurlPool

    // MARK: Email

    func emailRequest(_ delivery: DeliveryRecord, to recipient: OpenedRecipient) -> (SMTPRequest, messageID: String) {
        let messageID = MIMEMessage.messageID(key: delivery.key, recipient: recipient.address, domain: settings.mailDomain)
        var mime = MIMEMessage(
            from: settings.mailFrom, fromName: settings.mailFromName, replyTo: settings.replyTo,
            to: recipient.address, toName: recipient.name,
            subject: recipient.content["subject"]?.stringValue ?? "",
            text: recipient.content["text"]?.stringValue ?? "",
            html: recipient.content["html"]?.stringValue ?? "",
            messageID: messageID, date: delivery.createdAt
        )
        mime.extraHeaders = [("X-OneStop-Delivery", delivery.id.lowercasedString)]
        let request = SMTPRequest(
            url: settings.smtpURL, user: settings.smtpUser, password: settings.smtpPassword,
            starttls: settings.starttls, verifyTLS: settings.tlsVerify, caFile: settings.smtpCAFile,
            from: settings.mailFrom, recipients: [recipient.address], message: mime.render(),
            connectTimeout: settings.connectTimeout, timeout: settings.transferTimeout
        )
        return (request, messageID)
    }

    func sendEmail(_ delivery: DeliveryRecord, to recipient: OpenedRecipient) async -> (AttemptVerdict, CurlResult) {
        let (request, messageID) = emailRequest(delivery, to: recipient)
        let result = await pool.perform(.smtp(request))
        return (Self.classifySMTP(result, messageID: messageID), result)
    }

    static func classifySMTP(_ result: CurlResult, messageID: String) -> AttemptVerdict {
        if result.finished { return .sent(providerID: messageID) }
        let code = result.responseCode
        // libcurl's response code is the server's last reply, which is the failure's cause only
        // when it is an error (4xx, 5xx); after EHLO's 250 (no STARTTLS offered) or STARTTLS's 220
        // (a certificate the handshake refused) the failure is the TLS layer's, not the server's.
        let detail = (400..<600).contains(code) ? "SMTP \(code): \(result.errorMessage)" : "SMTP: \(result.errorMessage)"
        if (400..<500).contains(code) { return .retry(reason: "smtp_4xx", detail: detail, retryAfter: nil) }
        if (500..<600).contains(code) {
            // 550/551/553 on a recipient are hard bounces; 535 (auth) and others are ours to fix.
            let bounce = [550, 551, 553].contains(code) ? "hard_bounce" : nil
            return .permanent(reason: "smtp_5xx", detail: detail, suppress: bounce)
        }
        return transportFailure(result, detail: detail)
    }

    // MARK: SMS

    func smsRequest(to recipient: OpenedRecipient, text: String, idempotencyKey: String) -> HTTPRequest {
        var headers: [String] = []
        let body: String
        var basicAuth: (user: String, password: String)?
        switch settings.smsProvider {
        case .webhook:
            headers.append("Content-Type: application/json")
            body = Self.fillJSONTemplate(settings.smsBodyTemplate, [
                "to": recipient.address, "from": settings.smsFrom, "text": text, "key": idempotencyKey,
            ])
        case .twilio:
            headers.append("Content-Type: application/x-www-form-urlencoded")
            body = [("To", recipient.address), ("From", settings.smsFrom), ("Body", text)]
                .map { "\($0.0)=\(Self.formEncode($0.1))" }.joined(separator: "&")
            if let sid = settings.smsAccountSID, let token = settings.smsAuthToken { basicAuth = (sid, token) }
        }
        if let auth = settings.smsAuthHeader { headers.append(auth) }
        if !settings.smsIdempotencyHeader.isEmpty { headers.append("\(settings.smsIdempotencyHeader): \(idempotencyKey)") }
        return HTTPRequest(url: settings.smsURL, headers: headers, body: Array(body.utf8), basicAuth: basicAuth,
                           connectTimeout: settings.connectTimeout, timeout: settings.transferTimeout)
    }

    func sendSMS(to recipient: OpenedRecipient, text: String, idempotencyKey: String) async -> (AttemptVerdict, CurlResult) {
        let result = await pool.perform(.http(smsRequest(to: recipient, text: text, idempotencyKey: idempotencyKey)))
        return (Self.classifyHTTP(result), result)
    }

    static func classifyHTTP(_ result: CurlResult) -> AttemptVerdict {
        guard result.finished else { return transportFailure(result, detail: "HTTP: \(result.errorMessage)") }
        let status = result.responseCode
        let snippet = String(decoding: result.body.prefix(200), as: UTF8.self)
        let detail = "HTTP \(status): \(snippet)"
        switch status {
        case 200..<300:
            let json = try? JSON.parse(result.body)
            let id = json?["id"]?.stringValue ?? json?["sid"]?.stringValue ?? json?["messageId"]?.stringValue
            return .sent(providerID: id)
        case 429, 408:
            return .retry(reason: "http_\(status)", detail: detail, retryAfter: retryAfter(result.headers["retry-after"]))
        case 500..<600:
            return .retry(reason: "http_5xx", detail: detail, retryAfter: retryAfter(result.headers["retry-after"]))
        default:
            return .permanent(reason: status >= 400 ? "http_4xx" : "http_\(status)", detail: detail, suppress: nil)
        }
    }

    /// The provider's status to record with an attempt: nil when no reply arrived, and nil when
    /// the transfer failed after a positive reply (an SMTP 250 or 220 before a TLS failure), which
    /// did not cause the failure.
    static func providerStatus(_ result: CurlResult) -> Int? {
        guard result.responseCode != 0, result.finished || result.responseCode >= 400 else { return nil }
        return result.responseCode
    }

    static func transportFailure(_ result: CurlResult, detail: String) -> AttemptVerdict {
        if result.timedOut { return .retry(reason: "timeout", detail: detail, retryAfter: nil) }
        // 6 resolve, 7 connect, 52 empty reply, 55 send, 56 receive: the network or the peer.
        if [6, 7, 52, 55, 56].contains(result.code) { return .retry(reason: "connection", detail: detail, retryAfter: nil) }
        // 35 TLS handshake, 64 STARTTLS required but not offered, 60 certificate.
        if [35, 60, 64].contains(result.code) { return .retry(reason: "tls", detail: detail, retryAfter: nil) }
        return .retry(reason: "transport", detail: detail, retryAfter: nil)
    }

    /// `Retry-After` in seconds (an HTTP date is rare from SMS gateways and is treated as absent).
    static func retryAfter(_ value: String?) -> Duration? {
        guard let value, let seconds = Double(value.trimmingCharacters(in: .whitespaces)), seconds >= 0 else { return nil }
        return .milliseconds(Int64(seconds * 1000))
    }

    static func fillJSONTemplate(_ template: String, _ values: [String: String]) -> String {
        var out = template
        for (name, value) in values {
            // The JSON string's inside: serialise and drop the quotes.
            let escaped = String(JSON.string(value).jsonString.dropFirst().dropLast())
            out = out.replacingOccurrences(of: "{{\(name)}}", with: escaped)
        }
        return out
    }

    static func formEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}
