/// Python's operators on template values, with jinja2's Undefined semantics (arithmetic on Undefined fails).
enum Operators {
    static func unary(_ op: String, _ value: Value, at location: SourceLocation) throws(ChatTemplateError) -> Value {
        switch (op, value) {
        case ("-", .int(let i)):
            guard i != Int.min else { throw overflow(location) }
            return .int(-i)
        case ("-", .double(let d)): return .double(-d)
        case ("-", .bool(let b)): return .int(b ? -1 : 0)
        case ("+", .int), ("+", .double): return value
        case ("+", .bool(let b)): return .int(b ? 1 : 0)
        default: throw typeError("bad operand type for unary \(op): '\(value.typeName)'", value, at: location)
        }
    }

    static func binary(_ op: String, _ left: Value, _ right: Value, limits: ChatTemplateLimits,
        at location: SourceLocation) throws(ChatTemplateError) -> Value
    {
        switch op {
        case "==": return .bool(equal(left, right))
        case "!=": return .bool(!equal(left, right))
        case "<", ">", "<=", ">=": return .bool(try compare(op, left, right, at: location))
        case "in": return .bool(try contains(right, left, at: location))
        case "not in": return .bool(!(try contains(right, left, at: location)))
        case "~":
            let text = try PythonFormat.str(left) + PythonFormat.str(right)
            try checkSize(text, limits, at: location)
            return .string(text)
        default: return try arithmetic(op, left, right, limits: limits, at: location)
        }
    }

    /// Python `==`: numbers compare by value across int/float/bool, strings by code points, containers deeply.
    static func equal(_ left: Value, _ right: Value) -> Bool {
        switch (left, right) {
        case (.undefined, .undefined): return true
        case (.none, .none): return true
        case (.string(let a), .string(let b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case (.list(let a), .list(let b)), (.tuple(let a), .tuple(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { equal($0, $1) }
        case (.dict(let a), .dict(let b)):
            return a.count == b.count && a.items.allSatisfy { key, value in b[key].map { equal(value, $0) } ?? false }
        case (.namespace(let a), .namespace(let b)): return a === b
        case (.macro(let a), .macro(let b)): return a === b
        default:
            if let a = number(left), let b = number(right) { return a == b }
            return false
        }
    }

    /// A numeric value as a Double (bools are ints in Python), or nil.
    static func number(_ value: Value) -> Double? {
        switch value {
        case .int(let i): Double(i)
        case .double(let d): d
        case .bool(let b): b ? 1 : 0
        default: nil
        }
    }

    static func compare(_ op: String, _ left: Value, _ right: Value, at location: SourceLocation)
        throws(ChatTemplateError) -> Bool
    {
        let order: Int
        switch (left, right) {
        case (.string(let a), .string(let b)):
            order = lexicographic(a.unicodeScalars.map(\.value), b.unicodeScalars.map(\.value))
        case (.int(let a), .int(let b)):
            order = a < b ? -1 : a == b ? 0 : 1
        default:
            guard let a = number(left), let b = number(right) else {
                throw typeError("'\(op)' not supported between instances of '\(left.typeName)' and "
                    + "'\(right.typeName)'", left, right, at: location)
            }
            order = a < b ? -1 : a == b ? 0 : 1
        }
        switch op {
        case "<": return order < 0
        case ">": return order > 0
        case "<=": return order <= 0
        default: return order >= 0
        }
    }

    private static func lexicographic(_ a: [UInt32], _ b: [UInt32]) -> Int {
        for (x, y) in zip(a, b) where x != y { return x < y ? -1 : 1 }
        return a.count < b.count ? -1 : a.count == b.count ? 0 : 1
    }

    /// Python `needle in container`.
    static func contains(_ container: Value, _ needle: Value, at location: SourceLocation) throws(ChatTemplateError)
        -> Bool
    {
        switch container {
        case .undefined: return false
        case .string(let haystack):
            guard case .string(let part) = needle else {
                throw typeError("'in <string>' requires string as left operand, not \(needle.typeName)", needle,
                    at: location)
            }
            return Strings.find(part, in: haystack) != nil
        case .list(let items), .tuple(let items): return items.contains { equal($0, needle) }
        case .dict(let dict):
            switch needle {
            case .string(let key): return dict[key] != nil
            case .list, .dict, .namespace:
                throw ChatTemplateError(.runtime, "unhashable type: '\(needle.typeName)'", at: location)
            default: return false
            }
        case .namespace(let namespace):
            guard case .string(let key) = needle else { return false }
            return namespace.attributes[key] != nil
        default:
            throw typeError("argument of type '\(container.typeName)' is not iterable", container, at: location)
        }
    }

    static func checkSize(_ text: String, _ limits: ChatTemplateLimits, at location: SourceLocation)
        throws(ChatTemplateError)
    {
        if text.utf8.count > limits.maxOutputBytes {
            throw ChatTemplateError(.limitExceeded, "a string grew larger than \(limits.maxOutputBytes) bytes",
                at: location)
        }
    }

    static func overflow(_ location: SourceLocation) -> ChatTemplateError {
        ChatTemplateError(.unsupported, "integer overflow (Python integers are unbounded; ours are 64-bit)",
            at: location)
    }

    /// A TypeError as jinja2 raises it, or an UndefinedError when an operand is Undefined.
    static func typeError(_ message: String, _ operands: Value..., at location: SourceLocation) -> ChatTemplateError {
        for case .undefined(let what) in operands {
            return ChatTemplateError(.runtime, what, at: location)
        }
        return ChatTemplateError(.runtime, message, at: location)
    }
}
