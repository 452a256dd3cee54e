/// jinja2's built-in filters that chat templates use, plus transformers' `tojson`.
enum Filters {
    static func apply(_ name: String, to value: Value, _ args: [Value], _ kwargs: [String: Value],
        evaluator: Evaluator, at location: SourceLocation) throws(ChatTemplateError) -> Value
    {
        func arg(_ index: Int, _ keyword: String) -> Value? { index < args.count ? args[index] : kwargs[keyword] }
        func string(_ v: Value) throws(ChatTemplateError) -> String { try PythonFormat.str(v) }
        switch name {
        case "trim":
            var chars: String? = nil
            if case .string(let c)? = arg(0, "chars") { chars = c }
            return .string(Strings.strip(try string(value), chars))
        case "length", "count":
            return .int(try length(value, at: location))
        case "upper": return .string(Strings.upper(try string(value)))
        case "lower": return .string(Strings.lower(try string(value)))
        case "title": return .string(Strings.jinjaTitle(try string(value)))
        case "capitalize": return .string(Strings.capitalize(try string(value)))
        case "string": return .string(try string(value))
        case "safe": return value
        case "escape", "e": return .string(escapeHTML(try string(value)))
        case "tojson":
            return .string(try toJSON(value, args, kwargs, limits: evaluator.limits, at: location))
        case "default", "d":
            let fallback = arg(0, "default_value") ?? .string("")
            let boolean = arg(1, "boolean")?.isTruthy ?? false
            return value.isUndefined || (boolean && !value.isTruthy) ? fallback : value
        case "first":
            return try evaluator.iterate(value, at: location).first ?? .undefined("No first item, sequence was empty.")
        case "last":
            return try evaluator.iterate(value, at: location).last ?? .undefined("No last item, sequence was empty.")
        case "join":
            var items = try evaluator.iterate(value, at: location)
            if case .string(let attribute)? = arg(1, "attribute") {
                var picked: [Value] = []
                for item in items { picked.append(try evaluator.attribute(of: item, attribute, at: location)) }
                items = picked
            }
            var parts: [String] = []
            for item in items { parts.append(try string(item)) }
            let separator = try arg(0, "d").map { v throws(ChatTemplateError) in try string(v) } ?? ""
            let text = parts.joined(separator: separator)
            try Operators.checkSize(text, evaluator.limits, at: location)
            return .string(text)
        case "replace":
            guard let old = arg(0, "old"), let new = arg(1, "new") else {
                throw ChatTemplateError(.runtime, "replace filter takes two arguments", at: location)
            }
            let count: Int = if case .int(let c)? = arg(2, "count") { c } else { -1 }
            let text = Strings.replace(try string(value), try string(old), try string(new), count: count)
            try Operators.checkSize(text, evaluator.limits, at: location)
            return .string(text)
        case "items":
            switch value {
            case .undefined: return .list([])
            case .dict(let dict): return .list(dict.items.map { .tuple([.string($0.0), $0.1]) })
            default: throw ChatTemplateError(.runtime, "can only get item pairs from a mapping", at: location)
            }
        case "list": return .list(try evaluator.iterate(value, at: location))
        case "int", "float":
            // jinja2 converts with Python's int()/float(), which Undefined refuses rather than defaulting.
            if case .undefined(let what) = value { throw ChatTemplateError(.runtime, what, at: location) }
            return name == "int"
                ? toInt(value, default: arg(0, "default") ?? .int(0))
                : toFloat(value, default: arg(0, "default") ?? .double(0))
        case "abs": return try absolute(value, at: location)
        case "reverse":
            if case .string(let s) = value { return .string(Strings.string(s.unicodeScalars.reversed())) }
            return .list(try evaluator.iterate(value, at: location).reversed())
        case "indent":
            if case .int(let width)? = arg(0, "width"), width > 1024 {
                throw ChatTemplateError(.limitExceeded, "indent width \(width) is over 1024", at: location)
            }
            let text = indent(try string(value), args, kwargs)
            try Operators.checkSize(text, evaluator.limits, at: location)
            return .string(text)
        case "wordcount": return .int(wordCount(try string(value)))
        default:
            return try applyCollectionFilter(name, to: value, args, kwargs, evaluator: evaluator, at: location)
        }
    }

    /// `tojson(indent=None, ensure_ascii=False, separators=None, sort_keys=False)`, by position or keyword.
    private static func toJSON(_ value: Value, _ args: [Value], _ kwargs: [String: Value], limits: ChatTemplateLimits,
        at location: SourceLocation) throws(ChatTemplateError) -> String
    {
        func arg(_ index: Int, _ keyword: String) -> Value? { index < args.count ? args[index] : kwargs[keyword] }
        var writer = JSONWriter()
        if case .int(let i)? = arg(0, "indent") {
            guard i <= 64 else {
                throw ChatTemplateError(.limitExceeded, "tojson indent \(i) is over 64", at: location)
            }
            writer.indent = max(0, i)
        }
        writer.ensureASCII = arg(1, "ensure_ascii")?.isTruthy ?? false
        if let separators = arg(2, "separators")?.sequence {
            guard separators.count == 2, case .string(let item) = separators[0], case .string(let key) = separators[1]
            else {
                throw ChatTemplateError(.runtime, "tojson separators must be two strings", at: location)
            }
            writer.itemSeparator = item
            writer.keySeparator = key
        }
        writer.sortKeys = arg(3, "sort_keys")?.isTruthy ?? false
        var text = ""
        try writer.write(value, into: &text, at: location)
        try Operators.checkSize(text, limits, at: location)
        return text
    }

    static func length(_ value: Value, at location: SourceLocation) throws(ChatTemplateError) -> Int {
        switch value {
        case .undefined: return 0
        case .string(let s): return s.unicodeScalars.count
        case .list(let items), .tuple(let items): return items.count
        case .dict(let dict): return dict.count
        case .namespace(let ns): return ns.attributes.count
        default: throw ChatTemplateError(.runtime, "object of type '\(value.typeName)' has no len()", at: location)
        }
    }

    private static func toInt(_ value: Value, default fallback: Value) -> Value {
        switch value {
        case .int: return value
        case .bool(let b): return .int(b ? 1 : 0)
        case .double(let d): return d.isFinite && abs(d) < 9e18 ? .int(Int(d)) : fallback
        case .string(let s):
            let trimmed = Strings.strip(s, nil).replacingOccurrences(of: "_", with: "")
            if let i = Int(trimmed) { return .int(i) }
            if let d = Double(trimmed), d.isFinite, abs(d) < 9e18 { return .int(Int(d)) }
            return fallback
        default: return fallback
        }
    }

    private static func toFloat(_ value: Value, default fallback: Value) -> Value {
        switch value {
        case .double: return value
        case .int(let i): return .double(Double(i))
        case .bool(let b): return .double(b ? 1 : 0)
        case .string(let s): return Double(Strings.strip(s, nil)).map { .double($0) } ?? fallback
        default: return fallback
        }
    }

    private static func absolute(_ value: Value, at location: SourceLocation) throws(ChatTemplateError) -> Value {
        switch value {
        case .int(let i) where i != Int.min: return .int(abs(i))
        case .double(let d): return .double(abs(d))
        case .bool(let b): return .int(b ? 1 : 0)
        default: throw ChatTemplateError(.runtime, "bad operand type for abs(): '\(value.typeName)'", at: location)
        }
    }

    /// jinja2's `wordcount`: the number of runs of word characters (regex `\w+`).
    private static func wordCount(_ s: String) -> Int {
        var count = 0
        var inWord = false
        for scalar in s.unicodeScalars {
            let isWord = scalar == "_" || scalar.properties.isAlphabetic || scalar.properties.numericType != nil
            if isWord && !inWord { count += 1 }
            inWord = isWord
        }
        return count
    }

    private static func escapeHTML(_ s: String) -> String {
        var out = ""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// jinja2's `indent(width=4, first=False, blank=False)`.
    private static func indent(_ s: String, _ args: [Value], _ kwargs: [String: Value]) -> String {
        let widthValue = args.first ?? kwargs["width"]
        let prefix: String = switch widthValue {
        case .string(let p)?: p
        case .int(let n)?: String(repeating: " ", count: max(0, n))
        default: "    "
        }
        let first = (args.count > 1 ? args[1] : kwargs["first"])?.isTruthy ?? false
        let blank = (args.count > 2 ? args[2] : kwargs["blank"])?.isTruthy ?? false
        var lines = Strings.split(s + "\n", "\n")
        lines.removeLast()
        var text: String
        if blank {
            text = lines.joined(separator: "\n" + prefix)
        } else {
            text = lines.first ?? ""
            if lines.count > 1 {
                text += "\n" + lines.dropFirst().map { $0.isEmpty ? $0 : prefix + $0 }.joined(separator: "\n")
            }
        }
        return first ? prefix + text : text
    }
}
