import Foundation
import Testing
import ShardChat

/// Bad templates fail with a typed error that says what and where; they never crash or render a guess.
@Suite("Chat template errors")
struct ErrorTests {
    private func parseError(_ source: String) -> ChatTemplateError? {
        do {
            _ = try ChatTemplate(source: source)
            return nil
        } catch {
            return error
        }
    }

    private func renderError(_ source: String, messages: [ChatMessage] = [],
        extra: [String: ChatTemplateValue] = [:]) throws -> ChatTemplateError?
    {
        let template = try ChatTemplate(source: source)
        do {
            _ = try template.render(messages: messages, addGenerationPrompt: false, extraContext: extra)
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: [
        ("{% if x %}open", 1, 15, "expected {% elif %} or {% else %} or {% endif %}"),
        ("line one\n{{ 1 + }}", 2, 8, "unexpected '}}'"),
        ("{{ 'unterminated }}", 1, 4, "unterminated string literal"),
        ("{{ name", 1, 1, "missing '}}'"),
        ("ok\n\n  {% endfor %}", 3, 6, "unexpected '{% endfor %}'"),
        ("{% frobnicate %}", 1, 4, "unknown tag 'frobnicate'"),
        ("{# never closed", 1, 1, "unterminated comment"),
        ("{{ a ]] }}", 1, 6, "unexpected ']'"),
        ("{{ f(a=1, 2) }}", 1, 11, "positional argument after keyword argument"),
        ("{% for in items %}{% endfor %}", 1, 11, "expected 'in' in for loop"),
        ("{{ x ? y }}", 1, 6, "unexpected character '?'"),
    ])
    func syntaxErrorsSayWhereAndWhat(_ source: String, _ line: Int, _ column: Int, _ message: String) throws {
        let error = try #require(parseError(source))
        #expect(error.kind == .syntax)
        #expect(error.message.contains(message), "\(error.message)")
        #expect(error.location == SourceLocation(line: line, column: column), "\(String(describing: error.location))")
        #expect(error.description.contains("line \(line), column \(column)"))
    }

    @Test(arguments: [
        ("{% include 'other.jinja' %}", "'{% include %}' tag"),
        ("{% extends 'base' %}", "'{% extends %}' tag"),
        ("{% for x in items recursive %}{% endfor %}", "recursive for loops"),
        ("{% set x | upper %}a{% endset %}", "filtered block"),
        ("{{ f(*args) }}", "'*args'"),
    ])
    func unsupportedSyntaxIsNamedAtParse(_ source: String, _ named: String) throws {
        let error = try #require(parseError(source))
        #expect(error.kind == .unsupported)
        #expect(error.message.contains(named), "\(error.message)")
        #expect(error.location != nil)
    }

    @Test(arguments: [
        ("{{ 'x' | wordwrap }}", "'wordwrap' filter"),
        ("{{ 1 is prime }}", "'prime' test"),
        ("{{ 'x'.zfill(3) }}", "'zfill'"),
        ("{{ '%s' % 1 }}", "'%' string formatting"),
        ("{{ strftime_now('%Z') }}", "'%Z'"),
        ("{{ 9223372036854775807 + 1 }}", "integer overflow"),
        ("{% for x in items %}{{ loop.changed(x) }}{% endfor %}", "'loop.changed'"),
    ])
    func unsupportedFeaturesAreNamedAtRender(_ source: String, _ named: String) throws {
        let error = try #require(try renderError(source, extra: ["items": [1]]))
        #expect(error.kind == .unsupported || error.kind == .runtime)
        #expect(error.message.contains(named), "\(error.message)")
    }

    @Test func raiseExceptionCarriesTheTemplatesMessage() throws {
        let source = "line\n{% if messages | length == 0 %}"
            + "{{ raise_exception('No messages: ' ~ (messages | length)) }}{% endif %}"
        let error = try #require(try renderError(source))
        #expect(error.kind == .raised)
        #expect(error.message == "No messages: 0")
        #expect(error.location?.line == 2)
    }

    @Test func mistralRejectsRolesThatDoNotAlternate() throws {
        let template = try ChatTemplate(source: try #require(ChatTemplate.builtin(for: .mistral)))
        let alternate = "Conversation roles must alternate user/assistant/user/assistant/..."
        #expect(throws: ChatTemplateError(.raised, alternate, at: SourceLocation(line: 1, column: 110))) {
            try template.render(
                messages: [ChatMessage(role: "user", content: "a"), ChatMessage(role: "user", content: "b")],
                addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>")
        }
    }

    @Test(arguments: [
        ("{{ nothing.attribute }}", "'nothing' is undefined"),
        ("{{ nothing + 1 }}", "'nothing' is undefined"),
        ("{{ 'a' + 1 }}", "unsupported operand type(s) for +: 'str' and 'int'"),
        ("{{ 1 // 0 }}", "division by zero"),
        ("{{ items.append(4) }}", "'append' of 'list' object is unsafe"),
        ("{{ 1 < 'a' }}", "'<' not supported between instances of 'int' and 'str'"),
        ("{% for a, b in items %}{% endfor %}", "'int' object is not iterable"),
        ("{{ 3(1) }}", "'int' object is not callable"),
        ("{% set x.y = 1 %}", "non-namespace object 'x'"),
        ("{{ {'a': 1} | tojson }}{{ nothing | tojson }}", "Object of type Undefined is not JSON serializable"),
    ])
    func runtimeErrorsReadLikeJinja2s(_ source: String, _ message: String) throws {
        let error = try #require(try renderError(source, extra: ["items": [1, 2]]))
        #expect(error.kind == .runtime)
        #expect(error.message.contains(message), "\(error.message)")
        #expect(error.location != nil)
    }

    @Test func undefinedRendersEmptyAndIsFalsy() throws {
        let template = try ChatTemplate(
            source: "[{{ nothing }}][{{ nothing | length }}][{% if nothing %}yes{% else %}no{% endif %}]"
                + "[{{ nothing is defined }}][{% for x in nothing %}x{% endfor %}][{{ nothing ~ 'x' }}]")
        #expect(try template.render(messages: [], addGenerationPrompt: false) == "[][0][no][False][][x]")
    }
}
