extension Parser {
    mutating func parsePrimary() throws(ChatTemplateError) -> Expression {
        let token = advance()
        let location = token.location
        switch token.kind {
        case .name(let name):
            switch name {
            case "true", "True": return Expression(kind: .literal(.bool(true)), location: location)
            case "false", "False": return Expression(kind: .literal(.bool(false)), location: location)
            case "none", "None": return Expression(kind: .literal(.none), location: location)
            default: return Expression(kind: .name(name), location: location)
            }
        case .string(var text):
            while case .string(let more) = current.kind {
                text += more
                if text.utf8.count > 1 << 24 { throw error("string literal too long") }
                _ = advance()
            }
            return Expression(kind: .literal(.string(text)), location: location)
        case .integer(let i): return Expression(kind: .literal(.int(i)), location: location)
        case .float(let d): return Expression(kind: .literal(.double(d)), location: location)
        case .op("("):
            if skip(op: ")") { return Expression(kind: .tuple([]), location: location) }
            let first = try parseExpression()
            if skip(op: ")") { return first }
            var items = [first]
            while skip(op: ",") {
                if current.kind == .op(")") { break }
                items.append(try parseExpression())
            }
            try expect(.op(")"), "')'")
            return Expression(kind: .tuple(items), location: location)
        case .op("["):
            var items: [Expression] = []
            while !skip(op: "]") {
                if !items.isEmpty { try expect(.op(","), "','") }
                if skip(op: "]") { break }
                items.append(try parseExpression())
            }
            return Expression(kind: .list(items), location: location)
        case .op("{"):
            var pairs: [(key: Expression, value: Expression)] = []
            while !skip(op: "}") {
                if !pairs.isEmpty { try expect(.op(","), "','") }
                if skip(op: "}") { break }
                let key = try parseExpression()
                try expect(.op(":"), "':'")
                pairs.append((key, try parseExpression()))
            }
            return Expression(kind: .dict(pairs), location: location)
        default:
            throw error("unexpected \(token.display) in expression", at: token)
        }
    }

    mutating func parsePostfix(_ base: Expression) throws(ChatTemplateError) -> Expression {
        var expression = base
        while true {
            let token = current
            if skip(op: ".") {
                if case .integer(let i) = current.kind {
                    _ = advance()
                    let key = Expression(kind: .literal(.int(i)), location: token.location)
                    expression = try bounded(Expression(kind: .index(expression, key), location: token.location))
                } else {
                    expression = try bounded(
                        Expression(kind: .attribute(expression, try expectName()), location: token.location))
                }
            } else if skip(op: "[") {
                expression = try bounded(try parseSubscript(expression, at: token))
            } else if current.kind == .op("(") {
                _ = advance()
                expression = try bounded(
                    Expression(kind: .call(expression, try parseArguments()), location: expression.location))
            } else {
                return expression
            }
        }
    }

    private mutating func parseSubscript(_ base: Expression, at token: Token) throws(ChatTemplateError) -> Expression {
        var parts: [Expression?] = [nil]
        var isSlice = false
        while !skip(op: "]") {
            if skip(op: ":") {
                isSlice = true
                parts.append(nil)
                guard parts.count <= 3 else { throw error("too many ':' in slice") }
            } else if parts[parts.count - 1] == nil {
                parts[parts.count - 1] = try parseExpression()
            } else {
                throw error("expected ']' or ':', found \(current.display)")
            }
        }
        if !isSlice {
            guard let key = parts[0] else { throw error("empty subscript '[]'", at: token) }
            return Expression(kind: .index(base, key), location: token.location)
        }
        while parts.count < 3 { parts.append(nil) }
        return Expression(kind: .slice(base, start: parts[0], stop: parts[1], step: parts[2]), location: token.location)
    }

    /// Arguments after `(`, through the closing `)`.
    mutating func parseArguments() throws(ChatTemplateError) -> Arguments {
        var arguments = Arguments()
        while !skip(op: ")") {
            if !arguments.positional.isEmpty || !arguments.keyword.isEmpty { try expect(.op(","), "','") }
            if skip(op: ")") { break }
            if current.kind == .op("*") || current.kind == .op("**") {
                throw ChatTemplateError(.unsupported, "'*args' and '**kwargs' in calls are not supported",
                    at: current.location)
            }
            if case .name(let name) = current.kind, index + 1 < tokens.count, tokens[index + 1].kind == .op("=") {
                _ = advance()
                _ = advance()
                arguments.keyword.append((name, try parseExpression()))
            } else {
                if !arguments.keyword.isEmpty { throw error("positional argument after keyword argument") }
                arguments.positional.append(try parseExpression())
            }
        }
        return arguments
    }

    mutating func parseFiltersAndTests(_ base: Expression) throws(ChatTemplateError) -> Expression {
        var expression = base
        while true {
            let token = current
            if skip(op: "|") {
                let name = try expectName()
                let arguments = skip(op: "(") ? try parseArguments() : Arguments()
                expression = try bounded(
                    Expression(kind: .filter(expression, name: name, arguments), location: token.location))
            } else if skip(name: "is") {
                let negated = skip(name: "not")
                var name = try expectName()
                if name == "none" || name == "true" || name == "false" { name = name.lowercased() }
                var arguments = Arguments()
                if skip(op: "(") {
                    arguments = try parseArguments()
                } else if startsTestArgument {
                    arguments.positional = [try parsePostfix(try parsePrimary())]
                }
                expression = try bounded(Expression(kind: .test(expression, name: name, arguments, negated: negated),
                    location: token.location))
            } else {
                return expression
            }
        }
    }

    /// jinja2 lets a test take one argument without parentheses (`x is divisibleby 3`).
    private var startsTestArgument: Bool {
        switch current.kind {
        case .string, .integer, .float, .op("["), .op("{"): return true
        case .name(let n): return !["else", "or", "and", "if", "not", "in", "is"].contains(n)
        default: return false
        }
    }
}
