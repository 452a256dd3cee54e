/// jinja2's tests (`x is defined`, `x is string`, `x is divisibleby(3)`...).
enum TemplateTests {
    static func apply(_ name: String, to value: Value, _ args: [Value], at location: SourceLocation)
        throws(ChatTemplateError) -> Bool
    {
        func other() throws(ChatTemplateError) -> Value {
            guard let first = args.first else {
                throw ChatTemplateError(.runtime, "the '\(name)' test needs an argument", at: location)
            }
            return first
        }
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none": if case .none = value { return true } else { return false }
        case "string": if case .string = value { return true } else { return false }
        case "boolean": if case .bool = value { return true } else { return false }
        case "true": if case .bool(true) = value { return true } else { return false }
        case "false": if case .bool(false) = value { return true } else { return false }
        case "integer": if case .int = value { return true } else { return false }
        case "float": if case .double = value { return true } else { return false }
        case "number":
            switch value {
            case .int, .double, .bool: return true
            default: return false
            }
        case "mapping": if case .dict = value { return true } else { return false }
        case "iterable", "sequence":
            switch value {
            case .string, .list, .tuple, .dict, .undefined: return true
            case .namespace: return name == "iterable"
            default: return false
            }
        case "callable":
            switch value {
            case .macro, .function, .boundMethod: return true
            default: return false
            }
        case "odd", "even":
            if case .double(let d) = value {
                let remainder = d - 2 * (d / 2).rounded(.down)
                return name == "odd" ? remainder == 1 : remainder == 0
            }
            guard case .int(let i) = value.boolAsInt else {
                throw ChatTemplateError(.runtime, "the '\(name)' test needs an integer", at: location)
            }
            return (i % 2 != 0) == (name == "odd")
        case "divisibleby":
            guard case .int(let i) = value, case .int(let n) = try other(), n != 0 else {
                throw ChatTemplateError(.runtime, "divisibleby needs non-zero integers", at: location)
            }
            return i % n == 0
        case "eq", "equalto", "==": return Operators.equal(value, try other())
        case "ne", "!=": return !Operators.equal(value, try other())
        case "lt", "lessthan", "<": return try Operators.compare("<", value, try other(), at: location)
        case "gt", "greaterthan", ">": return try Operators.compare(">", value, try other(), at: location)
        case "le", "<=": return try Operators.compare("<=", value, try other(), at: location)
        case "ge", ">=": return try Operators.compare(">=", value, try other(), at: location)
        case "in": return try Operators.contains(try other(), value, at: location)
        case "sameas":
            let rhs = try other()
            switch (value, rhs) {
            case (.none, .none): return true
            case (.bool(let a), .bool(let b)): return a == b
            case (.namespace(let a), .namespace(let b)): return a === b
            default: return false
            }
        case "lower", "upper":
            let s = try PythonFormat.str(value)
            return name == "lower"
                ? Strings.lower(s) == s && Strings.upper(s) != s
                : Strings.upper(s) == s && Strings.lower(s) != s
        default:
            throw ChatTemplateError(.unsupported, "the '\(name)' test is not supported", at: location)
        }
    }
}
