import Contracts
import JSONCoding

/// What a service definition asks and how the answers become an online application: the
/// attributes intake needs to register a case, and the texts a civic app shows back.
enum Open311Attributes {
    enum Code {
        static let applicantType = "applicant_type"
        static let applicantName = "applicant_name"
        static let idType = "id_type"
        static let idNumber = "id_number"
        static let phone = "phone"
        static let email = "email"
        static let materials = "materials"
        static let principalName = "principal_name"
        static let principalIDType = "principal_id_type"
        static let principalIDNumber = "principal_id_number"
        static let language = "language"
        static let timeLimit = "time_limit"
    }

    static let idTypes: [(key: String, name: LocalizedText)] = [
        ("resident_id", LocalizedText(zhCN: "居民身份证", en: "Resident identity card")),
        ("passport", LocalizedText(zhCN: "护照", en: "Passport")),
        ("unified_social_credit_code", LocalizedText(zhCN: "统一社会信用代码", en: "Unified social credit code (companies)")),
    ]

    static func applicantTypeName(_ type: ApplicantType) -> LocalizedText {
        switch type {
        case .individual: LocalizedText(zhCN: "个人", en: "Individual")
        case .company: LocalizedText(zhCN: "企业", en: "Company")
        case .representative: LocalizedText(zhCN: "代理人（代他人办理）", en: "Representative acting for someone")
        }
    }

    // MARK: The service definition

    static func definition(_ type: CatalogServiceType, _ locale: CustomerLocale) -> JSON {
        func text(_ zh: String, _ en: String) -> JSON { .string(locale == .en ? en : zh) }
        var attributes: [JSON] = []
        func add(_ code: String, _ datatype: String, required: Bool, variable: Bool = true, _ description: JSON, values: [(String, String)]? = nil, note: JSON? = nil) {
            var attribute: JSONObject = [
                "variable": .bool(variable), "code": .string(code), "datatype": .string(datatype), "required": .bool(required),
                "datatype_description": note ?? .null, "order": .integer(Int64(attributes.count + 1)), "description": description,
            ]
            if let values { attribute["values"] = .array(values.map { ["key": .string($0.0), "name": .string($0.1)] }) }
            attributes.append(.object(attribute))
        }
        add(Code.applicantType, "singlevaluelist", required: true, text("申请人类型", "Who applies"),
            values: type.applicantTypes.map { ($0.rawValue, applicantTypeName($0).text(locale)) })
        add(Code.applicantName, "string", required: true, text("申请人姓名或企业名称", "Name of the applicant (person or company)"),
            note: text("未填写时使用 first_name 与 last_name", "first_name and last_name are used when this is empty"))
        add(Code.idType, "singlevaluelist", required: true, text("证件类型", "Identity document"), values: idTypes.map { ($0.key, $0.name.text(locale)) })
        add(Code.idNumber, "string", required: true, text("证件号码", "Identity document number"))
        add(Code.phone, "string", required: false, text("手机号码（手机与邮箱至少填一项）", "Mobile phone (a phone or an email is needed)"),
            note: text("未填写时使用 phone 字段", "the phone field is used when this is empty"))
        add(Code.email, "string", required: false, text("电子邮箱（手机与邮箱至少填一项）", "Email (a phone or an email is needed)"),
            note: text("未填写时使用 email 字段", "the email field is used when this is empty"))
        add(Code.materials, "multivaluelist", required: false, text("已提交的材料（缺少的材料将一次性告知）", "Materials handed in (anything missing is listed in one notice)"),
            values: type.materials.map { material in
                let kind = material.original ? (locale == .en ? "original" : "原件") : (locale == .en ? "copy" : "复印件")
                return (material.code, "\(material.name.text(locale)) (\(kind) × \(material.copies))")
            })
        if type.applicantTypes.contains(.representative) {
            add(Code.principalName, "string", required: false, text("被代理人姓名或名称（代理人必填）", "Name of the person or company represented (representatives only)"))
            add(Code.principalIDType, "singlevaluelist", required: false, text("被代理人证件类型（代理人必填）", "Their identity document (representatives only)"),
                values: idTypes.map { ($0.key, $0.name.text(locale)) })
            add(Code.principalIDNumber, "string", required: false, text("被代理人证件号码（代理人必填）", "Their identity document number (representatives only)"))
        }
        add(Code.language, "singlevaluelist", required: false, text("通知语言", "Language of the notices"),
            values: [("zh-CN", "中文"), ("en", "English")])
        add(Code.timeLimit, "text", required: false, variable: false,
            text("承诺时限 \(type.timeLimitWorkingDays) 个工作日", "Promised within \(type.timeLimitWorkingDays) working days"))
        return ["service_code": .string(type.code), "attributes": .array(attributes)]
    }

    // MARK: From a POST to intake.registerCase

    static let descriptionLength = 5...4000

    /// Checks everything before anything is registered; every problem is reported at once.
    static func registration(_ fields: FormFields, _ type: CatalogServiceType, locale: CustomerLocale, idempotencyKey: String) throws -> IntakeRegisterCase.Params {
        var problems: [LocalizedText] = []
        let known: Set<String> = [Code.applicantType, Code.applicantName, Code.idType, Code.idNumber, Code.phone, Code.email, Code.materials,
                                  Code.principalName, Code.principalIDType, Code.principalIDNumber, Code.language]
        for code in fields.attributeCodes.sorted() where !known.contains(code) {
            problems.append(LocalizedText("attribute[\(code.prefix(40))]: not an attribute of \(type.code); services/\(type.code) lists them",
                                          zh: "attribute[\(code.prefix(40))]：不是 \(type.code) 的属性；services/\(type.code) 列出了其属性"))
        }
        func single(_ code: String) -> String? {
            let values = fields.attribute(code)
            if values.count > 1 { problems.append(LocalizedText("attribute[\(code)]: one value", zh: "attribute[\(code)]：只能有一个值")) }
            return values.first
        }
        let typeText = single(Code.applicantType) ?? (type.applicantTypes.count == 1 ? type.applicantTypes[0].rawValue : nil)
        let applicantType = typeText.flatMap(ApplicantType.init(rawValue:))
        if applicantType == nil || !type.applicantTypes.contains(applicantType!) {
            let types = type.applicantTypes.map(\.rawValue).joined(separator: ", ")
            problems.append(LocalizedText("attribute[\(Code.applicantType)]: one of \(types)", zh: "attribute[\(Code.applicantType)]：须为 \(types) 之一"))
        }
        let name = single(Code.applicantName) ?? [fields["first_name"], fields["last_name"]].compactMap { $0 }.joined(separator: " ")
        if name.isEmpty || name.count > 100 {
            problems.append(LocalizedText("attribute[\(Code.applicantName)] (or first_name and last_name): 1 to 100 characters",
                                          zh: "attribute[\(Code.applicantName)]（或 first_name 与 last_name）：1 至 100 个字符"))
        }
        let validIDTypes = idTypes.map(\.key)
        let idType = single(Code.idType) ?? ""
        if !validIDTypes.contains(idType) {
            let types = validIDTypes.joined(separator: ", ")
            problems.append(LocalizedText("attribute[\(Code.idType)]: one of \(types)", zh: "attribute[\(Code.idType)]：须为 \(types) 之一"))
        }
        let idNumber = single(Code.idNumber) ?? ""
        if idNumber.isEmpty || idNumber.count > 64 {
            problems.append(LocalizedText("attribute[\(Code.idNumber)]: the identity document number", zh: "attribute[\(Code.idNumber)]：证件号码"))
        }
        let phone = single(Code.phone) ?? fields["phone"]
        let email = single(Code.email) ?? fields["email"]
        if phone == nil && email == nil {
            problems.append(LocalizedText("attribute[\(Code.phone)] or attribute[\(Code.email)] (or phone or email): how to tell the applicant of progress",
                                          zh: "attribute[\(Code.phone)] 或 attribute[\(Code.email)]（或 phone、email）：至少填一项，用于告知申请人办理进度"))
        }
        var materials: [MaterialItem] = []
        for code in fields.attribute(Code.materials) where !materials.contains(where: { $0.code == code }) {
            if let material = type.materials.first(where: { $0.code == code }) {
                materials.append(MaterialItem(code: material.code, copies: material.copies, original: material.original))
            } else {
                problems.append(LocalizedText("attribute[\(Code.materials)]: \(code.prefix(64)) is not a material of \(type.code)",
                                              zh: "attribute[\(Code.materials)]：\(code.prefix(64)) 不是 \(type.code) 的材料"))
            }
        }
        var principal: IdentityInput?
        if applicantType == .representative {
            let principalName = single(Code.principalName) ?? ""
            let principalType = single(Code.principalIDType) ?? ""
            let principalNumber = single(Code.principalIDNumber) ?? ""
            if principalName.isEmpty || !validIDTypes.contains(principalType) || principalNumber.isEmpty {
                problems.append(LocalizedText(
                    "attribute[\(Code.principalName)], attribute[\(Code.principalIDType)] and attribute[\(Code.principalIDNumber)]: a representative names whom they act for",
                    zh: "attribute[\(Code.principalName)]、attribute[\(Code.principalIDType)] 和 attribute[\(Code.principalIDNumber)]：代理人须写明被代理人"
                ))
            }
            principal = IdentityInput(name: principalName, idType: principalType, idNumber: principalNumber)
        }
        var noticeLocale = locale
        if let language = single(Code.language) {
            if let chosen = CustomerLocale(rawValue: language) { noticeLocale = chosen } else {
                problems.append(LocalizedText("attribute[\(Code.language)]: zh-CN or en", zh: "attribute[\(Code.language)]：zh-CN 或 en"))
            }
        }
        let description = fields["description"] ?? (locale == .en ? "Online application (Open311): \(type.name.en)" : "网上申请（Open311）：\(type.name.zhCN)")
        if !descriptionLength.contains(description.count) {
            let (lower, upper) = (descriptionLength.lowerBound, descriptionLength.upperBound)
            problems.append(LocalizedText("description: \(lower) to \(upper) characters", zh: "description：\(lower) 至 \(upper) 个字符"))
        }
        guard problems.isEmpty, let applicantType else {
            throw Problem.invalid("the request cannot be submitted", zh: "请求无法提交", problems: problems)
        }
        return IntakeRegisterCase.Params(
            channel: .online, serviceType: type.code, applicantType: applicantType,
            applicant: IdentityInput(name: name, idType: idType, idNumber: idNumber), principal: principal,
            contact: ContactInput(phone: phone, email: email, locale: noticeLocale), description: description,
            materials: materials, idempotencyKey: idempotencyKey
        )
    }

    // MARK: Texts

    /// What the applicant is told right after the POST: the outcome, what is missing and by
    /// when, and how to follow the case (tracking number and access code).
    static func notice(_ result: IntakeRegisterCase.Result, _ locale: CustomerLocale) -> String {
        let en = locale == .en
        var parts: [String] = []
        switch result.status {
        case .awaitingMaterials:
            let items = result.notice?.items.map(\.name).joined(separator: en ? ", " : "、") ?? ""
            let deadline = result.notice?.deadline ?? "-"
            parts.append(en ? "Materials are missing: \(items). Hand them in by \(deadline)." : "材料不全：\(items)。请于 \(deadline) 前补齐。")
        case .notAccepted:
            parts.append(en ? "Not accepted: \(result.notAcceptedReason ?? "-")." : "不予受理：\(result.notAcceptedReason ?? "-")。")
            if let guidance = result.guidance { parts.append(guidance) }
        default:
            parts.append(statusText(result.status, locale) + (en ? "." : "。"))
            if let due = result.dueDate { parts.append(en ? "Promised by \(due)." : "承诺办结日期：\(due)。") }
        }
        if let code = result.accessCode {
            parts.append(en ? "Follow the case with tracking number \(result.trackingNumber) and access code \(code)."
                            : "凭受理编号 \(result.trackingNumber) 和查询码 \(code) 查询办理进度。")
        }
        return parts.joined(separator: " ")
    }

    /// OneStop's status in words (`status_notes`); `status` itself is only open or closed.
    static func statusText(_ status: CaseStatus, _ locale: CustomerLocale) -> String {
        let text: LocalizedText
        switch status {
        case .awaitingMaterials: text = LocalizedText(zhCN: "待补正材料", en: "Awaiting materials")
        case .accepted: text = LocalizedText(zhCN: "已受理", en: "Accepted")
        case .notAccepted: text = LocalizedText(zhCN: "不予受理", en: "Not accepted")
        case .lapsed: text = LocalizedText(zhCN: "逾期未补正，已失效", en: "Lapsed (materials not supplied in time)")
        case .withdrawn: text = LocalizedText(zhCN: "已撤回", en: "Withdrawn")
        case .inReview: text = LocalizedText(zhCN: "审核中", en: "In review")
        case .returned: text = LocalizedText(zhCN: "退回补正", en: "Returned for correction")
        case .rejected: text = LocalizedText(zhCN: "审核未通过", en: "Rejected")
        case .approved: text = LocalizedText(zhCN: "审核通过", en: "Approved")
        case .routed: text = LocalizedText(zhCN: "已分送承办部门", en: "With the responsible department")
        case .inProgress: text = LocalizedText(zhCN: "办理中", en: "In progress")
        case .infoRequested: text = LocalizedText(zhCN: "待补充信息", en: "More information requested")
        case .completed: text = LocalizedText(zhCN: "已办结", en: "Completed")
        case .closed: text = LocalizedText(zhCN: "已结案", en: "Closed")
        }
        return text.text(locale)
    }
}
