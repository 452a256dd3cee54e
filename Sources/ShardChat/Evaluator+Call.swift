import Foundation

extension Evaluator {
    func call(_ callee: Expression, _ arguments: Arguments, at location: SourceLocation) throws(ChatTemplateError)
        -> Value
    {
        let function = try evaluate(callee)
        let (positional, keyword) = try evaluate(arguments)
        switch function {
        case .function(let builtin):
            return try callBuiltin(builtin, positional, keyword, at: location)
        case .boundMethod(let receiver, let name):
            return try Methods.call(name, on: receiver, positional, keyword, limits: limits, at: location)
        case .macro(let macro):
            return try callMacro(macro, positional, keyword, at: location)
        case .undefined(let what):
            throw ChatTemplateError(.runtime, what, at: location)
        default:
            throw ChatTemplateError(.runtime, "'\(function.typeName)' object is not callable", at: location)
        }
    }

    private func callBuiltin(_ builtin: BuiltinFunction, _ positional: [Value], _ keyword: [String: Value],
        at location: SourceLocation) throws(ChatTemplateError) -> Value
    {
        switch builtin {
        case .raiseException:
            let message = positional.first.map { (try? PythonFormat.str($0)) ?? "" } ?? ""
            throw ChatTemplateError(.raised, message, at: location)
        case .strftimeNow:
            guard case .string(let format)? = positional.first else {
                throw ChatTemplateError(.runtime, "strftime_now() takes a format string", at: location)
            }
            return .string(try Strftime.format(now, format, at: location))
        case .namespace:
            let namespace = Namespace()
            if case .dict(let initial)? = positional.first {
                for (key, value) in initial.items {
                    try checkStorable(value, at: location)
                    namespace.attributes[key] = value
                }
            }
            for key in keyword.keys.sorted() {
                try checkStorable(keyword[key]!, at: location)
                namespace.attributes[key] = keyword[key]
            }
            return .namespace(namespace)
        case .dict:
            var dict = Dict()
            for key in keyword.keys.sorted() { dict[key] = keyword[key] }
            return .dict(dict)
        case .range:
            var bounds: [Int] = []
            for value in positional {
                guard case .int(let i) = value else {
                    throw ChatTemplateError(.runtime, "range() takes integers", at: location)
                }
                bounds.append(i)
            }
            let (start, stop, step): (Int, Int, Int)
            switch bounds.count {
            case 1: (start, stop, step) = (0, bounds[0], 1)
            case 2: (start, stop, step) = (bounds[0], bounds[1], 1)
            case 3: (start, stop, step) = (bounds[0], bounds[1], bounds[2])
            default: throw ChatTemplateError(.runtime, "range() takes 1 to 3 arguments", at: location)
            }
            guard step != 0 else { throw ChatTemplateError(.runtime, "range() step must not be zero", at: location) }
            // Computed in Double so extreme bounds cannot overflow; anything near Int's range is over the limit.
            let span = step > 0 ? Double(stop) - Double(start) : Double(start) - Double(stop)
            let estimate = span <= 0 ? 0 : ((span - 1) / abs(Double(step))).rounded(.down) + 1
            guard estimate <= Double(limits.maxListLength) else {
                throw ChatTemplateError(.limitExceeded, "range() of \(estimate) items exceeds \(limits.maxListLength)",
                    at: location)
            }
            var items: [Value] = []
            var next = start
            while step > 0 ? next < stop : next > stop {
                items.append(.int(next))
                let advanced = next.addingReportingOverflow(step)
                if advanced.overflow { break }
                next = advanced.partialValue
            }
            return .list(items)
        }
    }

    /// Calls a macro in a fresh scope over the template's globals and top-level names; its output is its value.
    private func callMacro(_ macro: Macro, _ positional: [Value], _ keyword: [String: Value],
        at location: SourceLocation) throws(ChatTemplateError) -> Value
    {
        guard positional.count <= macro.parameters.count else {
            throw ChatTemplateError(.runtime, "macro '\(macro.name)' takes \(macro.parameters.count) arguments",
                at: location)
        }
        try enter(location)
        defer { depth -= 1 }
        let savedScopes = scopes
        let savedOutput = (output, outputBytes)
        defer {
            scopes = savedScopes
            (output, outputBytes) = savedOutput
        }
        scopes = Array(savedScopes.prefix(2))
        scopes.append([:])
        for (offset, parameter) in macro.parameters.enumerated() {
            if offset < positional.count {
                assign(parameter.name, positional[offset])
            } else if let value = keyword[parameter.name] {
                assign(parameter.name, value)
            } else if let defaultValue = parameter.defaultValue {
                assign(parameter.name, try evaluate(defaultValue))
            } else {
                assign(parameter.name, .undefined("parameter '\(parameter.name)' was not provided"))
            }
        }
        for key in keyword.keys where !macro.parameters.contains(where: { $0.name == key }) {
            throw ChatTemplateError(.runtime, "macro '\(macro.name)' has no parameter '\(key)'", at: location)
        }
        output = ""
        _ = try execute(macro.body)
        return .string(output)
    }
}
