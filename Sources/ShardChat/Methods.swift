/// The Python methods chat templates call on strings, dicts and `loop` (`.strip()`, `.items()`, `.get()`...).
///
/// Mutating methods (`list.append`, `dict.update`, ...) fail as jinja2's ImmutableSandboxedEnvironment makes them
/// fail, since transformers renders in that sandbox.
enum Methods {
    private static let stringMethods: Set<String> = [
        "strip", "lstrip", "rstrip", "startswith", "endswith", "split", "lower", "upper", "title", "capitalize",
        "replace", "find", "count", "join", "splitlines", "isdigit", "isspace", "isalpha", "isupper", "islower",
        "format",
    ]
    private static let dictMethods: Set<String> = ["items", "keys", "values", "get"]
    private static let mutatingMethods: Set<String> = [
        "append", "pop", "update", "insert", "extend", "remove", "clear", "setdefault", "sort", "reverse", "popitem",
    ]

    static func isMethod(_ name: String, of value: Value) -> Bool {
        switch value {
        case .string: stringMethods.contains(name)
        case .dict: dictMethods.contains(name) || mutatingMethods.contains(name)
        case .list: mutatingMethods.contains(name)
        default: false
        }
    }

    static func call(_ name: String, on receiver: Value, _ args: [Value], _ kwargs: [String: Value],
        limits: ChatTemplateLimits, at location: SourceLocation) throws(ChatTemplateError) -> Value
    {
        if mutatingMethods.contains(name) {
            throw ChatTemplateError(.runtime,
                "access to attribute '\(name)' of '\(receiver.typeName)' object is unsafe (templates are immutable)",
                at: location)
        }
        switch receiver {
        case .string(let s): return try stringMethod(name, s, args, kwargs, at: location)
        case .dict(let dict):
            switch name {
            case "items": return .list(dict.items.map { .tuple([.string($0.0), $0.1]) })
            case "keys": return .list(dict.keys.map { .string($0) })
            case "values": return .list(dict.items.map { $0.1 })
            default:
                guard let key = args.first else {
                    throw ChatTemplateError(.runtime, "get expected at least 1 argument", at: location)
                }
                guard case .string(let k) = key else { return args.count > 1 ? args[1] : .none }
                return dict[k] ?? (args.count > 1 ? args[1] : .none)
            }
        case .loop(let state):
            guard !args.isEmpty else {
                throw ChatTemplateError(.runtime, "no items for cycling given", at: location)
            }
            return args[state.index0 % args.count]
        default:
            throw ChatTemplateError(.unsupported, "method '\(name)' of '\(receiver.typeName)' is not supported",
                at: location)
        }
    }

    private static func stringArgument(_ args: [Value], _ index: Int, _ method: String, at location: SourceLocation)
        throws(ChatTemplateError) -> String?
    {
        guard index < args.count else { return nil }
        switch args[index] {
        case .string(let s): return s
        case .none: return nil
        default:
            throw ChatTemplateError(.runtime, "\(method)() argument must be str or None, not \(args[index].typeName)",
                at: location)
        }
    }

    private static func intArgument(_ args: [Value], _ kwargs: [String: Value], _ index: Int, _ keyword: String)
        -> Int?
    {
        let value = index < args.count ? args[index] : kwargs[keyword]
        if case .int(let i)? = value { return i }
        return nil
    }

    private static func stringMethod(_ name: String, _ s: String, _ args: [Value], _ kwargs: [String: Value],
        at location: SourceLocation) throws(ChatTemplateError) -> Value
    {
        switch name {
        case "strip", "lstrip", "rstrip":
            let chars = try stringArgument(args, 0, name, at: location)
            return .string(Strings.strip(s, chars, leading: name != "rstrip", trailing: name != "lstrip"))
        case "startswith", "endswith":
            var candidates: [String] = []
            switch args.first {
            case .string(let p)?: candidates = [p]
            case .list(let items)?, .tuple(let items)?:
                for case .string(let p) in items { candidates.append(p) }
            default:
                throw ChatTemplateError(.runtime, "\(name) first arg must be str or a tuple of str", at: location)
            }
            let test = name == "startswith" ? Strings.hasPrefix : Strings.hasSuffix
            return .bool(candidates.contains { test(s, $0) })
        case "split":
            let separator = try stringArgument(args, 0, name, at: location) ?? {
                if case .string(let sep)? = kwargs["sep"] { return sep }
                return nil
            }()
            if separator == "" { throw ChatTemplateError(.runtime, "empty separator", at: location) }
            let maxSplit = intArgument(args, kwargs, 1, "maxsplit") ?? -1
            return .list(Strings.split(s, separator, maxSplit: maxSplit).map { .string($0) })
        case "splitlines":
            var lines = Strings.split(s, "\n")
            if lines.last == "" { lines.removeLast() }
            return .list(lines.map { .string($0) })
        case "lower": return .string(Strings.lower(s))
        case "upper": return .string(Strings.upper(s))
        case "title": return .string(Strings.pythonTitle(s))
        case "capitalize": return .string(Strings.capitalize(s))
        case "replace":
            guard case .string(let old)? = args.first, args.count > 1, case .string(let new) = args[1] else {
                throw ChatTemplateError(.runtime, "replace() takes two strings", at: location)
            }
            return .string(Strings.replace(s, old, new, count: intArgument(args, kwargs, 2, "count") ?? -1))
        case "find":
            guard case .string(let needle)? = args.first else {
                throw ChatTemplateError(.runtime, "find() takes a string", at: location)
            }
            return .int(Strings.find(needle, in: s) ?? -1)
        case "count":
            guard case .string(let needle)? = args.first, !needle.isEmpty else {
                throw ChatTemplateError(.runtime, "count() takes a non-empty string", at: location)
            }
            return .int(Strings.split(s, needle).count - 1)
        case "join":
            var parts: [String] = []
            if let items = args.first?.sequence {
                for item in items {
                    guard case .string(let part) = item else {
                        throw ChatTemplateError(.runtime, "sequence item: expected str instance", at: location)
                    }
                    parts.append(part)
                }
            }
            return .string(parts.joined(separator: s))
        case "isdigit":
            return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.numericType == .decimal })
        case "isspace": return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(\.isPythonWhitespace))
        case "isalpha": return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(\.properties.isAlphabetic))
        case "isupper": return .bool(Strings.upper(s) == s && Strings.lower(s) != s)
        case "islower": return .bool(Strings.lower(s) == s && Strings.upper(s) != s)
        default:
            throw ChatTemplateError(.unsupported, "string method '\(name)' is not supported", at: location)
        }
    }
}
