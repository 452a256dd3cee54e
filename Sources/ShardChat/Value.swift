/// A value while a template runs: Python's data model as far as chat templates use it.
///
/// `undefined` is jinja2's default `Undefined`: it renders empty, is falsy, iterates as empty, and fails when used
/// in arithmetic or when an attribute of it is read. It carries the message jinja2 gives when it fails.
indirect enum Value {
    case undefined(String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([Value])
    /// A Python tuple: `(a, b)` literals and the pairs `items()` yields; it prints as `(a, b)`.
    case tuple([Value])
    case dict(Dict)
    case namespace(Namespace)
    case macro(Macro)
    case function(BuiltinFunction)
    /// A method bound to its receiver (`"a b".split`), called later with arguments.
    case boundMethod(Value, String)
    case loop(LoopState)

    init(_ value: ChatTemplateValue) {
        switch value {
        case .none: self = .none
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .array(let items): self = .list(items.map(Value.init))
        case .object(let members):
            var dict = Dict()
            for member in members { dict[member.key] = Value(member.value) }
            self = .dict(dict)
        }
    }

    /// Python truthiness.
    var isTruthy: Bool {
        switch self {
        case .undefined, .none: false
        case .bool(let b): b
        case .int(let i): i != 0
        case .double(let d): d != 0
        case .string(let s): !s.isEmpty
        case .list(let l), .tuple(let l): !l.isEmpty
        case .dict(let d): !d.isEmpty
        case .namespace, .macro, .function, .boundMethod, .loop: true
        }
    }

    /// The elements of a list or tuple.
    var sequence: [Value]? {
        switch self {
        case .list(let items), .tuple(let items): items
        default: nil
        }
    }

    /// `.bool` as the `.int` Python treats it as; anything else unchanged.
    var boolAsInt: Value {
        if case .bool(let b) = self { return .int(b ? 1 : 0) }
        return self
    }

    var isUndefined: Bool {
        if case .undefined = self { return true }
        return false
    }

    /// Python's type name, for error messages that read like jinja2's.
    var typeName: String {
        switch self {
        case .undefined: "Undefined"
        case .none: "NoneType"
        case .bool: "bool"
        case .int: "int"
        case .double: "float"
        case .string: "str"
        case .list: "list"
        case .tuple: "tuple"
        case .dict: "dict"
        case .namespace: "Namespace"
        case .macro: "Macro"
        case .function, .boundMethod: "builtin_function_or_method"
        case .loop: "LoopContext"
        }
    }
}

/// A Python dict with string keys, in insertion order.
struct Dict {
    private(set) var keys: [String] = []
    private var storage: [String: Value] = [:]
    /// Keys compared as Unicode scalar sequences (Python semantics), not by Swift's canonical equivalence.
    private var index: [[UInt32]: String] = [:]

    var isEmpty: Bool { keys.isEmpty }
    var count: Int { keys.count }

    subscript(key: String) -> Value? {
        get { index[Dict.scalars(key)].flatMap { storage[$0] } }
        set {
            let id = Dict.scalars(key)
            if let existing = index[id] {
                if let newValue { storage[existing] = newValue } else {
                    storage[existing] = nil
                    index[id] = nil
                    keys.removeAll { Dict.scalars($0) == id }
                }
            } else if let newValue {
                index[id] = key
                keys.append(key)
                storage[key] = newValue
            }
        }
    }

    var items: [(String, Value)] { keys.map { ($0, storage[$0]!) } }

    private static func scalars(_ s: String) -> [UInt32] { s.unicodeScalars.map(\.value) }
}

/// The mutable object `namespace()` returns; `{% set ns.attr = v %}` writes through to it across scopes.
final class Namespace {
    var attributes = Dict()
}

/// A `{% macro %}` definition, callable from expressions.
final class Macro {
    let name: String
    let parameters: [(name: String, defaultValue: Expression?)]
    let body: [Node]

    init(name: String, parameters: [(name: String, defaultValue: Expression?)], body: [Node]) {
        self.name = name
        self.parameters = parameters
        self.body = body
    }
}

/// The global functions a template can call.
enum BuiltinFunction: String {
    case raiseException = "raise_exception"
    case strftimeNow = "strftime_now"
    case namespace
    case range
    case dict
}

/// What `loop` exposes inside a `for` body.
struct LoopState {
    let index0: Int
    let length: Int
    let previous: Value?
    let next: Value?
}
