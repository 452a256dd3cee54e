extension Filters {
    /// Filters over sequences: `map`, `select`/`reject`, `selectattr`/`rejectattr`, `sort`, `unique`, `dictsort`,
    /// `min`, `max`, `sum`, `attr`.
    static func applyCollectionFilter(_ name: String, to value: Value, _ args: [Value], _ kwargs: [String: Value],
        evaluator: Evaluator, at location: SourceLocation) throws(ChatTemplateError) -> Value
    {
        switch name {
        case "map":
            var out: [Value] = []
            let items = try evaluator.iterate(value, at: location)
            if case .string(let attribute)? = kwargs["attribute"] {
                for item in items {
                    let picked = try evaluator.attribute(of: item, attribute, at: location)
                    out.append(picked.isUndefined ? (kwargs["default"] ?? picked) : picked)
                }
            } else if case .string(let filter)? = args.first {
                for item in items {
                    try evaluator.step(location)
                    out.append(try apply(filter, to: item, Array(args.dropFirst()), [:], evaluator: evaluator,
                        at: location))
                }
            } else {
                throw ChatTemplateError(.runtime, "map requires a filter name or attribute=", at: location)
            }
            return .list(out)
        case "select", "reject", "selectattr", "rejectattr":
            let byAttribute = name.hasSuffix("attr")
            let keep = name.hasPrefix("select")
            var rest = args
            var attribute: String? = nil
            if byAttribute {
                guard case .string(let a)? = rest.first else {
                    throw ChatTemplateError(.runtime, "\(name) requires an attribute name", at: location)
                }
                attribute = a
                rest.removeFirst()
            }
            var testName: String? = nil
            if case .string(let t)? = rest.first {
                testName = t
                rest.removeFirst()
            }
            var out: [Value] = []
            for item in try evaluator.iterate(value, at: location) {
                try evaluator.step(location)
                let subject = try attribute.map { a throws(ChatTemplateError) in
                    try evaluator.attribute(of: item, a, at: location)
                } ?? item
                let passed = try testName.map { t throws(ChatTemplateError) in
                    try TemplateTests.apply(t, to: subject, rest, at: location)
                } ?? subject.isTruthy
                if passed == keep { out.append(item) }
            }
            return .list(out)
        case "attr":
            guard case .string(let attribute)? = args.first else {
                throw ChatTemplateError(.runtime, "attr requires a name", at: location)
            }
            // jinja2's attr reads attributes only, never items, so a dict key is not found this way.
            if case .dict = value, !Methods.isMethod(attribute, of: value) {
                return .undefined("'dict object' has no attribute '\(attribute)'")
            }
            return try evaluator.attribute(of: value, attribute, at: location)
        case "unique":
            var out: [Value] = []
            for item in try evaluator.iterate(value, at: location)
            where !out.contains(where: { Operators.equal($0, item) }) {
                out.append(item)
            }
            return .list(out)
        case "sort", "min", "max":
            let reverse = kwargs["reverse"]?.isTruthy ?? (name == "sort" && (args.first?.isTruthy ?? false))
            let attribute: String? = if case .string(let a)? = kwargs["attribute"] { a } else { nil }
            var keyed: [(key: Value, item: Value)] = []
            for item in try evaluator.iterate(value, at: location) {
                var key = try attribute.map { a throws(ChatTemplateError) in
                    try evaluator.attribute(of: item, a, at: location)
                } ?? item
                if case .string(let s) = key, !(kwargs["case_sensitive"]?.isTruthy ?? false) {
                    key = .string(Strings.lower(s))
                }
                keyed.append((key, item))
            }
            let sorted = try mergeSort(keyed, at: location)
            if name == "min" { return sorted.first?.item ?? .undefined("No aggregated item, sequence was empty.") }
            if name == "max" { return sorted.last?.item ?? .undefined("No aggregated item, sequence was empty.") }
            return .list((reverse ? sorted.reversed() : sorted).map(\.item))
        case "dictsort":
            guard case .dict(let dict) = value else {
                throw ChatTemplateError(.runtime, "dictsort requires a mapping", at: location)
            }
            let keyed = dict.items.map {
                (key: Value.string(Strings.lower($0.0)), item: Value.tuple([.string($0.0), $0.1]))
            }
            return .list(try mergeSort(keyed, at: location).map(\.item))
        case "sum":
            var total: Value = kwargs["start"] ?? .int(0)
            for item in try evaluator.iterate(value, at: location) {
                total = try Operators.binary("+", total, item, limits: evaluator.limits, at: location)
            }
            return total
        default:
            throw ChatTemplateError(.unsupported, "the '\(name)' filter is not supported", at: location)
        }
    }

    /// A stable sort by Python `<` on the keys (errors for mixed types, as Python's sort raises).
    private static func mergeSort(_ items: [(key: Value, item: Value)], at location: SourceLocation)
        throws(ChatTemplateError) -> [(key: Value, item: Value)]
    {
        guard items.count > 1 else { return items }
        let middle = items.count / 2
        let left = try mergeSort(Array(items[..<middle]), at: location)
        let right = try mergeSort(Array(items[middle...]), at: location)
        var out: [(key: Value, item: Value)] = []
        var i = 0, j = 0
        while i < left.count && j < right.count {
            if try Operators.compare("<", right[j].key, left[i].key, at: location) {
                out.append(right[j]); j += 1
            } else {
                out.append(left[i]); i += 1
            }
        }
        return out + left[i...] + right[j...]
    }
}
