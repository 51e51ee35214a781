import Contracts

/// Checks what was handed in against the catalog's list for the applicant type: every missing
/// material, every one with too few copies, and every copy where an original is required, all at
/// once, so the customer is told everything in one notice.
enum CompletenessCheck {
    static func problems(
        handedIn: [MaterialItem],
        required: [CatalogMaterial],
        locale: CustomerLocale
    ) -> [NoticeItem] {
        var byCode: [String: (copies: Int, original: Bool)] = [:]
        for item in handedIn {
            let existing = byCode[item.code] ?? (0, false)
            byCode[item.code] = (existing.copies + item.copies, existing.original || item.original)
        }
        var items: [NoticeItem] = []
        for material in required {
            let name = material.name.text(locale)
            guard let given = byCode[material.code] else {
                items.append(NoticeItem(code: material.code, name: name, problem: .missing, requiredCopies: material.copies))
                continue
            }
            if material.original && !given.original {
                items.append(NoticeItem(code: material.code, name: name, problem: .originalRequired, requiredCopies: material.copies))
            } else if given.copies < material.copies {
                items.append(NoticeItem(code: material.code, name: name, problem: .tooFewCopies, requiredCopies: material.copies))
            }
        }
        return items
    }

    /// One line per item, as the notice text lists them.
    static func describe(_ items: [NoticeItem], locale: CustomerLocale) -> String {
        items.enumerated().map { index, item in
            let problem: String
            switch (item.problem, locale) {
            case (.missing, .zhCN): problem = "未提交" + (item.requiredCopies.map { "（需\($0)份）" } ?? "")
            case (.missing, .en): problem = "missing" + (item.requiredCopies.map { " (\($0) needed)" } ?? "")
            case (.tooFewCopies, .zhCN): problem = "份数不足" + (item.requiredCopies.map { "（需\($0)份）" } ?? "")
            case (.tooFewCopies, .en): problem = "too few copies" + (item.requiredCopies.map { " (\($0) needed)" } ?? "")
            case (.originalRequired, .zhCN): problem = "须提交原件"
            case (.originalRequired, .en): problem = "the original is required"
            case (.other, .zhCN): problem = item.note ?? "需补正"
            case (.other, .en): problem = item.note ?? "to be corrected"
            }
            let note = item.problem != .other ? item.note.map { locale == .en ? " — \($0)" : "：\($0)" } ?? "" : ""
            return "\(index + 1). \(item.name): \(problem)\(note)"
        }.joined(separator: "\n")
    }
}
