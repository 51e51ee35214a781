import Contracts
import Messaging
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Tells the customer of a case's milestones through the outbox to the notification service,
/// in the same transaction as the change. The key makes each milestone a single message.
struct CustomerNotices: Sendable {
    let vault: PersonalDataVault

    func send(
        _ template: NotificationTemplate, for record: CaseRecord, serviceName: String,
        variables extra: [String: String], keySuffix: String, on connection: PostgresConnection
    ) async throws {
        var variables = ["customerName": record.customerName, "trackingNumber": record.trackingNumber, "serviceName": serviceName]
        variables.merge(extra) { _, new in new }
        let phone = try record.phoneCipher.map { try vault.open($0, keyID: record.keyID) }
        let email = try record.emailCipher.map { try vault.open($0, keyID: record.keyID) }
        var channels: [NotificationChannel] = []
        if phone != nil { channels.append(.sms) }
        if email != nil { channels.append(.email) }
        guard !channels.isEmpty else { return }
        let params = NotificationSend.Params(
            key: "intake/\(record.caseID)/\(keySuffix)",
            recipients: [.init(name: record.customerName, phone: phone, email: email)],
            channels: channels, channelPolicy: .all, template: template, locale: record.locale,
            variables: variables, urgency: record.priority == .regular ? .normal : .urgent, subjectId: record.caseID
        )
        // Sealed: the params hold the phone, email and access code the case keeps sealed.
        try await Outbox.enqueue(NotificationSend.self, params, to: "notification", aggregateKey: record.caseID, sealedWith: vault, on: connection)
    }
}
