/// How Python's `str()` and `repr()` write values, which is what `{{ value }}` and `|string` produce.
enum PythonFormat {
    static func str(_ value: Value) throws(ChatTemplateError) -> String {
        switch value {
        case .undefined: ""
        case .string(let s): s
        default: repr(value)
        }
    }

    static func repr(_ value: Value) -> String {
        switch value {
        case .undefined: ""
        case .none: "None"
        case .bool(let b): b ? "True" : "False"
        case .int(let i): String(i)
        case .double(let d): float(d)
        case .string(let s): quoted(s)
        case .list(let items): "[" + items.map(repr).joined(separator: ", ") + "]"
        case .tuple(let items) where items.count == 1: "(" + repr(items[0]) + ",)"
        case .tuple(let items): "(" + items.map(repr).joined(separator: ", ") + ")"
        case .dict(let dict): "{" + dict.items.map { quoted($0.0) + ": " + repr($0.1) }.joined(separator: ", ") + "}"
        case .namespace(let ns):
            "<Namespace " + repr(.dict(ns.attributes)) + ">"
        case .macro(let macro): "<Macro '\(macro.name)'>"
        case .function(let f): "<built-in function \(f.rawValue)>"
        case .boundMethod(_, let name): "<built-in method \(name)>"
        case .loop: "<LoopContext>"
        }
    }

    /// Python's `repr(float)`: shortest round-tripping digits, `1.0` for integral values, `inf`/`nan`.
    static func float(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        return d.description
    }

    /// Python's `repr(str)`: single quotes unless the text has a single quote and no double quote.
    static func quoted(_ s: String) -> String {
        let quote: Unicode.Scalar = s.unicodeScalars.contains("'") && !s.unicodeScalars.contains("\"") ? "\"" : "'"
        var out = String.UnicodeScalarView([quote])
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out.append(contentsOf: "\\\\".unicodeScalars)
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            case "\r": out.append(contentsOf: "\\r".unicodeScalars)
            case "\t": out.append(contentsOf: "\\t".unicodeScalars)
            case quote: out.append("\\"); out.append(quote)
            default:
                if isPrintable(scalar) {
                    out.append(scalar)
                } else {
                    let hex = String(scalar.value, radix: 16)
                    let (prefix, width) =
                        scalar.value <= 0xFF ? ("\\x", 2) : scalar.value <= 0xFFFF ? ("\\u", 4) : ("\\U", 8)
                    let padding = String(repeating: "0", count: width - hex.count)
                    out.append(contentsOf: (prefix + padding + hex).unicodeScalars)
                }
            }
        }
        out.append(quote)
        return String(out)
    }

    /// Python's `str.isprintable()` for one character: not a control, format, separator (other than space),
    /// surrogate, private-use or unassigned code point.
    private static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == " " { return true }
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .spaceSeparator, .surrogate, .privateUse,
            .unassigned:
            return false
        default:
            return true
        }
    }
}
