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

    static let document: (context: [String: ChatTemplateValue], cases: [Snippet]) = {
        struct Document: Decodable {
            let context: TypedValue
            let cases: [Snippet]
        }
        let url = Fixtures.root.appendingPathComponent("reference/jinja-snippets.json")
        guard let data = try? Data(contentsOf: url),
            let document = try? JSONDecoder().decode(Document.self, from: data)
        else { return ([:], []) }
        return (document.context.context, document.cases)
    }()
}

@Suite("Interpreter features match jinja2")
struct SnippetTests {
    @Test func snippetFileIsPresent() {
        #expect(Snippet.document.cases.count >= 60)
    }

    @Test(arguments: Snippet.document.cases)
    func rendersLikeJinja2(_ snippet: Snippet) throws {
        var context = Snippet.document.context
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
            #expect(rendered.unicodeScalars.elementsEqual(expected.unicodeScalars),
                "rendered \(rendered.debugDescription), jinja2 \(expected.debugDescription)")
        case (.failure(let error), _, let expected?):
            if expected.kind == "raised" {
                #expect(error.kind == .raised)
                #expect(error.message == expected.message)
            } else {
                #expect(error.kind == .runtime, "\(error) where jinja2 said: \(expected.message)")
            }
        case (.success(let rendered), nil, let expected):
            Issue.record("rendered \(rendered.debugDescription) where jinja2 failed: \(String(describing: expected))")
        case (.failure(let error), let expected, nil):
            Issue.record("failed with \(error) where jinja2 rendered \(String(describing: expected))")
        }
    }
}
