/// An expression inside `{{ }}` or a tag, with where it starts in the source.
struct Expression {
    indirect enum Kind {
        case literal(Value)
        case name(String)
        case list([Expression])
        case tuple([Expression])
        case dict([(key: Expression, value: Expression)])
        case attribute(Expression, String)
        case index(Expression, Expression)
        case slice(Expression, start: Expression?, stop: Expression?, step: Expression?)
        case call(Expression, Arguments)
        case filter(Expression, name: String, Arguments)
        case test(Expression, name: String, Arguments, negated: Bool)
        case unary(String, Expression)
        case binary(String, Expression, Expression)
        case conditional(condition: Expression, then: Expression, otherwise: Expression?)
    }

    let kind: Kind
    let location: SourceLocation
    /// The height of this expression tree; the parser bounds it so evaluating (and freeing) a tree cannot
    /// overflow the stack, even for long flat chains such as `1+1+1+...`.
    let depth: Int

    init(kind: Kind, location: SourceLocation) {
        self.kind = kind
        self.location = location
        func height(_ children: [Expression?]) -> Int { (children.compactMap { $0?.depth }.max() ?? 0) + 1 }
        func height(_ arguments: Arguments) -> [Expression?] { arguments.positional + arguments.keyword.map(\.value) }
        switch kind {
        case .literal, .name: depth = 1
        case .list(let items), .tuple(let items): depth = height(items)
        case .dict(let pairs): depth = height(pairs.flatMap { [$0.key, $0.value] })
        case .attribute(let base, _), .unary(_, let base): depth = height([base])
        case .index(let base, let key): depth = height([base, key])
        case .slice(let base, let start, let stop, let step): depth = height([base, start, stop, step])
        case .call(let base, let arguments), .filter(let base, _, let arguments), .test(let base, _, let arguments, _):
            depth = height([base] + height(arguments))
        case .binary(_, let left, let right): depth = height([left, right])
        case .conditional(let condition, let then, let otherwise): depth = height([condition, then, otherwise])
        }
    }
}

/// Positional and keyword arguments of a call, filter or test.
struct Arguments {
    var positional: [Expression] = []
    var keyword: [(name: String, value: Expression)] = []
}

/// A statement of the template body.
struct Node {
    enum Kind {
        case text(String)
        case output(Expression)
        case conditional(branches: [(condition: Expression, body: [Node])], otherwise: [Node])
        case forLoop(ForLoop)
        case assign(AssignTarget, Expression)
        case assignBlock(String, [Node])
        case macro(Macro)
        case breakLoop
        case continueLoop
        /// transformers' `{% generation %}...{% endgeneration %}`: renders its body unchanged.
        case generation([Node])
    }

    let kind: Kind
    let location: SourceLocation
}

/// `{% for targets in iterable if condition %} body {% else %} otherwise {% endfor %}`.
struct ForLoop {
    let targets: [String]
    let iterable: Expression
    let condition: Expression?
    let body: [Node]
    let otherwise: [Node]
}

/// The left side of `{% set %}`.
enum AssignTarget {
    case names([String])
    /// `ns.attribute`: writes into a `namespace()` object.
    case attribute(String, String)
}
