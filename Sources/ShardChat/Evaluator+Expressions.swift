extension Evaluator {
    func evaluate(_ expression: Expression) throws(ChatTemplateError) -> Value {
        try enter(expression.location)
        defer { depth -= 1 }
        try step(expression.location)
        let location = expression.location
        switch expression.kind {
        case .literal(let value):
            return value
        case .name(let name):
            return lookup(name)
        case .list(let items):
            var values: [Value] = []
            for item in items { values.append(try evaluate(item)) }
            return .list(values)
        case .tuple(let items):
            var values: [Value] = []
            for item in items { values.append(try evaluate(item)) }
            return .tuple(values)
        case .dict(let pairs):
            var dict = Dict()
            for pair in pairs {
                guard case .string(let key) = try evaluate(pair.key) else {
                    throw ChatTemplateError(.unsupported, "dict keys other than strings are not supported",
                        at: pair.key.location)
                }
                dict[key] = try evaluate(pair.value)
            }
            return .dict(dict)
        case .attribute(let base, let name):
            return try attribute(of: try evaluate(base), name, at: location)
        case .index(let base, let key):
            return try item(of: try evaluate(base), try evaluate(key), at: location)
        case .slice(let base, let start, let stop, let step):
            let value = try evaluate(base)
            let bounds = [start, stop, step]
            var numbers: [Int?] = []
            for bound in bounds {
                guard let bound else {
                    numbers.append(nil)
                    continue
                }
                switch try evaluate(bound) {
                case .int(let i): numbers.append(i)
                case .none: numbers.append(nil)
                case let other:
                    throw ChatTemplateError(.runtime,
                        "slice indices must be integers or None, not '\(other.typeName)'", at: bound.location)
                }
            }
            return try Operators.slice(value, numbers[0], numbers[1], numbers[2], at: location)
        case .call(let callee, let arguments):
            return try call(callee, arguments, at: location)
        case .filter(let base, let name, let arguments):
            let (positional, keyword) = try evaluate(arguments)
            return try Filters.apply(name, to: try evaluate(base), positional, keyword, evaluator: self, at: location)
        case .test(let base, let name, let arguments, let negated):
            let (positional, _) = try evaluate(arguments)
            let result = try TemplateTests.apply(name, to: try evaluate(base), positional, at: location)
            return .bool(result != negated)
        case .unary(let op, let operand):
            let value = try evaluate(operand)
            if op == "not" { return .bool(!value.isTruthy) }
            return try Operators.unary(op, value, at: location)
        case .binary("and", let left, let right):
            let l = try evaluate(left)
            return l.isTruthy ? try evaluate(right) : l
        case .binary("or", let left, let right):
            let l = try evaluate(left)
            return l.isTruthy ? l : try evaluate(right)
        case .binary(let op, let left, let right):
            return try Operators.binary(op, try evaluate(left), try evaluate(right), limits: limits, at: location)
        case .conditional(let condition, let then, let otherwise):
            if try evaluate(condition).isTruthy { return try evaluate(then) }
            guard let otherwise else {
                return .undefined("the inline if-expression evaluated to false and no else section was defined")
            }
            return try evaluate(otherwise)
        }
    }

    func evaluate(_ arguments: Arguments) throws(ChatTemplateError) -> ([Value], [String: Value]) {
        var positional: [Value] = []
        for argument in arguments.positional { positional.append(try evaluate(argument)) }
        var keyword: [String: Value] = [:]
        for argument in arguments.keyword { keyword[argument.name] = try evaluate(argument.value) }
        return (positional, keyword)
    }

    /// `value.name`: jinja2 tries the attribute first, then the item, so `message.role` reads the dict key.
    func attribute(of value: Value, _ name: String, at location: SourceLocation) throws(ChatTemplateError) -> Value {
        switch value {
        case .undefined(let what):
            throw ChatTemplateError(.runtime, what, at: location)
        case .dict(let dict):
            if Methods.isMethod(name, of: value) { return .boundMethod(value, name) }
            if let found = dict[name] { return found }
            return .undefined("'dict object' has no attribute '\(name)'")
        case .namespace(let namespace):
            return namespace.attributes[name] ?? .undefined("'Namespace' object has no attribute '\(name)'")
        case .loop(let state):
            return try loopAttribute(state, name, at: location)
        default:
            if Methods.isMethod(name, of: value) { return .boundMethod(value, name) }
            return .undefined("'\(value.typeName) object' has no attribute '\(name)'")
        }
    }

    /// `value[key]`: jinja2 tries the item first, then (for string keys) the attribute.
    func item(of value: Value, _ key: Value, at location: SourceLocation) throws(ChatTemplateError) -> Value {
        switch (value, key) {
        case (.undefined(let what), _):
            throw ChatTemplateError(.runtime, what, at: location)
        case (.list(let items), .int(let index)), (.tuple(let items), .int(let index)):
            let resolved = index < 0 ? index + items.count : index
            return items.indices.contains(resolved)
                ? items[resolved] : .undefined("list object has no element \(index)")
        case (.string(let s), .int(let index)):
            let scalars = Array(s.unicodeScalars)
            let resolved = index < 0 ? index + scalars.count : index
            return scalars.indices.contains(resolved)
                ? .string(String(scalars[resolved])) : .undefined("str object has no element \(index)")
        case (.dict(let dict), .string(let name)):
            return dict[name] ?? .undefined("'dict object' has no attribute '\(name)'")
        case (_, .string(let name)):
            return try attribute(of: value, name, at: location)
        default:
            return .undefined("'\(value.typeName)' object has no element \(PythonFormat.repr(key))")
        }
    }
}
