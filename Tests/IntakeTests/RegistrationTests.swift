import Contracts
import JSONCoding
import LineProtocol
import Postgres
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

@Suite("Intake: registration, the one-time notice, supplements")
struct RegistrationTests {
    @Test func completeApplicationIsAcceptedAndGoesToReviewAndTheCustomer() async throws {
        try await IntakeFixture.with { intake in
            let result = try await intake.register(IntakeFixture.residencePermit())
            #expect(result.status == .accepted)
            #expect(result.owner == "officer-li")
            #expect(result.trackingNumber.range(of: #"^\d{8}-\d{6}-[0-9A-Z]$"#, options: .regularExpression) != nil)
            let code = try #require(result.accessCode)
            #expect(code.count == 6)
            #expect(result.dueDate != nil)

            let outbox = try await intake.outbox(for: result.caseId)
            #expect(outbox.map(\.method).sorted() == ["notification.send", "review.submit"])
            let notification = try #require(outbox.first { $0.method == "notification.send" })
            let params = try JSONValueDecoder().decode(NotificationSend.Params.self, from: notification.params)
            #expect(params.template == .caseAccepted)
            #expect(Set(params.variables.keys) == Set(NotificationTemplate.caseAccepted.requiredVariables))
            #expect(params.variables["accessCode"] == code)
            #expect(params.recipients.first?.phone == "+8613812345678")
            let review = try #require(outbox.first { $0.method == "review.submit" })
            let submit = try JSONValueDecoder().decode(ReviewSubmit.Params.self, from: review.params)
            #expect(submit.autoApprovalAllowed)
            #expect(submit.requiredMaterials.map(\.code).sorted() == ["id_card", "photo", "residence_proof"])
            #expect(submit.applicant.idNumber.contains("*"), "the outbox carries the masked number only")

            // The review service, and only it, can fetch the full number for its checks.
            let identity = try await intake.reviewClient.call(IntakeApplicantIdentity.self, .init(caseId: result.caseId))
            #expect(identity.applicant.idNumber == IntakeFixture.residentID)
            #expect(await errorKind { _ = try await intake.client.call(IntakeApplicantIdentity.self, .init(caseId: result.caseId)) } == "forbidden")

            // The customer follows it with the tracking number and the access code.
            let view = try await intake.client.call(IntakeTrackCase.self, .init(trackingNumber: result.trackingNumber, accessCode: code.lowercased()))
            #expect(view.status == .accepted)
            #expect(view.timeline.map(\.event) == ["registered", "accepted"])
            // What the gateway files the customer's rating under.
            #expect(view.serviceType == "residence_permit")
            #expect(view.department == "public_security")

            // The customer reads it in the language they ask for now (the gateway's Accept-Language).
            let catalog = try await intake.client.call(IntakeListCatalog.self, .init(includeInactive: false))
            let names = try #require(catalog.serviceTypes.first { $0.code == "residence_permit" }).name
            for locale in [CustomerLocale.en, .zhCN] {
                let localized = try await intake.client.call(IntakeTrackCase.self, .init(trackingNumber: result.trackingNumber, accessCode: code, locale: locale))
                #expect(localized.serviceName == names.text(locale))
            }
        }
    }

    @Test func thePlaintextOfPersonalDataNeverReachesTheDatabase() async throws {
        try await IntakeFixture.with { intake in
            let result = try await intake.register(IntakeFixture.residencePermit())
            let everything: SQL = """
                SELECT count(*)::int8 AS n FROM (
                    SELECT row_to_json(c)::text AS t FROM cases c
                    UNION ALL SELECT row_to_json(a)::text FROM audit_log a
                    UNION ALL SELECT row_to_json(l)::text FROM case_timeline l
                    UNION ALL SELECT row_to_json(o)::text FROM messaging_outbox o
                ) everything
                """
            let leaks = try await intake.count(everything + " WHERE t LIKE \("%" + IntakeFixture.residentID + "%")")
            let code = try #require(result.accessCode)
            // Phone, email and access code are sealed in the case and in the notice waiting in
            // the outbox for the notification service.
            let contactLeaks = try await intake.count(everything + """
                 WHERE t LIKE '%13812345678%' OR t LIKE '%zhang.san@example.com%' OR t LIKE \("%" + code + "%")
                """)
            #expect(contactLeaks == 0)
            #expect(leaks == 0)
            // The notice is there, and the relay's opening gives back what intake wrote.
            let notice = try #require(try await intake.outbox(for: result.caseId).first { $0.method == "notification.send" })
            let sent = try JSONValueDecoder().decode(NotificationSend.Params.self, from: notice.params)
            #expect(sent.recipients.first?.phone?.hasSuffix("13812345678") == true)
            #expect(sent.variables["accessCode"] == code)
            // The ID number is still there, sealed, and found again through its keyed hash.
            let sealed = try await intake.count("SELECT count(*)::int8 AS n FROM cases WHERE length(id_number_cipher) > 18 AND id_number_masked = '110*************2X'")
            #expect(sealed == 1)
            _ = result
        }
    }

    @Test func incompleteApplicationGetsOneNoticeListingEverythingMissing() async throws {
        try await IntakeFixture.with { intake in
            // Photo: too few copies; residence proof: missing; ID card: a copy where the original is required.
            let result = try await intake.register(IntakeFixture.residencePermit(materials: [
                MaterialItem(code: "id_card", copies: 1, original: false),
                MaterialItem(code: "photo", copies: 1, original: true),
            ]))
            #expect(result.status == .awaitingMaterials)
            let notice = try #require(result.notice)
            #expect(notice.items.map(\.code).sorted() == ["id_card", "photo", "residence_proof"])
            #expect(Set(notice.items.map(\.problem)) == [.originalRequired, .tooFewCopies, .missing])
            let outbox = try await intake.outbox(for: result.caseId)
            #expect(outbox.map(\.method) == ["notification.send"], "nothing goes to review before the case is accepted")
            let params = try JSONValueDecoder().decode(NotificationSend.Params.self, from: outbox[0].params)
            #expect(params.template == .caseMaterialsMissing)
            let list = try #require(params.variables["missingItems"])
            #expect(list.contains("1.") && list.contains("2.") && list.contains("3."))

            // A partial supplement: one updated notice with what is still missing, same deadline.
            let partial = try await intake.client.call(IntakeSupplementMaterials.self, .init(
                customer: .init(trackingNumber: result.trackingNumber, accessCode: result.accessCode!),
                materials: [MaterialItem(code: "residence_proof", copies: 1, original: false)]
            ))
            #expect(partial.status == .awaitingMaterials)
            #expect(partial.notice?.items.map(\.code).sorted() == ["id_card", "photo"])
            #expect(partial.notice?.deadline == notice.deadline)
            #expect(partial.notice?.updated == true)

            let complete = try await intake.client.call(IntakeSupplementMaterials.self, .init(
                customer: .init(trackingNumber: result.trackingNumber, accessCode: result.accessCode!),
                materials: [MaterialItem(code: "id_card", copies: 1, original: true), MaterialItem(code: "photo", copies: 1, original: true)]
            ))
            #expect(complete.status == .accepted)
            let methods = try await intake.outbox(for: result.caseId).map(\.method)
            #expect(methods == ["notification.send", "notification.send", "notification.send", "review.submit"])

            // Supplementing an accepted case is the wrong state and changes nothing.
            let before = try await intake.snapshot()
            let kind = await errorKind {
                _ = try await intake.client.call(IntakeSupplementMaterials.self, .init(
                    customer: .init(trackingNumber: result.trackingNumber, accessCode: result.accessCode!),
                    materials: [MaterialItem(code: "photo", copies: 1, original: true)]
                ))
            }
            #expect(kind == "invalid_state")
            #expect(try await intake.snapshot() == before)
        }
    }

    @Test func anItemBeyondTheFirstNoticeNeedsASupervisorsOverride() async throws {
        try await IntakeFixture.with { intake in
            let result = try await intake.register(IntakeFixture.residencePermit(materials: [MaterialItem(code: "id_card", copies: 1, original: true)]))
            #expect(result.status == .awaitingMaterials)
            let extra = NoticeItem(code: "household_register", name: "户口簿", problem: .missing)
            // An officer may not add to the notice.
            #expect(await errorKind {
                _ = try await intake.client.call(IntakeRequestAdditionalItems.self, .init(caseId: result.caseId, items: [extra], reason: "需要核对户籍信息"), meta: IntakeFixture.officer)
            } == "forbidden")
            // Without a reason, not even a supervisor.
            #expect(await errorKind {
                _ = try await intake.client.call(IntakeRequestAdditionalItems.self, .init(caseId: result.caseId, items: [extra], reason: ""), meta: IntakeFixture.supervisor)
            } == "invalid_params")
            let updated = try await intake.client.call(IntakeRequestAdditionalItems.self, .init(caseId: result.caseId, items: [extra], reason: "需要核对户籍信息"), meta: IntakeFixture.supervisor)
            #expect(updated.notice?.items.contains { $0.code == "household_register" } == true)
            #expect(try await intake.count("SELECT count(*)::int8 AS n FROM item_overrides WHERE supervisor = 'supervisor-wang'") == 1)

            // Handing in the first notice's items alone is not enough now; with the extra item it is.
            let still = try await intake.client.call(IntakeSupplementMaterials.self, .init(
                customer: .init(trackingNumber: result.trackingNumber, accessCode: result.accessCode!),
                materials: [MaterialItem(code: "photo", copies: 2, original: true), MaterialItem(code: "residence_proof", copies: 1, original: false)]
            ))
            #expect(still.status == .awaitingMaterials)
            #expect(still.notice?.items.map(\.code) == ["household_register"])
            let done = try await intake.client.call(IntakeSupplementMaterials.self, .init(
                customer: .init(trackingNumber: result.trackingNumber, accessCode: result.accessCode!),
                materials: [MaterialItem(code: "household_register", copies: 1, original: true)]
            ))
            #expect(done.status == .accepted)
        }
    }

    @Test func notAdmissibleOnlineIsNotAcceptedWithGuidance() async throws {
        try await IntakeFixture.with { intake in
            var params = IntakeFixture.residencePermit(channel: .online)
            params.serviceType = "birth_registration"
            let result = try await intake.register(params, meta: RPCMeta())
            #expect(result.status == .notAccepted)
            #expect(result.owner == "duty-officer")
            #expect(result.guidance?.isEmpty == false)
            let outbox = try await intake.outbox(for: result.caseId)
            #expect(outbox.map(\.method) == ["notification.send"])
            let notice = try JSONValueDecoder().decode(NotificationSend.Params.self, from: outbox[0].params)
            #expect(notice.template == .caseNotAccepted)
        }
    }

    @Test func onlineCasesBelongToTheDutyOfficerOfTheDay() async throws {
        try await IntakeFixture.with { intake in
            let today = ISO8601DateFormatter.string(from: Date(), timeZone: TimeZone(identifier: "Asia/Shanghai")!, formatOptions: [.withFullDate])
            _ = try await intake.client.call(IntakeSetDutyOfficer.self, .init(day: today, officer: StaffRef(id: "officer-chen", name: "陈")), meta: IntakeFixture.supervisor)
            let result = try await intake.register(IntakeFixture.residencePermit(channel: .online), meta: RPCMeta())
            #expect(result.owner == "officer-chen")
            // Counter cases need an officer.
            #expect(await errorKind { _ = try await intake.register(IntakeFixture.residencePermit(), meta: RPCMeta()) } == "unauthenticated")
        }
    }

    @Test func aRetriedRegistrationWithTheSameKeyReturnsTheFirstCase() async throws {
        try await IntakeFixture.with { intake in
            let first = try await intake.register(IntakeFixture.residencePermit(key: "counter-3/2026-11-23/0007"))
            let again = try await intake.register(IntakeFixture.residencePermit(key: "counter-3/2026-11-23/0007"))
            #expect(again.caseId == first.caseId)
            #expect(again.accessCode == first.accessCode)
            #expect(try await intake.count("SELECT count(*)::int8 AS n FROM cases") == 1)
        }
    }

    enum BadInput: String, CaseIterable, Sendable {
        case wrongIDCheckCharacter, impossibleBirthDate, unknownServiceType, noContact, badPhone, badEmail
        case descriptionTooShort, missingName, companyWithResidentID, wrongCreditCodeCheckCharacter
        case representativeWithoutPrincipal, zeroCopies, negativeAmount

        func apply(to p: inout IntakeRegisterCase.Params) {
            switch self {
            case .wrongIDCheckCharacter: p.applicant.idNumber = "110105194912310021"
            case .impossibleBirthDate: p.applicant.idNumber = "110105194913310025"
            case .unknownServiceType: p.serviceType = "moon_landing_permit"
            case .noContact: p.contact = ContactInput()
            case .badPhone: p.contact.phone = "12345"
            case .badEmail: p.contact.email = "zhang@@example"
            case .descriptionTooShort: p.description = "hi"
            case .missingName: p.applicant.name = "  "
            case .companyWithResidentID: p.applicantType = .company
            case .wrongCreditCodeCheckCharacter:
                p.applicantType = .company
                p.applicant = IdentityInput(name: "某某有限公司", idType: "unified_social_credit_code", idNumber: "91350100M000100Y44")
            case .representativeWithoutPrincipal: p.applicantType = .representative
            case .zeroCopies: p.materials[0].copies = 0
            case .negativeAmount: p.declaredAmount = -5
            }
        }
    }

    @Test(arguments: BadInput.allCases)
    func badInputIsRefusedAndWritesNothing(bad: BadInput) async throws {
        let name = bad.rawValue
        try await IntakeFixture.with { intake in
            var params = IntakeFixture.residencePermit()
            bad.apply(to: &params)
            let before = try await intake.snapshot()
            do {
                _ = try await intake.register(params)
                Issue.record("\(name) was accepted")
            } catch let error as RPCError {
                #expect(error.kind == .invalidParams, "\(name): \(error.message)")
                #expect(!error.message.isEmpty)
            }
            #expect(try await intake.snapshot() == before, "\(name) wrote something")
        }
    }

    @Test func aRepresentativeNeedsThePrincipalAndAPowerOfAttorney() async throws {
        try await IntakeFixture.with { intake in
            var params = IntakeFixture.residencePermit()
            params.applicantType = .representative
            params.applicant = IdentityInput(name: "李四", idType: "resident_id", idNumber: IntakeFixture.otherResidentID)
            params.principal = IdentityInput(name: "张三", idType: "resident_id", idNumber: IntakeFixture.residentID)
            let result = try await intake.register(params)
            #expect(result.status == .awaitingMaterials)
            #expect(result.notice?.items.map(\.code).sorted() == ["power_of_attorney", "principal_id_copy"])
            let accepted = try await intake.client.call(IntakeSupplementMaterials.self, .init(caseId: result.caseId, materials: [
                MaterialItem(code: "power_of_attorney", copies: 1, original: true), MaterialItem(code: "principal_id_copy", copies: 1, original: false),
            ]), meta: IntakeFixture.officer)
            #expect(accepted.status == .accepted)
            let identity = try await intake.reviewClient.call(IntakeApplicantIdentity.self, .init(caseId: result.caseId))
            #expect(identity.principal?.idNumber == IntakeFixture.residentID)
        }
    }
}

@Suite("Intake: statistics for the KPIs")
struct IntakeStatisticsTests {
    @Test func volumeByChannelAndFirstTimeCompleteness() async throws {
        try await IntakeFixture.with { intake in
            _ = try await intake.register(IntakeFixture.residencePermit())
            _ = try await intake.register(IntakeFixture.residencePermit(idNumber: IntakeFixture.otherResidentID, channel: .phone))
            let incomplete = try await intake.register(IntakeFixture.residencePermit(materials: [MaterialItem(code: "photo", copies: 2, original: true)], key: "third"))
            #expect(incomplete.status == .awaitingMaterials)
            _ = try await intake.client.call(IntakeSupplementMaterials.self, .init(
                customer: .init(trackingNumber: incomplete.trackingNumber, accessCode: incomplete.accessCode!),
                materials: [MaterialItem(code: "id_card", copies: 1, original: true), MaterialItem(code: "residence_proof", copies: 1, original: false)]
            ))

            let stats = try await intake.client.call(IntakeStats.self, .init(), meta: IntakeFixture.supervisor)
            #expect(stats.registered == 3)
            #expect(stats.accepted == 3)
            #expect(stats.firstTimeComplete == 2)
            #expect(stats.byChannel == [KeyedCount(key: "counter", count: 2), KeyedCount(key: "phone", count: 1)])
            #expect(stats.byServiceType == [KeyedCount(key: "residence_permit", count: 3)])
            #expect(stats.secondsToAcceptanceP50 != nil)

            let none = try await intake.client.call(IntakeStats.self, .init(before: Date(timeIntervalSince1970: 0)), meta: IntakeFixture.supervisor)
            #expect(none.registered == 0)
            let kind = await errorKind { _ = try await intake.client.call(IntakeStats.self, .init(), meta: IntakeFixture.officer) }
            #expect(kind == "forbidden")
        }
    }

    @Test func theComplaintsServiceReadsTheCaseCountsWithoutAStaffActorAndNoOtherServiceDoes() async throws {
        try await IntakeFixture.with { intake in
            _ = try await intake.register(IntakeFixture.residencePermit())
            _ = try await intake.register(IntakeFixture.residencePermit(idNumber: IntakeFixture.otherResidentID, channel: .phone))

            // Complaints computes its complaint rate per 1,000 cases from these counts.
            let counts = try await intake.complaintsClient.call(IntakeStats.self, .init())
            #expect(counts.registered == 2)
            #expect(counts.byServiceType == [KeyedCount(key: "residence_permit", count: 2)])
            let none = try await intake.complaintsClient.call(IntakeStats.self, .init(department: "no-such-department"))
            #expect(none.registered == 0)
            let bad = await errorKind { _ = try await intake.complaintsClient.call(IntakeStats.self, .init(department: "")) }
            #expect(bad == "invalid_params")

            // Another service without an actor, and complaints acting for staff without the role, are refused.
            let review = await errorKind { _ = try await intake.reviewClient.call(IntakeStats.self, .init()) }
            #expect(review == "unauthenticated")
            let officer = await errorKind { _ = try await intake.complaintsClient.call(IntakeStats.self, .init(), meta: IntakeFixture.officer) }
            #expect(officer == "forbidden")
        }
    }
}
