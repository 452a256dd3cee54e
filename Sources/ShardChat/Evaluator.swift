import Foundation

/// Runs a parsed template against a context, writing the output. One evaluator renders once.
final class Evaluator {
    /// Variable frames, innermost last. Frame 0 holds the globals and the render context; frame 1 the template's
    /// top-level assignments; each `for` iteration and macro call pushes its own.
    var scopes: [[String: Value]]
    var output = ""
    var outputBytes = 0
    var steps = 0
    var depth = 0
    let limits: ChatTemplateLimits
    let now: Date

    /// What a statement asks of the enclosing loop.
    enum Flow { case normal, breakLoop, continueLoop }

    init(context: [String: Value], limits: ChatTemplateLimits, now: Date) {
        var globals = context
        for function in [BuiltinFunction.raiseException, .strftimeNow, .namespace, .range, .dict] {
            if globals[function.rawValue] == nil { globals[function.rawValue] = .function(function) }
        }
        scopes = [globals, [:]]
        self.limits = limits
        self.now = now
    }

    func render(_ nodes: [Node]) throws(ChatTemplateError) -> String {
        let flow = try execute(nodes)
        if flow != .normal {
            throw ChatTemplateError(.syntax, "'break' or 'continue' outside a for loop")
        }
        return output
    }

    func step(_ location: SourceLocation?) throws(ChatTemplateError) {
        steps += 1
        if steps > limits.maxSteps {
            throw ChatTemplateError(.limitExceeded, "rendering took more than \(limits.maxSteps) steps", at: location)
        }
    }

    func enter(_ location: SourceLocation?) throws(ChatTemplateError) {
        depth += 1
        if depth > limits.maxDepth {
            throw ChatTemplateError(.limitExceeded, "rendering nested deeper than \(limits.maxDepth)", at: location)
        }
    }

    func emit(_ text: String, at location: SourceLocation?) throws(ChatTemplateError) {
        outputBytes += text.utf8.count
        if outputBytes > limits.maxOutputBytes {
            throw ChatTemplateError(.limitExceeded, "output larger than \(limits.maxOutputBytes) bytes", at: location)
        }
        output += text
    }

    func lookup(_ name: String) -> Value {
        for frame in scopes.reversed() {
            if let value = frame[name] { return value }
        }
        return .undefined("'\(name)' is undefined")
    }

    func assign(_ name: String, _ value: Value) {
        scopes[scopes.count - 1][name] = value
    }

    func execute(_ nodes: [Node]) throws(ChatTemplateError) -> Flow {
        try enter(nodes.first?.location)
        defer { depth -= 1 }
        for node in nodes {
            try step(node.location)
            let flow = try execute(node)
            if flow != .normal { return flow }
        }
        return .normal
    }

    private func execute(_ node: Node) throws(ChatTemplateError) -> Flow {
        switch node.kind {
        case .text(let text):
            try emit(text, at: node.location)
        case .output(let expression):
            try emit(try PythonFormat.str(try evaluate(expression)), at: node.location)
        case .conditional(let branches, let otherwise):
            for branch in branches where try evaluate(branch.condition).isTruthy {
                return try execute(branch.body)
            }
            return try execute(otherwise)
        case .forLoop(let loop):
            return try executeFor(loop, at: node.location)
        case .assign(let target, let expression):
            try executeAssign(target, try evaluate(expression), at: node.location)
        case .assignBlock(let name, let body):
            let saved = (output, outputBytes)
            output = ""
            let flow = try execute(body)
            let captured = output
            (output, outputBytes) = saved
            assign(name, .string(captured))
            return flow
        case .macro(let macro):
            assign(macro.name, .macro(macro))
        case .breakLoop:
            return .breakLoop
        case .continueLoop:
            return .continueLoop
        case .generation(let body):
            return try execute(body)
        }
        return .normal
    }

    private func executeAssign(_ target: AssignTarget, _ value: Value, at location: SourceLocation)
        throws(ChatTemplateError)
    {
        switch target {
        case .names(let names) where names.count == 1:
            assign(names[0], value)
        case .names(let names):
            let items = try iterate(value, at: location)
            guard items.count == names.count else {
                throw ChatTemplateError(.runtime,
                    "cannot unpack \(items.count) values into \(names.count) names", at: location)
            }
            for (name, item) in zip(names, items) { assign(name, item) }
        case .attribute(let name, let attribute):
            guard case .namespace(let namespace) = lookup(name) else {
                throw ChatTemplateError(.runtime,
                    "cannot assign attribute on non-namespace object '\(name)'", at: location)
            }
            try checkStorable(value, at: location)
            namespace.attributes[attribute] = value
        }
    }

    /// Checks a value about to be stored in a `namespace()`, the one place state outlives a loop iteration.
    ///
    /// Without this, a loop could nest a value a million levels deep (`{% set ns.x = [ns.x] %}`) or make a cycle
    /// of namespaces, and printing, comparing or even freeing it would overflow the stack. The walk costs one step
    /// per element, so it is bounded by `maxSteps` like everything else.
    func checkStorable(_ value: Value, at location: SourceLocation?, depth: Int = 0) throws(ChatTemplateError) {
        try step(location)
        if depth > limits.maxDepth {
            throw ChatTemplateError(.limitExceeded, "a value nested deeper than \(limits.maxDepth)", at: location)
        }
        switch value {
        case .list(let items), .tuple(let items):
            for item in items { try checkStorable(item, at: location, depth: depth + 1) }
        case .dict(let dict):
            for (_, item) in dict.items { try checkStorable(item, at: location, depth: depth + 1) }
        case .namespace:
            throw ChatTemplateError(.unsupported, "storing a namespace inside a namespace is not supported",
                at: location)
        case .boundMethod(let receiver, _):
            try checkStorable(receiver, at: location, depth: depth + 1)
        default:
            break
        }
    }
}
