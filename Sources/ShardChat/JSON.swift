/// `tojson` as transformers defines it: Python's `json.dumps(x, ensure_ascii=False, indent=indent,
/// sort_keys=sort_keys)`: `", "` and `": "` separators without indent, `","` and newlines with it; only `"`,
/// `\` and control characters are escaped; non-ASCII text is written as is.
enum JSON {
    static func write(_ value: Value, into out: inout String, indent: Int?, sortKeys: Bool, level: Int,
        at location: SourceLocation) throws(ChatTemplateError)
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
            try writeContainer(items.map { (nil, $0) }, open: "[", close: "]", into: &out, indent: indent,
                sortKeys: sortKeys, level: level, at: location)
        case .dict(let dict):
            var items = dict.items
            if sortKeys {
                items.sort {
                    $0.0.unicodeScalars.lexicographicallyPrecedes($1.0.unicodeScalars) { $0.value < $1.value }
                }
            }
            try writeContainer(items.map { ($0.0, $0.1) }, open: "{", close: "}", into: &out, indent: indent,
                sortKeys: sortKeys, level: level, at: location)
        case .namespace(let ns):
            try write(.dict(ns.attributes), into: &out, indent: indent, sortKeys: sortKeys, level: level, at: location)
        default:
            throw ChatTemplateError(.runtime, "Object of type \(value.typeName) is not JSON serializable",
                at: location)
        }
    }

    private static func writeContainer(_ entries: [(String?, Value)], open: String, close: String,
        into out: inout String, indent: Int?, sortKeys: Bool, level: Int, at location: SourceLocation)
        throws(ChatTemplateError)
    {
        guard !entries.isEmpty else {
            out += open + close
            return
        }
        out += open
        let newline = indent.map { "\n" + String(repeating: " ", count: $0 * (level + 1)) }
        for (offset, (key, value)) in entries.enumerated() {
            if offset > 0 { out += indent == nil ? ", " : "," }
            if let newline { out += newline }
            if let key {
                writeString(key, into: &out)
                out += ": "
            }
            try write(value, into: &out, indent: indent, sortKeys: sortKeys, level: level + 1, at: location)
        }
        if let indent { out += "\n" + String(repeating: " ", count: indent * level) }
        out += close
    }

    static func writeString(_ s: String, into out: inout String) {
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
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
