extension Parser {
    /// Statements jinja2 has that this interpreter does not implement; naming them beats a confusing parse error.
    private static let unsupportedTags: Set<String> = [
        "include", "import", "from", "extends", "block", "call", "filter", "with", "raw", "autoescape", "do", "trans",
    ]

    mutating func parseStatement(_ name: String, at token: Token) throws(ChatTemplateError) -> Node {
        let location = token.location
        switch name {
        case "if": return Node(kind: try parseIf(), location: location)
        case "for": return Node(kind: .forLoop(try parseFor()), location: location)
        case "set": return Node(kind: try parseSet(), location: location)
        case "macro": return Node(kind: .macro(try parseMacro()), location: location)
        case "break", "continue":
            try expect(.blockEnd, "'%}'")
            return Node(kind: name == "break" ? .breakLoop : .continueLoop, location: location)
        case "generation":
            try expect(.blockEnd, "'%}'")
            let (body, _) = try parseBody(until: ["endgeneration"])
            try expect(.blockEnd, "'%}'")
            return Node(kind: .generation(body), location: location)
        default:
            if name.hasPrefix("end") || name == "elif" || name == "else" {
                throw error("unexpected '{% \(name) %}' with no open block it could close", at: token)
            }
            if Parser.unsupportedTags.contains(name) {
                throw ChatTemplateError(.unsupported, "the '{% \(name) %}' tag is not supported", at: location)
            }
            throw error("unknown tag '\(name)'", at: token)
        }
    }

    private mutating func parseIf() throws(ChatTemplateError) -> Node.Kind {
        var branches: [(condition: Expression, body: [Node])] = []
        var condition = try parseExpression()
        while true {
            try expect(.blockEnd, "'%}'")
            let (body, terminator) = try parseBody(until: ["elif", "else", "endif"])
            branches.append((condition, body))
            switch terminator {
            case "elif":
                condition = try parseExpression()
            case "else":
                try expect(.blockEnd, "'%}'")
                let (otherwise, _) = try parseBody(until: ["endif"])
                try expect(.blockEnd, "'%}'")
                return .conditional(branches: branches, otherwise: otherwise)
            default:
                try expect(.blockEnd, "'%}'")
                return .conditional(branches: branches, otherwise: [])
            }
        }
    }

    private mutating func parseFor() throws(ChatTemplateError) -> ForLoop {
        var targets = [try expectName()]
        while skip(op: ",") { targets.append(try expectName()) }
        guard skip(name: "in") else { throw error("expected 'in' in for loop, found \(current.display)") }
        let iterable = try parseExpression(allowConditional: false)
        let condition = skip(name: "if") ? try parseExpression() : nil
        if isName("recursive") {
            throw ChatTemplateError(.unsupported, "recursive for loops are not supported", at: current.location)
        }
        try expect(.blockEnd, "'%}'")
        let (body, terminator) = try parseBody(until: ["else", "endfor"])
        var otherwise: [Node] = []
        if terminator == "else" {
            try expect(.blockEnd, "'%}'")
            (otherwise, _) = try parseBody(until: ["endfor"])
        }
        try expect(.blockEnd, "'%}'")
        return ForLoop(targets: targets, iterable: iterable, condition: condition, body: body, otherwise: otherwise)
    }

    private mutating func parseSet() throws(ChatTemplateError) -> Node.Kind {
        let first = try expectName()
        var target = AssignTarget.names([first])
        if skip(op: ".") {
            target = .attribute(first, try expectName())
        } else if current.kind == .op(",") {
            var names = [first]
            while skip(op: ",") { names.append(try expectName()) }
            target = .names(names)
        }
        if skip(op: "=") {
            var value = try parseExpression()
            if current.kind == .op(",") {
                var items = [value]
                while skip(op: ",") { items.append(try parseExpression()) }
                value = Expression(kind: .tuple(items), location: value.location)
            }
            try expect(.blockEnd, "'%}'")
            return .assign(target, value)
        }
        guard case .names(let names) = target, names.count == 1 else {
            throw error("a block '{% set %}' assigns exactly one name")
        }
        if current.kind == .op("|") {
            throw ChatTemplateError(.unsupported, "filtered block '{% set %}' is not supported", at: current.location)
        }
        try expect(.blockEnd, "'%}'")
        let (body, _) = try parseBody(until: ["endset"])
        try expect(.blockEnd, "'%}'")
        return .assignBlock(first, body)
    }

    private mutating func parseMacro() throws(ChatTemplateError) -> Macro {
        let name = try expectName()
        try expect(.op("("), "'('")
        var parameters: [(name: String, defaultValue: Expression?)] = []
        while !skip(op: ")") {
            if !parameters.isEmpty { try expect(.op(","), "','") }
            if skip(op: ")") { break }
            let parameter = try expectName()
            let defaultValue = skip(op: "=") ? try parseExpression() : nil
            parameters.append((parameter, defaultValue))
        }
        try expect(.blockEnd, "'%}'")
        let (body, _) = try parseBody(until: ["endmacro"])
        if case .name = current.kind { _ = advance() }
        try expect(.blockEnd, "'%}'")
        return Macro(name: name, parameters: parameters, body: body)
    }
}
