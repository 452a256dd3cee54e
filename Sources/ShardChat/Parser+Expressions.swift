/// Expressions, by jinja2's precedence (loosest first): conditional `a if c else b`, `or`, `and`, `not`,
/// comparisons and `in`, `+ -`, `~`, `* / // %`, `**`, unary `- +`, then primaries with postfix `.x`, `[i]`,
/// `[a:b]`, calls, and filters `|f` / tests `is t` (which bind tighter than every binary operator).
extension Parser {
    mutating func parseExpression(allowConditional: Bool = true) throws(ChatTemplateError) -> Expression {
        try enter()
        defer { depth -= 1 }
        var expression = try parseOr()
        while allowConditional && skip(name: "if") {
            let condition = try parseOr()
            let otherwise = skip(name: "else") ? try parseExpression() : nil
            expression = Expression(
                kind: .conditional(condition: condition, then: expression, otherwise: otherwise),
                location: expression.location)
        }
        return expression
    }

    private mutating func binary(_ op: String, _ left: Expression, _ right: Expression) throws(ChatTemplateError)
        -> Expression
    {
        try bounded(Expression(kind: .binary(op, left, right), location: left.location))
    }

    /// `expression`, or a `.limitExceeded` error when its tree is deeper than `maxDepth`.
    func bounded(_ expression: Expression) throws(ChatTemplateError) -> Expression {
        guard expression.depth <= maxDepth else {
            throw ChatTemplateError(.limitExceeded, "expression nested deeper than \(maxDepth)",
                at: expression.location)
        }
        return expression
    }

    private mutating func parseOr() throws(ChatTemplateError) -> Expression {
        var left = try parseAnd()
        while skip(name: "or") { left = try binary("or", left, try parseAnd()) }
        return left
    }

    private mutating func parseAnd() throws(ChatTemplateError) -> Expression {
        var left = try parseNot()
        while skip(name: "and") { left = try binary("and", left, try parseNot()) }
        return left
    }

    private mutating func parseNot() throws(ChatTemplateError) -> Expression {
        let token = current
        if skip(name: "not") {
            try enter()
            defer { depth -= 1 }
            return Expression(kind: .unary("not", try parseNot()), location: token.location)
        }
        return try parseCompare()
    }

    private mutating func parseCompare() throws(ChatTemplateError) -> Expression {
        var left = try parseMath1()
        while true {
            if case .op(let op) = current.kind, ["==", "!=", "<", ">", "<=", ">="].contains(op) {
                _ = advance()
                left = try binary(op, left, try parseMath1())
            } else if skip(name: "in") {
                left = try binary("in", left, try parseMath1())
            } else if isName("not"), index + 1 < tokens.count, tokens[index + 1].kind == .name("in") {
                _ = advance()
                _ = advance()
                left = try binary("not in", left, try parseMath1())
            } else {
                return left
            }
        }
    }

    private mutating func parseMath1() throws(ChatTemplateError) -> Expression {
        var left = try parseConcat()
        while case .op(let op) = current.kind, op == "+" || op == "-" {
            _ = advance()
            left = try binary(op, left, try parseConcat())
        }
        return left
    }

    private mutating func parseConcat() throws(ChatTemplateError) -> Expression {
        var left = try parseMath2()
        while skip(op: "~") { left = try binary("~", left, try parseMath2()) }
        return left
    }

    private mutating func parseMath2() throws(ChatTemplateError) -> Expression {
        var left = try parsePow()
        while case .op(let op) = current.kind, ["*", "/", "//", "%"].contains(op) {
            _ = advance()
            left = try binary(op, left, try parsePow())
        }
        return left
    }

    private mutating func parsePow() throws(ChatTemplateError) -> Expression {
        var left = try parseUnary(withFilters: true)
        while skip(op: "**") { left = try binary("**", left, try parseUnary(withFilters: true)) }
        return left
    }

    private mutating func parseUnary(withFilters: Bool) throws(ChatTemplateError) -> Expression {
        try enter()
        defer { depth -= 1 }
        let token = current
        var expression: Expression
        if case .op(let op) = token.kind, op == "-" || op == "+" {
            _ = advance()
            expression = Expression(kind: .unary(op, try parseUnary(withFilters: false)), location: token.location)
        } else {
            expression = try parsePostfix(try parsePrimary())
        }
        return withFilters ? try parseFiltersAndTests(expression) : expression
    }
}
