extension Evaluator {
    /// A `for` loop. As in jinja2, the `if` filter is applied before `loop.*` is computed, each iteration gets
    /// its own scope (assignments inside do not survive the iteration), and `else` runs, in a scope of its own,
    /// when nothing iterated.
    func executeFor(_ loop: ForLoop, at location: SourceLocation) throws(ChatTemplateError) -> Flow {
        var items = try iterate(try evaluate(loop.iterable), at: location)
        if let condition = loop.condition {
            var kept: [Value] = []
            for item in items {
                try step(location)
                scopes.append([:])
                defer { scopes.removeLast() }
                try bind(loop.targets, to: item, at: location)
                if try evaluate(condition).isTruthy { kept.append(item) }
            }
            items = kept
        }
        if items.isEmpty {
            // jinja2 runs `else` in the loop's own frame too: assignments there do not leak out.
            scopes.append([:])
            defer { scopes.removeLast() }
            return try execute(loop.otherwise)
        }
        for (offset, item) in items.enumerated() {
            try step(location)
            let state = LoopState(
                index0: offset, length: items.count,
                previous: offset > 0 ? items[offset - 1] : nil,
                next: offset + 1 < items.count ? items[offset + 1] : nil)
            scopes.append(["loop": .loop(state)])
            defer { scopes.removeLast() }
            try bind(loop.targets, to: item, at: location)
            let flow = try execute(loop.body)
            if flow == .breakLoop { break }
        }
        return .normal
    }

    private func bind(_ targets: [String], to item: Value, at location: SourceLocation) throws(ChatTemplateError) {
        if targets.count == 1 {
            assign(targets[0], item)
            return
        }
        let parts = try iterate(item, at: location)
        guard parts.count == targets.count else {
            throw ChatTemplateError(.runtime,
                "cannot unpack \(parts.count) values into \(targets.count) loop variables", at: location)
        }
        for (name, part) in zip(targets, parts) { assign(name, part) }
    }

    /// The elements Python's `iter()` yields: list items, dict keys, string characters; Undefined iterates empty.
    func iterate(_ value: Value, at location: SourceLocation?) throws(ChatTemplateError) -> [Value] {
        switch value {
        case .undefined: return []
        case .list(let items), .tuple(let items): return items
        case .dict(let dict): return dict.keys.map { .string($0) }
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .namespace(let ns): return ns.attributes.keys.map { .string($0) }
        default:
            throw ChatTemplateError(.runtime, "'\(value.typeName)' object is not iterable", at: location)
        }
    }

    /// `loop.<name>`.
    func loopAttribute(_ state: LoopState, _ name: String, at location: SourceLocation) throws(ChatTemplateError)
        -> Value
    {
        switch name {
        case "index": return .int(state.index0 + 1)
        case "index0": return .int(state.index0)
        case "revindex": return .int(state.length - state.index0)
        case "revindex0": return .int(state.length - state.index0 - 1)
        case "first": return .bool(state.index0 == 0)
        case "last": return .bool(state.index0 == state.length - 1)
        case "length": return .int(state.length)
        case "depth": return .int(1)
        case "depth0": return .int(0)
        case "previtem": return state.previous ?? .undefined("there is no previous item")
        case "nextitem": return state.next ?? .undefined("there is no next item")
        case "cycle": return .boundMethod(.loop(state), "cycle")
        default:
            throw ChatTemplateError(.unsupported, "'loop.\(name)' is not supported", at: location)
        }
    }
}
