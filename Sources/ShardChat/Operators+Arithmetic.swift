import Foundation

extension Operators {
    static func arithmetic(_ op: String, _ left: Value, _ right: Value, limits: ChatTemplateLimits,
        at location: SourceLocation) throws(ChatTemplateError) -> Value
    {
        // Python bools are ints: `[x] * true` repeats once.
        let (left, right) = (left.boolAsInt, right.boolAsInt)
        switch (op, left, right) {
        case ("+", .string(let a), .string(let b)):
            let text = a + b
            try checkSize(text, limits, at: location)
            return .string(text)
        case ("+", .list(let a), .list(let b)):
            guard a.count + b.count <= limits.maxListLength else { throw listTooLong(limits, location) }
            return .list(a + b)
        case ("+", .tuple(let a), .tuple(let b)):
            guard a.count + b.count <= limits.maxListLength else { throw listTooLong(limits, location) }
            return .tuple(a + b)
        case ("*", .string(let s), .int(let n)), ("*", .int(let n), .string(let s)):
            guard n > 0, !s.isEmpty else { return .string("") }
            guard s.utf8.count.multipliedReportingOverflow(by: n).partialValue <= limits.maxOutputBytes,
                s.utf8.count <= limits.maxOutputBytes / max(n, 1)
            else {
                throw ChatTemplateError(.limitExceeded, "a string grew larger than \(limits.maxOutputBytes) bytes",
                    at: location)
            }
            return .string(String(repeating: s, count: n))
        case ("*", .list(let items), .int(let n)), ("*", .int(let n), .list(let items)):
            guard n > 0, !items.isEmpty else { return .list([]) }
            guard n <= limits.maxListLength / items.count else { throw listTooLong(limits, location) }
            return .list(Array([[Value]](repeating: items, count: n).joined()))
        case ("%", .string, _):
            throw ChatTemplateError(.unsupported, "'%' string formatting is not supported", at: location)
        default:
            break
        }
        if case .int(let a) = integer(left), case .int(let b) = integer(right), op != "/" {
            return try integerArithmetic(op, a, b, at: location)
        }
        guard let a = number(left), let b = number(right) else {
            throw typeError("unsupported operand type(s) for \(op): '\(left.typeName)' and '\(right.typeName)'",
                left, right, at: location)
        }
        switch op {
        case "+": return .double(a + b)
        case "-": return .double(a - b)
        case "*": return .double(a * b)
        case "/":
            guard b != 0 else { throw zeroDivision(location) }
            return .double(a / b)
        case "//":
            guard b != 0 else { throw zeroDivision(location) }
            return .double((a / b).rounded(.down))
        case "%":
            guard b != 0 else { throw zeroDivision(location) }
            let r = a.truncatingRemainder(dividingBy: b)
            return .double(r != 0 && (r < 0) != (b < 0) ? r + b : r)
        case "**": return .double(pow(a, b))
        default: throw ChatTemplateError(.unsupported, "operator '\(op)' is not supported", at: location)
        }
    }

    private static func integer(_ value: Value) -> Value? {
        switch value {
        case .int: value
        case .bool(let b): .int(b ? 1 : 0)
        default: nil
        }
    }

    private static func integerArithmetic(_ op: String, _ a: Int, _ b: Int, at location: SourceLocation)
        throws(ChatTemplateError) -> Value
    {
        let result: (partialValue: Int, overflow: Bool)
        switch op {
        case "+": result = a.addingReportingOverflow(b)
        case "-": result = a.subtractingReportingOverflow(b)
        case "*": result = a.multipliedReportingOverflow(by: b)
        case "//", "%":
            guard b != 0 else { throw zeroDivision(location) }
            guard !(a == Int.min && b == -1) else { throw overflow(location) }
            var quotient = a / b
            var remainder = a % b
            if remainder != 0 && (remainder < 0) != (b < 0) {
                quotient -= 1
                remainder += b
            }
            return .int(op == "//" ? quotient : remainder)
        case "**":
            guard b >= 0 else { return .double(pow(Double(a), Double(b))) }
            var power = 1
            for _ in 0..<min(b, 64) {
                let next = power.multipliedReportingOverflow(by: a)
                if next.overflow { throw overflow(location) }
                power = next.partialValue
            }
            if b > 64 && a.magnitude > 1 { throw overflow(location) }
            if b > 64 && a == -1 { return .int(b % 2 == 0 ? 1 : -1) }
            return .int(power)
        default: throw ChatTemplateError(.unsupported, "operator '\(op)' is not supported", at: location)
        }
        if result.overflow { throw overflow(location) }
        return .int(result.partialValue)
    }

    private static func zeroDivision(_ location: SourceLocation) -> ChatTemplateError {
        ChatTemplateError(.runtime, "division by zero", at: location)
    }

    private static func listTooLong(_ limits: ChatTemplateLimits, _ location: SourceLocation) -> ChatTemplateError {
        ChatTemplateError(.limitExceeded, "a list grew longer than \(limits.maxListLength) items", at: location)
    }

    /// Python slicing `value[start:stop:step]` of a list or string (code points).
    static func slice(_ value: Value, _ start: Int?, _ stop: Int?, _ step: Int?, at location: SourceLocation)
        throws(ChatTemplateError) -> Value
    {
        let step = step ?? 1
        guard step != 0 else { throw ChatTemplateError(.runtime, "slice step cannot be zero", at: location) }
        func indices(_ count: Int) -> [Int] {
            func clamp(_ i: Int?, _ defaultValue: Int) -> Int {
                guard var i else { return defaultValue }
                if i < 0 { i += count }
                return step > 0 ? min(max(i, 0), count) : min(max(i, -1), count - 1)
            }
            let from = clamp(start, step > 0 ? 0 : count - 1)
            let to = clamp(stop, step > 0 ? count : -1)
            var result: [Int] = []
            var i = from
            while step > 0 ? i < to : i > to {
                result.append(i)
                let next = i.addingReportingOverflow(step)
                if next.overflow { break }
                i = next.partialValue
            }
            return result
        }
        switch value {
        case .list(let items):
            return .list(indices(items.count).map { items[$0] })
        case .tuple(let items):
            return .tuple(indices(items.count).map { items[$0] })
        case .string(let s):
            let scalars = Array(s.unicodeScalars)
            var out = String.UnicodeScalarView()
            for i in indices(scalars.count) { out.append(scalars[i]) }
            return .string(String(out))
        case .undefined(let what):
            throw ChatTemplateError(.runtime, what, at: location)
        default:
            throw ChatTemplateError(.runtime, "'\(value.typeName)' object is not subscriptable", at: location)
        }
    }
}
