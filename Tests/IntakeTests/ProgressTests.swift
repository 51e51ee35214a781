import Contracts
import JSONCoding
import LineProtocol
import Postgres
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

@Suite("Intake: progress from review and routing, the customer's view, search, archive")
struct ProgressTests {
    static let reviewer = StaffRef(id: "reviewer-1", name: "王审", role: "reviewer")

    func progress(_ intake: IntakeFixture, _ params: IntakeRecordProgress.Params, messageID: String = UUID().uuidString) async throws -> IntakeRecordProgress.Result {
        try await intake.reviewClient.call(IntakeRecordProgress.self, params, meta: RPCMeta(messageId: messageID))
    }

    @Test func aCaseFollowsItsProgressToCompletionAndTheCustomerIsTold() async throws {
        try await IntakeFixture.with { intake in
            let registered = try await intake.register(IntakeFixture.residencePermit())
            let id = registered.caseId
            _ = try await progress(intake, .init(caseId: id, event: .reviewAssigned, actor: Self.reviewer))
            _ = try await progress(intake, .init(caseId: id, event: .reviewApproved, actor: Self.reviewer, opinion: "材料齐全"))
            _ = try await progress(intake, .init(caseId: id, event: .routed, department: "public_security", departmentName: "公安分局", handler: StaffRef(id: "handler-9"), dueDate: "2026-12-15"))
            _ = try await progress(intake, .init(caseId: id, event: .processingAccepted))
            let done = try await progress(intake, .init(caseId: id, event: .completed, result: "居住证已制作完成",
                                                        pickup: Pickup(time: "2026-12-01 09:00-17:00", place: "政务服务中心3号窗口", way: "本人凭身份证领取")))
            #expect(done.status == .completed)

            let view = try await intake.client.call(IntakeGetCase.self, .init(caseId: id), meta: IntakeFixture.officer)
            #expect(view.status == .completed)
            #expect(view.department == "public_security")
            #expect(view.handler == "handler-9")
            #expect(view.timeline.map(\.event) == ["registered", "accepted", "review_assigned", "review_approved", "routed", "processing_accepted", "completed"])
            // The reviewer's opinion is internal: the customer's timeline leaves it out.
            let customer = try await intake.client.call(IntakeTrackCase.self, .init(trackingNumber: registered.trackingNumber, accessCode: registered.accessCode!))
            #expect(!customer.timeline.map(\.event).contains("review_approved"))
            #expect(customer.timeline.allSatisfy { $0.actor == nil })

            let templates = try await intake.outbox(for: id).filter { $0.method == "notification.send" }
                .map { try JSONValueDecoder().decode(NotificationSend.Params.self, from: $0.params) }
            #expect(templates.map(\.template) == [.caseAccepted, .caseCompletedWithPickup, .caseSurveyInvitation])
            for message in templates {
                #expect(Set(message.variables.keys).isSuperset(of: message.template.requiredVariables), "\(message.template) lacks variables")
            }
            #expect(Set(templates.map(\.key)).count == templates.count)
        }
    }

    @Test func aRepeatedDeliveryHasNoSecondEffect() async throws {
        try await IntakeFixture.with { intake in
            let registered = try await intake.register(IntakeFixture.residencePermit())
            let rejection = IntakeRecordProgress.Params(caseId: registered.caseId, event: .reviewRejected, actor: Self.reviewer, reasons: ["居住证明不在本区"])
            let messageID = UUID().uuidString
            let first = try await progress(intake, rejection, messageID: messageID)
            let before = try await intake.snapshot()
            let second = try await progress(intake, rejection, messageID: messageID)
            #expect(first.status == .rejected && second.status == .rejected)
            #expect(try await intake.snapshot() == before)
            #expect(try await intake.count("SELECT count(*)::int8 AS n FROM case_timeline WHERE event = 'review_rejected'") == 1)
        }
    }

    @Test func reportsArrivingOutOfOrderNeverMoveACaseBack() async throws {
        try await IntakeFixture.with { intake in
            let id = try await intake.register(IntakeFixture.residencePermit()).caseId
            _ = try await progress(intake, .init(caseId: id, event: .routed, department: "public_security"))
            let late = try await progress(intake, .init(caseId: id, event: .reviewApproved, actor: Self.reviewer))
            #expect(late.status == .routed)
            #expect(try await intake.count("SELECT count(*)::int8 AS n FROM case_timeline WHERE event = 'review_approved'") == 1)
        }
    }

    @Test func aReturnedCaseIsSupplementedAndGoesBackToReviewInANewRound() async throws {
        try await IntakeFixture.with { intake in
            let registered = try await intake.register(IntakeFixture.residencePermit())
            let returned = try await progress(intake, .init(caseId: registered.caseId, event: .reviewReturned, actor: Self.reviewer, items: ["租赁合同须经备案"]))
            #expect(returned.status == .returned)
            let again = try await intake.client.call(IntakeSupplementMaterials.self, .init(
                customer: .init(trackingNumber: registered.trackingNumber, accessCode: registered.accessCode!),
                materials: [MaterialItem(code: "residence_proof", copies: 1, original: false)]
            ))
            #expect(again.status == .accepted)
            let submits = try await intake.outbox(for: registered.caseId).filter { $0.method == "review.submit" }
                .map { try JSONValueDecoder().decode(ReviewSubmit.Params.self, from: $0.params) }
            #expect(submits.map(\.round) == [1, 2])
        }
    }

    @Test func anExtensionTellsTheCustomerTheHandlersReasonNotTheHeadsNote() async throws {
        try await IntakeFixture.with { intake in
            let registered = try await intake.register(IntakeFixture.residencePermit())
            let id = registered.caseId
            _ = try await progress(intake, .init(caseId: id, event: .routed, department: "public_security", dueDate: "2026-12-15"))
            _ = try await progress(intake, .init(caseId: id, event: .extended, dueDate: "2026-12-22",
                                                 reasons: ["the landlord must confirm the residence proof"], note: "ok, but hurry"))
            let sent = try await intake.outbox(for: id).filter { $0.method == "notification.send" }
                .map { try JSONValueDecoder().decode(NotificationSend.Params.self, from: $0.params) }
            let extended = try #require(sent.first { $0.template == .caseExtended })
            #expect(extended.variables["reason"] == "the landlord must confirm the residence proof")
            #expect(extended.variables["newDueDate"] == "2026-12-22")
            let view = try await intake.client.call(IntakeTrackCase.self, .init(trackingNumber: registered.trackingNumber, accessCode: registered.accessCode!))
            let entry = try #require(view.timeline.last)
            #expect(entry.event == "extended")
            #expect(entry.detail?.contains("the landlord must confirm the residence proof") == true)
            #expect(entry.detail?.contains("hurry") == false)
        }
    }

    @Test func badProgressReportsAreRefused() async throws {
        try await IntakeFixture.with { intake in
            let id = try await intake.register(IntakeFixture.residencePermit()).caseId
            let before = try await intake.snapshot()
            #expect(await errorKind { _ = try await progress(intake, .init(caseId: id, event: .reviewRejected, reasons: [])) } == "invalid_params")
            #expect(await errorKind { _ = try await progress(intake, .init(caseId: UUID().uuidString, event: .routed)) } == "not_found")
            #expect(await errorKind { _ = try await progress(intake, .init(caseId: id, event: .extended, dueDate: "soon")) } == "invalid_params")
            #expect(try await intake.snapshot() == before)
        }
    }

    @Test func aWrongAccessCodeTellsNoMoreThanAnUnknownNumber() async throws {
        try await IntakeFixture.with { intake in
            let registered = try await intake.register(IntakeFixture.residencePermit())
            var messages: [String] = []
            for credentials in [
                CustomerCredentials(trackingNumber: registered.trackingNumber, accessCode: "ZZZZZZ"),
                CustomerCredentials(trackingNumber: "20261123-999999-0", accessCode: "ZZZZZZ"),
                CustomerCredentials(trackingNumber: "not a number", accessCode: registered.accessCode!),
            ] {
                do {
                    _ = try await intake.client.call(IntakeTrackCase.self, credentials)
                    Issue.record("\(credentials.trackingNumber) was answered")
                } catch let error as RPCError {
                    #expect(error.kind == .notFound)
                    messages.append(error.message)
                }
            }
            #expect(Set(messages).count == 1)
        }
    }

    @Test func theCustomerWithdrawsBeforeADecisionButNotAfter() async throws {
        try await IntakeFixture.with { intake in
            let first = try await intake.register(IntakeFixture.residencePermit())
            let credentials = CustomerCredentials(trackingNumber: first.trackingNumber, accessCode: first.accessCode!)
            let withdrawn = try await intake.client.call(IntakeWithdraw.self, .init(customer: credentials, reason: "已不需要"))
            #expect(withdrawn.status == .withdrawn)
            // Review holds the accepted case: it is told, after the submission, so nobody decides it.
            let toReview = try await intake.outbox(for: first.caseId).filter { $0.destination == "review" }.map(\.method)
            #expect(toReview == ["review.submit", "review.cancel"])
            #expect(await errorKind { _ = try await intake.client.call(IntakeWithdraw.self, .init(customer: credentials)) } == "invalid_state")

            let second = try await intake.register(IntakeFixture.residencePermit(idNumber: IntakeFixture.otherResidentID))
            _ = try await progress(intake, .init(caseId: second.caseId, event: .reviewRejected, reasons: ["不符合条件"]))
            let secondCredentials = CustomerCredentials(trackingNumber: second.trackingNumber, accessCode: second.accessCode!)
            #expect(await errorKind { _ = try await intake.client.call(IntakeWithdraw.self, .init(customer: secondCredentials)) } == "invalid_state")
            let objection = try await intake.client.call(IntakeObject.self, .init(customer: secondCredentials, reason: "我已在本区居住满一年"))
            #expect(objection.status == "open")
            #expect(await errorKind { _ = try await intake.client.call(IntakeObject.self, .init(customer: secondCredentials, reason: "再次申请复核")) } == "conflict")
        }
    }

    @Test func findCasesPagesThroughEveryCaseOnce() async throws {
        try await IntakeFixture.with { intake in
            var ids: Set<String> = []
            for index in 0..<7 {
                ids.insert(try await intake.register(IntakeFixture.residencePermit(key: "page-\(index)")).caseId)
            }
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await intake.client.call(IntakeFindCases.self, .init(status: .accepted, serviceType: "residence_permit", limit: 3, cursor: cursor), meta: IntakeFixture.officer)
                seen += page.cases.map(\.caseId)
                cursor = page.nextCursor
            } while cursor != nil
            #expect(seen.count == 7)
            #expect(Set(seen) == ids)
            #expect(await errorKind { _ = try await intake.client.call(IntakeFindCases.self, .init(), meta: RPCMeta()) } == "forbidden")
            #expect(await errorKind { _ = try await intake.client.call(IntakeFindCases.self, .init(cursor: "garbage"), meta: IntakeFixture.officer) } == "invalid_params")

            let open = try await intake.reviewClient.call(IntakeOpenCasesOfCustomer.self, .init(
                customerKey: try await intake.database.query("SELECT id_number_hash FROM cases LIMIT 1")[0].decode(String.self, column: "id_number_hash"),
                serviceType: "residence_permit"))
            #expect(open.cases.count == 7)
        }
    }

    @Test func findCasesByTrackingNumbersReturnsOnlyThoseWithTheirDueDates() async throws {
        try await IntakeFixture.with { intake in
            let first = try await intake.register(IntakeFixture.residencePermit(key: "numbers-1"))
            _ = try await intake.register(IntakeFixture.residencePermit(key: "numbers-2"))
            let third = try await intake.register(IntakeFixture.residencePermit(key: "numbers-3"))
            let found = try await intake.client.call(IntakeFindCases.self, .init(trackingNumbers: [first.trackingNumber, third.trackingNumber.lowercased(), "20260101-999999-X"]), meta: IntakeFixture.officer)
            #expect(Set(found.cases.map(\.trackingNumber)) == [first.trackingNumber, third.trackingNumber])
            #expect(found.cases.first { $0.trackingNumber == first.trackingNumber }?.dueDate == first.dueDate)
            #expect(first.dueDate != nil)
            #expect(await errorKind { _ = try await intake.client.call(IntakeFindCases.self, .init(trackingNumbers: []), meta: IntakeFixture.officer) } == "invalid_params")
        }
    }

    @Test func confidentialReadsAreAuditedAndTheAuditLogIsAppendOnly() async throws {
        try await IntakeFixture.with { intake in
            var params = IntakeFixture.residencePermit()
            params.confidentiality = .confidential
            let id = try await intake.register(params).caseId
            _ = try await intake.client.call(IntakeGetCase.self, .init(caseId: id), meta: IntakeFixture.officer)
            #expect(try await intake.count("SELECT count(*)::int8 AS n FROM audit_log WHERE action = 'case.read' AND actor = 'officer-li'") == 1)
            await #expect(throws: (any Error).self) {
                try await intake.database.execute("DELETE FROM audit_log")
            }
            await #expect(throws: (any Error).self) {
                try await intake.database.execute("UPDATE audit_log SET actor = 'someone-else'")
            }
        }
    }

    @Test func lapsedAndArchivedCasesFollowTheCalendarAndTheGrants() async throws {
        // A sweep every 100 ms; archiving at once after a case finishes.
        try await IntakeFixture.with(environment: ["ONESTOP_INTAKE_SWEEP_INTERVAL_MS": "100", "ONESTOP_INTAKE_ARCHIVE_AFTER_DAYS": "0"]) { intake in
            let incomplete = try await intake.register(IntakeFixture.residencePermit(materials: []))
            #expect(incomplete.status == .awaitingMaterials)
            // Move the deadline into the past, as if ten working days had gone by.
            try await intake.database.execute("UPDATE cases SET notice_deadline = DATE '2020-01-01' WHERE id = \(UUID(uuidString: incomplete.caseId)!)")
            var status = ""
            for _ in 0..<100 {
                status = try await intake.database.query("SELECT status FROM cases")[0].decode(String.self, column: "status")
                if status == "lapsed" { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(status == "lapsed")
            let lapsedNotice = try await intake.outbox(for: incomplete.caseId).compactMap { try? JSONValueDecoder().decode(NotificationSend.Params.self, from: $0.params) }
            #expect(lapsedNotice.contains { $0.template == .caseLapsed })

            var archived = false
            for _ in 0..<100 where !archived {
                archived = try await intake.count("SELECT count(*)::int8 AS n FROM cases WHERE archived_at IS NOT NULL") == 1
                if !archived { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(archived)
            #expect(await errorKind { _ = try await intake.client.call(IntakeGetCase.self, .init(caseId: incomplete.caseId), meta: IntakeFixture.officer) } == "forbidden")
            let grant = try await intake.client.call(IntakeRequestArchiveAccess.self, .init(caseId: incomplete.caseId, reason: "复查投诉所涉档案"), meta: IntakeFixture.officer)
            #expect(await errorKind { _ = try await intake.client.call(IntakeApproveArchiveAccess.self, .init(grantId: grant.grantId), meta: IntakeFixture.officer) } == "forbidden")
            let approved = try await intake.client.call(IntakeApproveArchiveAccess.self, .init(grantId: grant.grantId, hours: 2), meta: IntakeFixture.supervisor)
            #expect(approved.status == "approved")
            let view = try await intake.client.call(IntakeGetCase.self, .init(caseId: incomplete.caseId), meta: IntakeFixture.officer)
            #expect(view.archived)
            #expect(try await intake.count("SELECT count(*)::int8 AS n FROM archive_reads WHERE reader = 'officer-li'") == 1)
        }
    }

    @Test func administratorsEditTheCatalogAndBadEntriesAreRefused() async throws {
        try await IntakeFixture.with { intake in
            let catalog = try await intake.client.call(IntakeListCatalog.self, .init())
            #expect(catalog.serviceTypes.count >= 8)
            var entry = try #require(catalog.serviceTypes.first { $0.code == "residence_permit" })
            entry.timeLimitWorkingDays = 12
            #expect(await errorKind { _ = try await intake.client.call(IntakeUpsertServiceType.self, .init(serviceType: entry), meta: IntakeFixture.officer) } == "forbidden")
            let saved = try await intake.client.call(IntakeUpsertServiceType.self, .init(serviceType: entry), meta: IntakeFixture.administrator)
            #expect(saved.version == 2)
            entry.timeLimitWorkingDays = 0
            #expect(await errorKind { _ = try await intake.client.call(IntakeUpsertServiceType.self, .init(serviceType: entry), meta: IntakeFixture.administrator) } == "invalid_params")
            let after = try await intake.client.call(IntakeListCatalog.self, .init())
            #expect(after.serviceTypes.first { $0.code == "residence_permit" }?.timeLimitWorkingDays == 12)
        }
    }
}
