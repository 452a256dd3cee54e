import Foundation
import Testing
import ShardChat

/// One small template from `Fixtures/reference/jinja-snippets.json`, each exercising one interpreter feature,
/// with what jinja2 rendered (or the error it raised).
struct Snippet: Decodable, CustomTestStringConvertible {
    struct ExpectedError: Decodable {
        let kind: String
        let message: String
    }

    let template: String
    let expected: String?
    let error: ExpectedError?

    var testDescription: String { template.debugDescription }

    /// `Fixtures/reference/jinja-snippets.json`: hand-written, one feature each.
    static let document = load("jinja-snippets.json")
    /// `Fixtures/reference/jinja-fuzz.json`: random templates from `scripts/reference/make_jinja_fuzz.py`.
    static let fuzz = load("jinja-fuzz.json")

    private static func load(_ file: String) -> (context: [String: ChatTemplateValue], cases: [Snippet]) {
        struct Document: Decodable {
            let context: TypedValue
            let cases: [Snippet]
        }
        let url = Fixtures.root.appendingPathComponent("reference/\(file)")
        guard let data = try? Data(contentsOf: url),
            let document = try? JSONDecoder().decode(Document.self, from: data)
        else { return ([:], []) }
        return (document.context.context, document.cases)
    }
}

@Suite("Interpreter features match jinja2")
struct SnippetTests {
    @Test func snippetFilesArePresent() {
        #expect(Snippet.document.cases.count >= 60)
        #expect(Snippet.fuzz.cases.count >= 900)
    }

    @Test(arguments: Snippet.document.cases)
    func rendersLikeJinja2(_ snippet: Snippet) throws {
        try check(snippet, context: Snippet.document.context)
    }

    /// A thousand random templates; one failure here names the template, so it can join the snippets.
    @Test func randomTemplatesRenderLikeJinja2() throws {
        for snippet in Snippet.fuzz.cases { try check(snippet, context: Snippet.fuzz.context) }
    }

    private func check(_ snippet: Snippet, context: [String: ChatTemplateValue]) throws {
        var context = context
        let messages: [ChatMessage]
        if case .array(let items)? = context.removeValue(forKey: "messages") {
            messages = items.compactMap { item in
                guard case .object(let members) = item,
                    case .string(let role)? = members.first(where: { $0.key == "role" })?.value,
                    case .string(let content)? = members.first(where: { $0.key == "content" })?.value
                else { return nil }
                return ChatMessage(role: role, content: content)
            }
        } else {
            messages = []
        }
        let result = Result { () throws(ChatTemplateError) -> String in
            let template = try ChatTemplate(source: snippet.template)
            return try template.render(messages: messages, addGenerationPrompt: false, extraContext: context,
                now: Fixtures.fixedDate)
        }
        switch (result, snippet.expected, snippet.error) {
        case (.success(let rendered), let expected?, _):
            let message = "\(snippet.template.debugDescription) rendered \(rendered.debugDescription), "
                + "jinja2 \(expected.debugDescription)"
            #expect(rendered.unicodeScalars.elementsEqual(expected.unicodeScalars), Comment(rawValue: message))
        case (.failure(let error), _, let expected?):
            if expected.kind == "raised" {
                #expect(error.kind == .raised)
                #expect(error.message == expected.message)
            } else {
                #expect(error.kind == .runtime,
                    "\(snippet.template.debugDescription): \(error) where jinja2 said: \(expected.message)")
            }
        case (.success(let rendered), nil, let expected):
            let message = "\(snippet.template.debugDescription) rendered \(rendered.debugDescription) where jinja2 "
                + "failed: \(String(describing: expected))"
            Issue.record(Comment(rawValue: message))
        case (.failure(let error), let expected, nil):
            let message = "\(snippet.template.debugDescription) failed with \(error) where jinja2 rendered "
                + "\(String(describing: expected))"
            Issue.record(Comment(rawValue: message))
        }
    }
}
