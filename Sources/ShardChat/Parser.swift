/// Builds the statement tree from tokens. Nesting (of blocks and of expressions) is bounded by `maxDepth` so a
/// hostile template cannot exhaust the stack.
struct Parser {
    var tokens: [Token]
    var index = 0
    var depth = 0
    let maxDepth: Int

    static func parse(_ source: String, maxDepth: Int) throws(ChatTemplateError) -> [Node] {
        var parser = Parser(tokens: try Lexer.tokenize(source), maxDepth: maxDepth)
        let (nodes, _) = try parser.parseBody(until: [])
        return nodes
    }

    var current: Token { tokens[index] }

    mutating func advance() -> Token {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    func error(_ message: String, at token: Token? = nil) -> ChatTemplateError {
        ChatTemplateError(.syntax, message, at: (token ?? current).location)
    }

    mutating func enter() throws(ChatTemplateError) {
        depth += 1
        if depth > maxDepth {
            throw ChatTemplateError(.limitExceeded, "template nesting deeper than \(maxDepth)", at: current.location)
        }
    }

    mutating func expect(_ kind: Token.Kind, _ what: String) throws(ChatTemplateError) {
        guard current.kind == kind else { throw error("expected \(what), found \(current.display)") }
        _ = advance()
    }

    mutating func expectName() throws(ChatTemplateError) -> String {
        guard case .name(let name) = current.kind else { throw error("expected a name, found \(current.display)") }
        _ = advance()
        return name
    }

    func isName(_ name: String) -> Bool { current.kind == .name(name) }

    mutating func skip(name: String) -> Bool {
        guard isName(name) else { return false }
        _ = advance()
        return true
    }

    mutating func skip(op: String) -> Bool {
        guard current.kind == .op(op) else { return false }
        _ = advance()
        return true
    }

    /// Parses nodes until a `{% name %}` tag whose name is in `terminators`; consumes `{%` and the name and
    /// returns it (nil at the end of the template, which is only valid when `terminators` is empty).
    mutating func parseBody(until terminators: Set<String>) throws(ChatTemplateError) -> ([Node], String?) {
        try enter()
        defer { depth -= 1 }
        var nodes: [Node] = []
        while true {
            let token = current
            switch token.kind {
            case .end:
                if !terminators.isEmpty {
                    let names = terminators.sorted().map { "{% \($0) %}" }.joined(separator: " or ")
                    throw error("unexpected end of template, expected \(names)")
                }
                return (nodes, nil)
            case .text(let text):
                _ = advance()
                nodes.append(Node(kind: .text(text), location: token.location))
            case .variableBegin:
                _ = advance()
                let expression = try parseExpression()
                try expect(.variableEnd, "'}}'")
                nodes.append(Node(kind: .output(expression), location: token.location))
            case .blockBegin:
                _ = advance()
                let nameToken = current
                let name = try expectName()
                if terminators.contains(name) { return (nodes, name) }
                nodes.append(try parseStatement(name, at: nameToken))
            default:
                throw error("unexpected \(token.display)")
            }
        }
    }
}
