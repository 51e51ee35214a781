import Contracts
import Identity
import JSONCoding
import LineProtocol
import Messaging
import Postgres
import ServiceKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Registration, supplements, further items, withdrawal and objection: how a case enters and
/// how the customer acts on it before a decision.
struct RegistrationHandlers: Sendable {
    let database: PostgresPool
    let catalog: ServiceCatalog
    let vault: PersonalDataVault
    let notices: CustomerNotices
    let settings: IntakeSettings

    static let descriptionLength = 5...4000
    static let maxMaterials = 100

    // MARK: Validation (before any write)

    struct CheckedIdentity {
        var name: String
        var document: IdentityDocument
    }

    func checkIdentity(_ input: IdentityInput, field: String, allowed: [IdentityDocumentType]) throws -> CheckedIdentity {
        let name = input.name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...100).contains(name.count) else { throw RPCError.invalidParams("\(field).name: 1 to 100 characters", zh: "\(field).name：1 至 100 个字符") }
        guard let type = IdentityDocumentType(rawValue: input.idType) else {
            throw RPCError.invalidParams("\(field).idType: one of \(IdentityDocumentType.allCases.map(\.rawValue).joined(separator: ", "))", zh: "\(field).idType：须为以下之一：\(IdentityDocumentType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard allowed.contains(type) else {
            throw RPCError.invalidParams("\(field).idType: \(type.rawValue) is not accepted here; use \(allowed.map(\.rawValue).joined(separator: " or "))", zh: "\(field).idType：此处不接受 \(type.rawValue)，请使用 \(allowed.map(\.rawValue).joined(separator: " 或 "))")
        }
        do {
            return CheckedIdentity(name: name, document: try IdentityDocument(type: type, number: input.idNumber))
        } catch {
            throw RPCError.invalidParams("\(field).idNumber: \(error.message)", zh: "\(field).idNumber：\(error.zh)")
        }
    }

    struct CheckedContact {
        var phone: PhoneNumber?
        var email: EmailAddress?
        var locale: CustomerLocale
    }

    func checkContact(_ input: ContactInput) throws -> CheckedContact {
        let phoneText = input.phone?.trimmingCharacters(in: .whitespaces) ?? ""
        let emailText = input.email?.trimmingCharacters(in: .whitespaces) ?? ""
        guard !phoneText.isEmpty || !emailText.isEmpty else {
            throw RPCError.invalidParams("contact: a phone number or an email address is needed to tell the customer of progress", zh: "contact：需要提供手机号码或电子邮箱，以便告知申请人办理进度")
        }
        var contact = CheckedContact(locale: input.locale ?? .zhCN)
        do {
            if !phoneText.isEmpty { contact.phone = try PhoneNumber(phoneText) }
        } catch { throw RPCError.invalidParams("contact.phone: \(error.message)", zh: "contact.phone：\(error.zh)") }
        do {
            if !emailText.isEmpty { contact.email = try EmailAddress(emailText) }
        } catch { throw RPCError.invalidParams("contact.email: \(error.message)", zh: "contact.email：\(error.zh)") }
        return contact
    }

    func checkMaterials(_ materials: [MaterialItem], field: String = "materials") throws {
        guard materials.count <= Self.maxMaterials else { throw RPCError.invalidParams("\(field): at most \(Self.maxMaterials) items", zh: "\(field)：最多 \(Self.maxMaterials) 项") }
        for (index, item) in materials.enumerated() {
            guard (1...64).contains(item.code.count) else { throw RPCError.invalidParams("\(field)[\(index)].code: 1 to 64 characters", zh: "\(field)[\(index)].code：1 至 64 个字符") }
            guard (1...50).contains(item.copies) else { throw RPCError.invalidParams("\(field)[\(index)].copies: 1 to 50", zh: "\(field)[\(index)].copies：1 至 50") }
        }
    }

    // MARK: intake.registerCase

    func register(_ params: IntakeRegisterCase.Params, _ context: RPCContext) async throws -> IntakeRegisterCase.Result {
        // Who owns the case: the officer at the counter or phone; online, the duty officer.
        let officer: RPCActor?
        if params.channel == .online && context.meta.actor == nil {
            officer = nil
        } else {
            officer = try context.requireStaff(.intakeOfficer, .supervisor, doing: "registering a \(params.channel.rawValue) application")
        }
        let applicantTypes: [IdentityDocumentType]
        switch params.applicantType {
        case .individual, .representative: applicantTypes = [.residentID, .passport]
        case .company: applicantTypes = [.unifiedSocialCreditCode]
        }
        let applicant = try checkIdentity(params.applicant, field: "applicant", allowed: applicantTypes)
        var principal: CheckedIdentity?
        if params.applicantType == .representative {
            guard let input = params.principal else {
                throw RPCError.invalidParams("principal: a representative must give the identity of the person or company they act for", zh: "principal：代理人必须提供被代理个人或企业的身份信息")
            }
            principal = try checkIdentity(input, field: "principal", allowed: IdentityDocumentType.allCases)
        } else if params.principal != nil {
            throw RPCError.invalidParams("principal: only a representative acts for a principal (applicantType is \(params.applicantType.rawValue))", zh: "principal：只有代理人才能代他人办理（applicantType 为 \(params.applicantType.rawValue)）")
        }
        let contact = try checkContact(params.contact)
        let description = params.description.trimmingCharacters(in: .whitespacesAndNewlines)
        guard Self.descriptionLength.contains(description.count) else {
            throw RPCError.invalidParams("description: \(Self.descriptionLength.lowerBound) to \(Self.descriptionLength.upperBound) characters, this one has \(description.count)", zh: "description：须为 \(Self.descriptionLength.lowerBound) 至 \(Self.descriptionLength.upperBound) 个字符，当前为 \(description.count) 个")
        }
        try checkMaterials(params.materials)
        if let amount = params.declaredAmount, !(amount.isFinite && amount >= 0) {
            throw RPCError.invalidParams("declaredAmount: a number of 0 or more", zh: "declaredAmount：须为不小于 0 的数字")
        }
        if let key = params.idempotencyKey, !(1...128).contains(key.count) {
            throw RPCError.invalidParams("idempotencyKey: 1 to 128 characters", zh: "idempotencyKey：1 至 128 个字符")
        }
        let priority = params.priority ?? .regular
        let confidentiality = params.confidentiality ?? .normal

        return try await database.withTransaction { connection in
            if let key = params.idempotencyKey,
               let existing = try await connection.query("SELECT id FROM cases WHERE idempotency_key = \(key)").first {
                let id = try existing.decode(UUID.self, column: "id")
                guard let record = try await CaseStore.load(id: id, on: connection) else { throw RPCError.internal("case \(id) vanished") }
                return result(for: record, accessCode: accessCode(for: record.id))
            }
            guard let serviceType = try await catalog.serviceType(params.serviceType, on: connection) else {
                throw RPCError.invalidParams("serviceType: unknown service type \"\(params.serviceType)\"; intake.listCatalog lists them", zh: "serviceType：未知的事项“\(params.serviceType)”；可用 intake.listCatalog 查看事项清单")
            }
            let owner: StaffRef
            if let officer {
                owner = StaffRef(id: officer.id, role: officer.roles.first)
            } else {
                owner = try await dutyOfficer(on: connection)
            }
            let now = Date()
            let today = settings.calendar.today(at: now)
            let id = UUID.v7(at: now)
            let sequence = try await connection.query("SELECT nextval('tracking_sequence') AS n")[0].decode(Int64.self, column: "n")
            let trackingNumber = TrackingNumber.make(day: today, sequence: sequence)
            let code = accessCode(for: id)

            // Admissibility first: the hall's scope and channel rules.
            var status: CaseStatus
            var notice: MaterialsNotice?
            var notAccepted: (reason: String, guidance: String)?
            let locale = contact.locale
            if serviceType.active == false {
                notAccepted = (locale == .en ? "This service is no longer offered." : "该事项已停止办理。",
                               serviceType.guidance?.text(locale) ?? (locale == .en ? "Ask at the counter for the service that replaces it." : "请到窗口咨询替代事项。"))
            } else if params.channel == .online && !serviceType.admissibleOnline {
                notAccepted = (locale == .en ? "This service cannot be applied for online." : "该事项不支持网上申请。",
                               serviceType.guidance?.text(locale) ?? (locale == .en ? "Please apply at the counter with the originals." : "请携带原件到窗口申请。"))
            } else if !serviceType.applicantTypes.contains(params.applicantType) {
                notAccepted = (locale == .en ? "This service is not open to \(params.applicantType.rawValue) applicants." : "该事项不受理此类申请人。",
                               locale == .en ? "It is open to: \(serviceType.applicantTypes.map(\.rawValue).joined(separator: ", "))." : "受理对象：\(serviceType.applicantTypes.map(\.rawValue).joined(separator: "、"))。")
            }
            let required = serviceType.requiredMaterials(for: params.applicantType)
            if notAccepted != nil {
                status = .notAccepted
            } else {
                let problems = CompletenessCheck.problems(handedIn: params.materials, required: required, locale: locale)
                if problems.isEmpty {
                    status = .accepted
                } else {
                    status = .awaitingMaterials
                    let deadline = settings.calendar.adding(workingDays: serviceType.materialsDeadlineWorkingDays, to: today)
                    notice = MaterialsNotice(items: problems, deadline: deadline.description, issuedAt: now, updated: false)
                }
            }
            let limit = priority == .regular ? serviceType.timeLimitWorkingDays : (serviceType.urgentTimeLimitWorkingDays ?? serviceType.timeLimitWorkingDays)
            let dueDate = status == .accepted ? settings.calendar.adding(workingDays: limit, to: today).description : nil

            let idSealed = try vault.seal(applicant.document.number, kind: applicant.document.type.rawValue)
            let phoneSealed = try contact.phone.map { try vault.seal($0.e164, kind: "phone") }
            let emailSealed = try contact.email.map { try vault.seal($0.value, kind: "email") }
            var principalJSON: PostgresJSONB?
            if let principal {
                let sealed = try vault.seal(principal.document.number, kind: principal.document.type.rawValue)
                let object: JSON = [
                    "name": .string(principal.name), "idType": .string(principal.document.type.rawValue),
                    "idMasked": .string(principal.document.masked), "idHash": .string(sealed.hash),
                    "idCipher": .string(sealed.cipher.base64EncodedString()),
                ]
                principalJSON = PostgresJSONB(rawJSON: object.jsonString)
            }
            let noticed = notice?.items.map(\.code) ?? []
            // The row comes back as stored (defaults, date casts) without a second round trip.
            let inserted = try await connection.query("""
                INSERT INTO cases (id, tracking_number, access_code_hash, idempotency_key, service_type, channel, applicant_type,
                    customer_name, id_type, id_number_cipher, id_number_hash, id_number_masked,
                    phone_cipher, phone_hash, phone_masked, email_cipher, email_hash, email_masked, key_id, principal,
                    locale, description, declared_amount, priority, confidentiality, status, owner_id, owner_name, department,
                    materials, noticed_items, notice, notice_deadline, due_date, review_round, registered_at, accepted_at, finished_at)
                VALUES (\(id), \(trackingNumber), \(vault.lookupHash(code, kind: "access")), \(params.idempotencyKey), \(serviceType.code),
                    \(params.channel.rawValue), \(params.applicantType.rawValue),
                    \(applicant.name), \(applicant.document.type.rawValue), \(idSealed.cipher), \(idSealed.hash), \(applicant.document.masked),
                    \(phoneSealed?.cipher), \(phoneSealed?.hash), \(contact.phone?.masked), \(emailSealed?.cipher), \(emailSealed?.hash),
                    \(contact.email?.masked), \(vault.keyID), \(principalJSON),
                    \(locale.rawValue), \(description), \(params.declaredAmount), \(priority.rawValue), \(confidentiality.rawValue),
                    \(status.rawValue), \(owner.id), \(owner.name), \(serviceType.department),
                    \(try CaseStore.jsonb(params.materials)), \(noticed), \(try notice.map { try CaseStore.jsonb($0) }),
                    \(notice?.deadline)::date, \(dueDate)::date, \(status == .accepted ? 1 : 0), \(now),
                    \(status == .accepted ? now : nil), \(status == .notAccepted ? now : nil))
                RETURNING \(unsafeRaw: CaseStore.columns)
                """)
            guard let record = try inserted.first.map(CaseStore.decode) else { throw RPCError.internal("case \(id) vanished") }
            let serviceName = serviceType.name.text(locale)
            try await CaseStore.appendTimeline(id, event: "registered", actor: owner.id, detail: "\(params.channel.rawValue) · \(serviceName)", at: now, on: connection)
            try await AuditTrail.record(
                "case.registered", by: officer.map(AuditActor.init) ?? AuditActor(id: owner.id, role: "duty_officer"), caseID: id,
                after: ["status": .string(status.rawValue), "serviceType": .string(serviceType.code), "channel": .string(params.channel.rawValue)],
                context: context, on: connection
            )
            switch status {
            case .accepted:
                try await CaseStore.appendTimeline(id, event: "accepted", actor: owner.id, detail: nil, at: now, on: connection)
                try await notices.send(.caseAccepted, for: record, serviceName: serviceName,
                                       variables: ["accessCode": code, "dueDate": dueDate ?? ""], keySuffix: "accepted", on: connection)
                try await submitForReview(record, serviceType: serviceType, on: connection)
            case .awaitingMaterials:
                let items = notice!.items
                try await CaseStore.appendTimeline(id, event: "materials_missing", actor: owner.id,
                                                   detail: CompletenessCheck.describe(items, locale: locale), at: now, on: connection)
                try await notices.send(.caseMaterialsMissing, for: record, serviceName: serviceName,
                                       variables: ["accessCode": code, "missingItems": CompletenessCheck.describe(items, locale: locale), "deadline": notice!.deadline],
                                       keySuffix: "materials_missing/1", on: connection)
            case .notAccepted:
                try await CaseStore.appendTimeline(id, event: "not_accepted", actor: owner.id, detail: notAccepted!.reason, at: now, on: connection)
                try await notices.send(.caseNotAccepted, for: record, serviceName: serviceName,
                                       variables: ["reason": notAccepted!.reason, "guidance": notAccepted!.guidance], keySuffix: "not_accepted", on: connection)
            default:
                break
            }
            var answer = result(for: record, accessCode: code)
            answer.notAcceptedReason = notAccepted?.reason
            answer.guidance = notAccepted?.guidance
            return answer
        }
    }

    func accessCode(for id: UUID) -> String { AccessCode.derive(for: id, vault: vault) }

    func result(for record: CaseRecord, accessCode: String?) -> IntakeRegisterCase.Result {
        IntakeRegisterCase.Result(
            caseId: record.caseID, trackingNumber: record.trackingNumber, accessCode: accessCode, status: record.status,
            notice: record.status == .awaitingMaterials || record.status == .returned ? record.notice : nil,
            notAcceptedReason: nil, guidance: nil, dueDate: record.dueDate, owner: record.ownerID
        )
    }

    private func dutyOfficer(on connection: PostgresConnection) async throws -> StaffRef {
        let today = settings.calendar.today().description
        if let row = try await connection.query("SELECT officer_id, officer_name FROM duty_roster WHERE day = \(today)::date").first {
            return StaffRef(id: try row.decode(String.self, column: "officer_id"), name: try row.decode(String?.self, column: "officer_name"), role: "duty_officer")
        }
        return StaffRef(id: settings.defaultDutyOfficer, role: "duty_officer")
    }

    /// Hands an accepted case to review through the outbox (same transaction as the acceptance).
    /// Identity numbers go masked; review fetches them with `intake.applicantIdentity`.
    func submitForReview(_ record: CaseRecord, serviceType: CatalogServiceType, on connection: PostgresConnection) async throws {
        let required = serviceType.requiredMaterials(for: record.applicantType).map {
            MaterialItem(code: $0.code, name: $0.name.text(record.locale), copies: $0.copies, original: $0.original)
        }
        let limit = record.priority == .regular ? serviceType.timeLimitWorkingDays : (serviceType.urgentTimeLimitWorkingDays ?? serviceType.timeLimitWorkingDays)
        var params = ReviewSubmit.Params(
            caseId: record.caseID, trackingNumber: record.trackingNumber, serviceType: serviceType.code,
            serviceName: serviceType.name.text(record.locale), applicantType: record.applicantType,
            applicant: .init(name: record.customerName, idType: record.idType, idNumber: record.idNumberMasked, customerKey: record.idNumberHash),
            principal: try principal(of: record, reveal: false), priority: record.priority, confidentiality: record.confidentiality,
            channel: record.channel, description: record.description, materials: record.materials, requiredMaterials: required,
            autoApprovalAllowed: serviceType.reviewPolicy == .automaticAllowed, department: serviceType.department,
            timeLimitWorkingDays: limit, declaredAmount: record.declaredAmount, acceptedAt: record.acceptedAt ?? Date()
        )
        params.round = max(record.reviewRound, 1)
        try await Outbox.enqueue(ReviewSubmit.self, params, to: "review", aggregateKey: record.caseID, on: connection)
    }

    /// The principal a representative acts for, with the number masked or opened.
    func principal(of record: CaseRecord, reveal: Bool) throws -> ReviewSubmit.Applicant? {
        guard let text = record.principalJSON, case .object(let object) = try JSON.parse(Array(text.utf8)),
              case .string(let cipherText)? = object["idCipher"], let cipher = Data(base64Encoded: cipherText),
              case .string(let name)? = object["name"], case .string(let type)? = object["idType"],
              case .string(let hash)? = object["idHash"], case .string(let masked)? = object["idMasked"] else { return nil }
        return .init(name: name, idType: type, idNumber: reveal ? try vault.open(cipher, keyID: record.keyID) : masked, customerKey: hash)
    }

    /// `intake.applicantIdentity`, for the review service only.
    func applicantIdentity(_ params: IntakeApplicantIdentity.Params, _ context: RPCContext) async throws -> IntakeApplicantIdentity.Result {
        guard context.caller == "review" else {
            throw RPCError.forbidden("identity numbers are given only to the review service's checks", zh: "证件号码仅提供给审核服务的核验")
        }
        guard let id = UUID(uuidString: params.caseId) else { throw RPCError.invalidParams("caseId: not a UUID", zh: "caseId：不是有效的 UUID") }
        return try await database.withConnection { connection in
            guard let record = try await CaseStore.load(id: id, on: connection) else { throw RPCError.notFound("no case \(params.caseId)", zh: "未找到办件 \(params.caseId)") }
            return IntakeApplicantIdentity.Result(
                applicant: .init(name: record.customerName, idType: record.idType,
                                 idNumber: try vault.open(record.idNumberCipher, keyID: record.keyID), customerKey: record.idNumberHash),
                principal: try principal(of: record, reveal: true)
            )
        }
    }

    // MARK: Finding a customer's case

    /// The case of a tracking number and access code. A wrong code and an unknown number get the
    /// same answer, so the answer tells nothing about which numbers exist.
    func customerCase(_ credentials: CustomerCredentials, forUpdate: Bool, on connection: PostgresConnection) async throws -> CaseRecord {
        let unknown = RPCError.notFound("no case matches this tracking number and access code", zh: "没有与此受理编号和查询码相符的办件")
        let number = credentials.trackingNumber.uppercased().trimmingCharacters(in: .whitespaces)
        guard TrackingNumber.isWellFormed(number) else { throw unknown }
        guard let record = try await CaseStore.load(trackingNumber: number, forUpdate: forUpdate, on: connection) else { throw unknown }
        let given = vault.lookupHash(AccessCode.normalise(credentials.accessCode), kind: "access")
        guard constantTimeEqual(given, record.accessCodeHash) else { throw unknown }
        return record
    }

    // MARK: intake.supplementMaterials

    func supplement(_ params: IntakeSupplementMaterials.Params, _ context: RPCContext) async throws -> IntakeRegisterCase.Result {
        try checkMaterials(params.materials)
        guard !params.materials.isEmpty else { throw RPCError.invalidParams("materials: hand in at least one item", zh: "materials：至少提交一项材料") }
        var actor = AuditActor.customer
        if params.customer == nil {
            guard params.caseId != nil else { throw RPCError.invalidParams("give caseId (staff) or customer (tracking number and access code)", zh: "请提供 caseId（工作人员）或 customer（受理编号和查询码）") }
            actor = AuditActor(try context.requireStaff(.intakeOfficer, .supervisor, doing: "supplementing materials for a customer"))
        }
        return try await database.withTransaction { connection in
            var record: CaseRecord
            if let credentials = params.customer {
                record = try await customerCase(credentials, forUpdate: true, on: connection)
            } else {
                guard let id = UUID(uuidString: params.caseId!), let found = try await CaseStore.load(id: id, forUpdate: true, on: connection) else {
                    throw RPCError.notFound("no case \(params.caseId!)", zh: "未找到办件 \(params.caseId!)")
                }
                record = found
            }
            guard record.status == .awaitingMaterials || record.status == .returned else {
                throw RPCError.invalidState("case \(record.trackingNumber) is \(record.status.rawValue): materials are supplemented only while it awaits materials or was returned", zh: "办件 \(record.trackingNumber) 当前状态为 \(record.status.rawValue)：只有在待补齐材料或被退回补正时才能补充材料")
            }
            guard let serviceType = try await catalog.serviceType(record.serviceType, on: connection) else {
                throw RPCError.internal("service type \(record.serviceType) of case \(record.trackingNumber) is gone from the catalog")
            }
            let before: JSON = ["status": .string(record.status.rawValue)]
            let now = Date()
            let materials = record.materials + params.materials
            let serviceName = serviceType.name.text(record.locale)
            var remaining: [NoticeItem] = []
            if record.status == .awaitingMaterials {
                // Only items of the first notice (or added under a supervisor's override) may still be asked for.
                let required = serviceType.requiredMaterials(for: record.applicantType)
                remaining = CompletenessCheck.problems(handedIn: materials, required: required, locale: record.locale)
                    .filter { record.noticedItems.contains($0.code) }
                let overrides = (record.notice?.items ?? []).filter { $0.problem == .other && record.noticedItems.contains($0.code) }
                let handedCodes = Set(params.materials.map(\.code))
                remaining += overrides.filter { !handedCodes.contains($0.code) && !remaining.contains($0) }
            }
            // A returned case: what the reviewer asked for is taken as handed in with the supplement; review decides again.
            if remaining.isEmpty {
                let limit = record.priority == .regular ? serviceType.timeLimitWorkingDays : (serviceType.urgentTimeLimitWorkingDays ?? serviceType.timeLimitWorkingDays)
                let dueDate = settings.calendar.adding(workingDays: limit, to: settings.calendar.today(at: now)).description
                try await connection.execute("""
                    UPDATE cases SET status = 'accepted', materials = \(try CaseStore.jsonb(materials)), notice = NULL, notice_deadline = NULL,
                        accepted_at = \(now), due_date = \(dueDate)::date, review_round = review_round + 1
                    WHERE id = \(record.id)
                    """)
                record = try await CaseStore.load(id: record.id, on: connection)!
                try await CaseStore.appendTimeline(record.id, event: "accepted", actor: actor.id, detail: "materials supplemented", at: now, on: connection)
                try await notices.send(.caseAccepted, for: record, serviceName: serviceName,
                                       variables: ["accessCode": accessCode(for: record.id), "dueDate": dueDate],
                                       keySuffix: "accepted/\(record.reviewRound)", on: connection)
                try await submitForReview(record, serviceType: serviceType, on: connection)
            } else {
                let notice = MaterialsNotice(items: remaining, deadline: record.notice?.deadline ?? "", issuedAt: now, updated: true)
                try await connection.execute("""
                    UPDATE cases SET materials = \(try CaseStore.jsonb(materials)), notice = \(try CaseStore.jsonb(notice)) WHERE id = \(record.id)
                    """)
                record = try await CaseStore.load(id: record.id, on: connection)!
                let noticeCount = try await connection.query("SELECT count(*)::int8 AS n FROM case_timeline WHERE case_id = \(record.id) AND event LIKE 'materials_missing%'")[0].decode(Int64.self, column: "n")
                let list = CompletenessCheck.describe(remaining, locale: record.locale)
                try await CaseStore.appendTimeline(record.id, event: "materials_missing_updated", actor: actor.id, detail: list, at: now, on: connection)
                try await notices.send(.caseMaterialsMissing, for: record, serviceName: serviceName,
                                       variables: ["accessCode": accessCode(for: record.id), "missingItems": list, "deadline": notice.deadline],
                                       keySuffix: "materials_missing/\(noticeCount + 1)", on: connection)
            }
            try await AuditTrail.record("case.materials_supplemented", by: actor, caseID: record.id, before: before,
                                        after: ["status": .string(record.status.rawValue), "handedIn": .integer(Int64(params.materials.count))],
                                        context: context, on: connection)
            return result(for: record, accessCode: nil)
        }
    }

    // MARK: intake.requestAdditionalItems

    func requestAdditionalItems(_ params: IntakeRequestAdditionalItems.Params, _ context: RPCContext) async throws -> IntakeRegisterCase.Result {
        let supervisor = try context.requireStaff(.supervisor, doing: "asking for items beyond the first notice")
        let reason = params.reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (5...1000).contains(reason.count) else { throw RPCError.invalidParams("reason: 5 to 1000 characters, why the first notice missed these items", zh: "reason：5 至 1000 个字符，说明首次告知为何遗漏这些材料") }
        guard !params.items.isEmpty, params.items.count <= 50 else { throw RPCError.invalidParams("items: 1 to 50 items", zh: "items：1 至 50 项") }
        guard let id = UUID(uuidString: params.caseId) else { throw RPCError.invalidParams("caseId: not a UUID", zh: "caseId：不是有效的 UUID") }
        return try await database.withTransaction { connection in
            guard var record = try await CaseStore.load(id: id, forUpdate: true, on: connection) else { throw RPCError.notFound("no case \(params.caseId)", zh: "未找到办件 \(params.caseId)") }
            guard record.status == .awaitingMaterials || record.status == .accepted else {
                throw RPCError.invalidState("case \(record.trackingNumber) is \(record.status.rawValue): further items can be asked for only before review starts", zh: "办件 \(record.trackingNumber) 当前状态为 \(record.status.rawValue)：只有在审核开始前才能要求补充材料")
            }
            guard let serviceType = try await catalog.serviceType(record.serviceType, on: connection) else {
                throw RPCError.internal("service type \(record.serviceType) is gone from the catalog")
            }
            let now = Date()
            let newItems = params.items.map { item in
                NoticeItem(code: item.code, name: item.name, problem: item.problem == .missing ? .other : item.problem, requiredCopies: item.requiredCopies,
                           note: item.note ?? (record.locale == .en ? "asked for later: \(reason)" : "补充告知：\(reason)"))
            }
            let items = (record.status == .awaitingMaterials ? record.notice?.items ?? [] : []) + newItems
            let deadline = record.notice?.deadline
                ?? settings.calendar.adding(workingDays: serviceType.materialsDeadlineWorkingDays, to: settings.calendar.today(at: now)).description
            let notice = MaterialsNotice(items: items, deadline: deadline, issuedAt: now, updated: true)
            try await connection.execute("""
                INSERT INTO item_overrides (case_id, items, supervisor, reason) VALUES (\(id), \(try CaseStore.jsonb(params.items)), \(supervisor.id), \(reason))
                """)
            try await connection.execute("""
                UPDATE cases SET status = 'awaiting_materials', notice = \(try CaseStore.jsonb(notice)), notice_deadline = \(deadline)::date,
                    noticed_items = noticed_items || \(newItems.map(\.code))
                WHERE id = \(id)
                """)
            let before = record.status
            record = try await CaseStore.load(id: id, on: connection)!
            let list = CompletenessCheck.describe(items, locale: record.locale)
            try await CaseStore.appendTimeline(id, event: "materials_missing_override", actor: supervisor.id, detail: list, at: now, on: connection)
            try await AuditTrail.record("case.items_override", by: AuditActor(supervisor), caseID: id,
                                        before: ["status": .string(before.rawValue)],
                                        after: ["status": "awaiting_materials", "reason": .string(reason), "items": .array(newItems.map { .string($0.code) })],
                                        context: context, on: connection)
            let overrideCount = try await connection.query("SELECT count(*)::int8 AS n FROM item_overrides WHERE case_id = \(id)")[0].decode(Int64.self, column: "n")
            try await notices.send(.caseMaterialsMissing, for: record, serviceName: serviceType.name.text(record.locale),
                                   variables: ["accessCode": accessCode(for: id), "missingItems": list, "deadline": deadline],
                                   keySuffix: "materials_missing/override/\(overrideCount)", on: connection)
            return result(for: record, accessCode: nil)
        }
    }

    // MARK: intake.withdraw and intake.object

    func withdraw(_ params: IntakeWithdraw.Params, _ context: RPCContext) async throws -> IntakeWithdraw.Result {
        try await database.withTransaction { connection in
            let record = try await customerCase(params.customer, forUpdate: true, on: connection)
            let withdrawable: Set<CaseStatus> = [.awaitingMaterials, .accepted, .inReview, .returned]
            guard withdrawable.contains(record.status) else {
                throw RPCError.invalidState("case \(record.trackingNumber) is \(record.status.rawValue): an application can be withdrawn only before a decision", zh: "办件 \(record.trackingNumber) 当前状态为 \(record.status.rawValue)：申请只能在作出决定前撤回")
            }
            let now = Date()
            try await connection.execute("UPDATE cases SET status = 'withdrawn', finished_at = \(now) WHERE id = \(record.id)")
            try await CaseStore.appendTimeline(record.id, event: "withdrawn", actor: "customer", detail: params.reason, at: now, on: connection)
            try await AuditTrail.record("case.withdrawn", by: .customer, caseID: record.id, before: ["status": .string(record.status.rawValue)],
                                        after: ["status": "withdrawn"], context: context, on: connection)
            let serviceName = try await catalog.serviceType(record.serviceType, on: connection)?.name.text(record.locale) ?? record.serviceType
            try await notices.send(.caseWithdrawn, for: record, serviceName: serviceName, variables: [:], keySuffix: "withdrawn", on: connection)
            if record.status == .accepted || record.status == .inReview {
                // Review holds a task for it: nobody should decide a withdrawn application.
                // Same key as review.submit, so review sees the submission first.
                try await Outbox.enqueue(ReviewCancel.self, .init(caseId: record.caseID, reason: params.reason), to: "review", aggregateKey: record.caseID, on: connection)
            }
            return IntakeWithdraw.Result(trackingNumber: record.trackingNumber, status: .withdrawn)
        }
    }

    func object(_ params: IntakeObject.Params, _ context: RPCContext) async throws -> IntakeObject.Result {
        let reason = params.reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (5...2000).contains(reason.count) else { throw RPCError.invalidParams("reason: 5 to 2000 characters", zh: "reason：5 至 2000 个字符") }
        return try await database.withTransaction { connection in
            let record = try await customerCase(params.customer, forUpdate: true, on: connection)
            guard record.status == .rejected || record.status == .completed else {
                throw RPCError.invalidState("case \(record.trackingNumber) is \(record.status.rawValue): an objection is made after a decision (rejected or completed)", zh: "办件 \(record.trackingNumber) 当前状态为 \(record.status.rawValue)：异议须在作出决定（不予通过或已办结）后提出")
            }
            let open = try await connection.query("SELECT 1 FROM objections WHERE case_id = \(record.id) AND status = 'open'")
            guard open.isEmpty else { throw RPCError.conflict("an objection to case \(record.trackingNumber) is already being handled", zh: "针对办件 \(record.trackingNumber) 的异议正在处理中") }
            let id = UUID.v7()
            try await connection.execute("INSERT INTO objections (id, case_id, reason) VALUES (\(id), \(record.id), \(reason))")
            try await CaseStore.appendTimeline(record.id, event: "objection_filed", actor: "customer", detail: reason, on: connection)
            try await AuditTrail.record("case.objection_filed", by: .customer, caseID: record.id, after: ["objection": .string(id.lowercasedString)],
                                        context: context, on: connection)
            return IntakeObject.Result(objectionId: id.lowercasedString, status: "open")
        }
    }
}

func constantTimeEqual(_ lhs: String, _ rhs: String) -> Bool {
    let a = Array(lhs.utf8), b = Array(rhs.utf8)
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for index in a.indices { difference |= a[index] ^ b[index] }
    return difference == 0
}
