import Foundation
import Testing
import ShardChat

/// Hostile templates end with `.limitExceeded`, quickly, without exhausting the stack or memory.
@Suite("Chat template limits")
struct LimitTests {
    private func failure(_ source: String, limits: ChatTemplateLimits = .default) -> ChatTemplateError? {
        do {
            let template = try ChatTemplate(source: source, limits: limits)
            _ = try template.render(messages: [ChatMessage(role: "user", content: "hi")], addGenerationPrompt: true)
            return nil
        } catch {
            return error
        }
    }

    /// Hostile sources by name (the name, not the megabyte of source, is what a failure prints).
    static let hostile: [String: String] = [
        "unbounded macro recursion": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
        "nested loops that never print":
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "a string that doubles":
            "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "string repetition": "{{ 'abc' * 1000000000000 }}",
        "list repetition": "{{ [1, 2] * 1000000000000 }}",
        "a huge range": "{{ range(1000000000000) | length }}",
        "output that keeps growing": "{% for i in range(1000000) %}{{ 'x' * 1000 }}{% endfor %}",
        "deeply nested parentheses": "{{ " + String(repeating: "(", count: 100_000) + "1"
            + String(repeating: ")", count: 100_000) + " }}",
        "deeply nested blocks":
            String(repeating: "{% if true %}", count: 50_000) + String(repeating: "{% endif %}", count: 50_000),
        "a long flat chain": "{{ " + Array(repeating: "1", count: 100_000).joined(separator: " + ") + " }}",
        "a long filter chain": "{{ 'x'" + String(repeating: " | upper", count: 100_000) + " }}",
        "a long attribute chain": "{{ x" + String(repeating: ".y", count: 100_000) + " }}",
        "a value nested one level per iteration":
            "{% set ns = namespace(x=[]) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}",
        "empty-string repetition that would loop forever":
            "{{ ('' * 1000000000000000) ~ ([] * 1000000000000000) | length ~ ('x' * 10000000) }}",
        "range at the edges of Int": "{{ range(-9223372036854775807, 9223372036854775807) | length }}",
        "nested lists": "{{ " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + " }}",
    ]

    @Test(arguments: LimitTests.hostile.keys.sorted())
    func hostileTemplatesAreBounded(_ name: String) {
        let source = LimitTests.hostile[name]!
        let clock = ContinuousClock()
        var error: ChatTemplateError?
        let elapsed = clock.measure { error = failure(source) }
        #expect(error?.kind == .limitExceeded, "\(name): \(String(describing: error))")
        #expect(elapsed < .seconds(20), "\(name) took \(elapsed)")
    }

    @Test func namespacesCannotHoldNamespaces() throws {
        let template = try ChatTemplate(
            source: "{% set a = namespace() %}{% set b = namespace(p=a) %}{% set a.q = b %}{{ a }}")
        #expect(throws: ChatTemplateError.self) { try template.render(messages: [], addGenerationPrompt: false) }
        let cycle = try ChatTemplate(source: "{% set a = namespace() %}{% set a.me = [a] %}{{ a }}")
        let error = try #require(throws: ChatTemplateError.self) {
            try cycle.render(messages: [], addGenerationPrompt: false)
        }
        #expect(error.kind == .unsupported)
    }

    @Test func rangesNearIntLimitsDoNotOverflow() throws {
        let template = try ChatTemplate(source: "{{ range(9223372036854775805, 9223372036854775807) | list }}|"
            + "{{ range(-9223372036854775807, -9223372036854775803, 2) | list }}")
        #expect(try template.render(messages: [], addGenerationPrompt: false)
            == "[9223372036854775805, 9223372036854775806]|[-9223372036854775807, -9223372036854775805]")
    }

    @Test func extremeSliceStepsAndIndentsDoNotTrap() throws {
        let template = try ChatTemplate(source: "{{ 'abcdef'[5::9223372036854775807] }}|"
            + "{{ 'abcdef'[0::-9223372036854775807] }}"
            + "|{{ [1, 2][::9223372036854775807] }}|{{ [1] | tojson(indent=-3) }}|{{ 'a\nb' | indent(-5) }}")
        #expect(try template.render(messages: [], addGenerationPrompt: false) == "f|a|[1]|[\n1\n]|a\nb")
    }

    @Test func limitsAreConfigurable() throws {
        let small = ChatTemplateLimits(maxOutputBytes: 10)
        #expect(failure("{{ 'x' * 11 }}", limits: small)?.kind == .limitExceeded)
        #expect(failure("{{ 'x' * 10 }}", limits: small) == nil)
        let few = ChatTemplateLimits(maxSteps: 50)
        #expect(failure("{% for i in range(100) %}{% endfor %}", limits: few)?.kind == .limitExceeded)
        let shallow = ChatTemplateLimits(maxDepth: 8)
        #expect(failure("{{ ((((((((((1)))))))))) }}", limits: shallow)?.kind == .limitExceeded)
    }

    /// Nesting up to the default depth renders (the bound is not so tight that real templates hit it).
    @Test func moderateNestingRenders() throws {
        let source = String(repeating: "{% if true %}", count: 40) + "{{ " + String(repeating: "(", count: 30) + "1"
            + String(repeating: ")", count: 30) + " }}" + String(repeating: "{% endif %}", count: 40)
        let template = try ChatTemplate(source: source)
        #expect(try template.render(messages: [], addGenerationPrompt: false) == "1")
        let recursive = try ChatTemplate(
            source: "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{% endif %}{{ n }}{% endmacro %}{{ f(20) }}")
        #expect(try recursive.render(messages: [], addGenerationPrompt: false)
            == (0...20).map(String.init).joined())
    }
}
