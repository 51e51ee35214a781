import Contracts
import JSONCoding

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// One template's texts in one locale, with `{{variable}}` placeholders.
public struct TemplateTexts: Sendable, Hashable {
    public var sms: String
    public var subject: String
    public var text: String
    public var html: String
}

/// A message rendered for one locale: what the SMS and the email will say.
public struct RenderedMessage: Sendable, Hashable {
    public var sms: String
    public var subject: String
    public var text: String
    public var html: String
}

/// A template file that cannot be used; the service refuses to start with it.
public struct TemplateError: Error, CustomStringConvertible {
    public let description: String
}

/// Every template in every locale, loaded from `Templates/<template>.json` at start. Each file
/// holds `{ "<locale>": { "sms", "subject", "text", "html" } }`; the placeholders a file uses must
/// be exactly the template's `requiredVariables` (a typo in a file stops the service, not a send).
public struct TemplateCatalog: Sendable {
    private let texts: [NotificationTemplate: [CustomerLocale: TemplateTexts]]

    public init(texts: [NotificationTemplate: [CustomerLocale: TemplateTexts]]) throws {
        for template in NotificationTemplate.allCases {
            for locale in CustomerLocale.allCases {
                guard let entry = texts[template]?[locale] else {
                    throw TemplateError(description: "template \(template.rawValue) has no \(locale.rawValue) text")
                }
                let required = Set(template.requiredVariables)
                let used = Self.placeholders(entry.sms).union(Self.placeholders(entry.subject))
                    .union(Self.placeholders(entry.text)).union(Self.placeholders(entry.html))
                if let unknown = used.subtracting(required).sorted().first {
                    throw TemplateError(description: "template \(template.rawValue) (\(locale.rawValue)) uses {{\(unknown)}}, which is not one of its variables \(template.requiredVariables)")
                }
                if let unused = required.subtracting(used).sorted().first {
                    throw TemplateError(description: "template \(template.rawValue) (\(locale.rawValue)) never uses {{\(unused)}}")
                }
                for (part, value) in [("sms", entry.sms), ("subject", entry.subject), ("text", entry.text), ("html", entry.html)] where value.isEmpty {
                    throw TemplateError(description: "template \(template.rawValue) (\(locale.rawValue)) has an empty \(part)")
                }
            }
        }
        self.texts = texts
    }

    /// Loads every `<template>.json` in `directory`.
    public static func load(directory: URL) throws -> TemplateCatalog {
        var texts: [NotificationTemplate: [CustomerLocale: TemplateTexts]] = [:]
        for template in NotificationTemplate.allCases {
            let url = directory.appendingPathComponent("\(template.rawValue).json")
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw TemplateError(description: "template file \(url.lastPathComponent) is missing")
            }
            let json: JSON
            do {
                json = try JSON.parse(String(decoding: data, as: UTF8.self))
            } catch {
                throw TemplateError(description: "template file \(url.lastPathComponent) is not valid JSON: \(error)")
            }
            for locale in CustomerLocale.allCases {
                guard let entry = json[locale.rawValue] else { continue }
                func part(_ name: String) throws -> String {
                    guard let value = entry[name]?.stringValue else {
                        throw TemplateError(description: "template file \(url.lastPathComponent): \(locale.rawValue).\(name) is missing")
                    }
                    return value
                }
                texts[template, default: [:]][locale] = TemplateTexts(
                    sms: try part("sms"), subject: try part("subject"), text: try part("text"), html: try part("html"))
            }
        }
        return try TemplateCatalog(texts: texts)
    }

    /// The templates shipped with the service.
    public static func bundled() throws -> TemplateCatalog {
        guard let directory = Bundle.module.url(forResource: "Templates", withExtension: nil) else {
            throw TemplateError(description: "the Templates resource folder is missing from the bundle")
        }
        return try load(directory: directory)
    }

    public func texts(_ template: NotificationTemplate, _ locale: CustomerLocale) -> TemplateTexts {
        texts[template]![locale]!
    }

    /// The variables of `template` that `variables` lacks (or gives as blank), in template order.
    public static func missingVariables(_ template: NotificationTemplate, in variables: [String: String]) -> [String] {
        template.requiredVariables.filter { (variables[$0] ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
    }

    /// Renders all parts; the HTML part gets its values HTML-escaped.
    public func render(_ template: NotificationTemplate, _ locale: CustomerLocale, variables: [String: String]) -> RenderedMessage {
        let entry = texts(template, locale)
        return RenderedMessage(
            sms: Self.substitute(entry.sms, variables, escape: { $0 }),
            subject: Self.substitute(entry.subject, variables, escape: { Self.singleLine($0) }),
            text: Self.substitute(entry.text, variables, escape: { $0 }),
            html: Self.substitute(entry.html, variables, escape: Self.escapeHTML)
        )
    }

    static func placeholders(_ text: String) -> Set<String> {
        var names: Set<String> = []
        var rest = text[...]
        while let open = rest.range(of: "{{") {
            guard let close = rest[open.upperBound...].range(of: "}}") else { break }
            names.insert(String(rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return names
    }

    static func substitute(_ text: String, _ variables: [String: String], escape: (String) -> String) -> String {
        var out = ""
        var rest = text[...]
        while let open = rest.range(of: "{{") {
            guard let close = rest[open.upperBound...].range(of: "}}") else { break }
            out += rest[..<open.lowerBound]
            let name = String(rest[open.upperBound..<close.lowerBound])
            out += escape(variables[name] ?? "")
            rest = rest[close.upperBound...]
        }
        out += rest
        return out
    }

    static func singleLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    static func escapeHTML(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\n", "\r\n": out += "<br>"
            default: out.append(character)
            }
        }
        return out
    }
}
