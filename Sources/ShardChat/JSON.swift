/// `tojson` as transformers defines it: Python's `json.dumps(x, ensure_ascii=False, indent=None, separators=None,
/// sort_keys=False)`, each overridable by the template. Default separators are `", "` and `": "` without indent,
/// `","` and `": "` with it; only `"`, `\` and control characters are escaped unless `ensure_ascii` is set.
struct JSONWriter {
    var indent: Int? = nil
    var sortKeys = false
    var ensureASCII = false
    var itemSeparator: String? = nil
    var keySeparator = ": "

    func write(_ value: Value, into out: inout String, level: Int = 0, at location: SourceLocation)
        throws(ChatTemplateError)
    {
        guard level < 512 else {
            throw ChatTemplateError(.limitExceeded, "tojson nesting deeper than 512", at: location)
        }
        switch value {
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            out += d.isNaN ? "NaN" : d.isInfinite ? (d < 0 ? "-Infinity" : "Infinity") : PythonFormat.float(d)
        case .string(let s): writeString(s, into: &out)
        case .list(let items), .tuple(let items):
            try writeContainer(items.map { (nil, $0) }, open: "[", close: "]", into: &out, level: level, at: location)
        case .dict(let dict):
            var items = dict.items
            if sortKeys {
                items.sort {
                    $0.0.unicodeScalars.lexicographicallyPrecedes($1.0.unicodeScalars) { $0.value < $1.value }
                }
            }
            try writeContainer(items.map { ($0.0, $0.1) }, open: "{", close: "}", into: &out, level: level,
                at: location)
        case .namespace(let ns):
            try write(.dict(ns.attributes), into: &out, level: level, at: location)
        default:
            throw ChatTemplateError(.runtime, "Object of type \(value.typeName) is not JSON serializable",
                at: location)
        }
    }

    private func writeContainer(_ entries: [(String?, Value)], open: String, close: String, into out: inout String,
        level: Int, at location: SourceLocation) throws(ChatTemplateError)
    {
        guard !entries.isEmpty else {
            out += open + close
            return
        }
        out += open
        let newline = indent.map { "\n" + String(repeating: " ", count: $0 * (level + 1)) }
        for (offset, (key, value)) in entries.enumerated() {
            if offset > 0 { out += itemSeparator ?? (indent == nil ? ", " : ",") }
            if let newline { out += newline }
            if let key {
                writeString(key, into: &out)
                out += keySeparator
            }
            try write(value, into: &out, level: level + 1, at: location)
        }
        if let indent { out += "\n" + String(repeating: " ", count: indent * level) }
        out += close
    }

    private func writeString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 || (ensureASCII && scalar.value > 0x7E) {
                    for unit in String(scalar).utf16 { out += JSONWriter.escaped(unit) }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    /// `\uXXXX` in lower-case hex, as Python writes it (astral characters become surrogate pairs).
    private static func escaped(_ unit: UInt16) -> String {
        let hex = String(unit, radix: 16)
        return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    }
}
