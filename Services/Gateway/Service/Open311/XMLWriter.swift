import JSONCoding

/// Writes a JSON value as XML the way GeoReport v2 lays it out: an object becomes child elements
/// named by its keys, an array becomes repeated elements named by `itemNames` (e.g. `endpoints`
/// holds `endpoint`s), null an empty element, booleans `true`/`false`.
struct XMLWriter {
    /// Element names of array items, keyed by the name of the array (`services` → `service`).
    var itemNames: [String: String]

    func document(_ value: JSON, root: String) -> String {
        var out = #"<?xml version="1.0" encoding="utf-8"?>"#
        write(value, name: root, into: &out)
        return out
    }

    private func write(_ value: JSON, name: String, into out: inout String) {
        switch value {
        case .null:
            out += "<\(name)/>"
        case .bool(let flag):
            out += "<\(name)>\(flag)</\(name)>"
        case .integer(let number):
            out += "<\(name)>\(number)</\(name)>"
        case .double(let number):
            out += "<\(name)>\(number)</\(name)>"
        case .string(let text):
            out += "<\(name)>\(Self.escape(text))</\(name)>"
        case .array(let items):
            let item = itemNames[name] ?? "item"
            out += "<\(name)>"
            for element in items { write(element, name: item, into: &out) }
            out += "</\(name)>"
        case .object(let members):
            out += "<\(name)>"
            for (key, member) in members { write(member, name: Self.elementName(key), into: &out) }
            out += "</\(name)>"
        }
    }

    /// Escapes the five XML specials and drops characters XML 1.0 cannot carry (control
    /// characters other than tab, newline and carriage return).
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if scalar.value >= 0x20 && scalar.value != 0xFFFE && scalar.value != 0xFFFF { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }

    /// Keys are the spec's field names; anything else is reduced to a safe element name.
    static func elementName(_ key: String) -> String {
        let cleaned = String(key.unicodeScalars.map { scalar -> Character in
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "_" || scalar == "-"
                ? Character(scalar) : "_"
        })
        guard let first = cleaned.unicodeScalars.first, !("0"..."9").contains(first), first != "-" else { return "_" + cleaned }
        return cleaned
    }
}
