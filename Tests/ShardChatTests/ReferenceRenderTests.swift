import Foundation
import Testing
import ShardChat

/// ShardChat renders every reference conversation exactly as jinja2 did (or fails where jinja2 failed).
@Suite("Chat templates match jinja2")
struct ReferenceRenderTests {
    @Test func referenceFileIsPresent() {
        #expect(Fixtures.referenceCases.count >= 100)
        #expect(Fixtures.referenceCases.contains { $0.error != nil })
    }

    @Test(arguments: Fixtures.referenceCases)
    func rendersLikeJinja2(_ reference: ReferenceCase) throws {
        let template = try ChatTemplate(source: try Fixtures.template(reference.template))
        let result = Result { () throws(ChatTemplateError) -> String in
            try template.render(
                messages: reference.chatMessages, addGenerationPrompt: reference.add_generation_prompt,
                bosToken: reference.bos_token, eosToken: reference.eos_token,
                extraContext: reference.extra.context, now: Fixtures.fixedDate)
        }
        switch (result, reference.expected, reference.error) {
        case (.success(let rendered), let expected?, _):
            #expect(rendered == expected)
            #expect(rendered.unicodeScalars.elementsEqual(expected.unicodeScalars))
        case (.failure(let error), _, let expected?):
            if expected.kind == "raised" {
                #expect(error.kind == .raised)
                #expect(error.message == expected.message)
            } else {
                #expect(error.kind == .runtime, "jinja2 said: \(expected.message)")
            }
        case (.success(let rendered), nil, let expected):
            Issue.record("rendered \(rendered.debugDescription) where jinja2 failed: \(String(describing: expected))")
        case (.failure(let error), let expected, nil):
            Issue.record("failed with \(error) where jinja2 rendered \(String(describing: expected))")
        }
    }

    @Test func everyFixtureTemplateIsClassified() throws {
        let expected: [String: ChatTemplateFamily] = [
            "smollm2-135m-instruct.jinja": .chatml, "qwen2.5-instruct.jinja": .chatml, "chatml.jinja": .chatml,
            "llama-3.2-instruct.jinja": .llama3, "gemma-3-it.jinja": .gemma,
            "mistral-7b-instruct-v0.1.jinja": .mistral, "llama-2-chat.jinja": .llama2,
            "qwen3-0.6b.jinja": .chatml, "mistral-nemo-instruct-2407.jinja": .mistral,
            "phi-3.5-mini-instruct.jinja": .other,
        ]
        for (file, family) in expected {
            #expect(try ChatTemplate(source: Fixtures.template(file)).family == family, "\(file)")
        }
        #expect(ChatTemplateFamily(templateSource: "{{ messages[0].content }}") == .other)
    }

    @Test func builtinTextsAreTheFixtureTexts() throws {
        let files: [ChatTemplateFamily: String] = [
            .chatml: "chatml.jinja", .llama3: "llama-3.2-instruct.jinja", .gemma: "gemma-3-it.jinja",
            .mistral: "mistral-7b-instruct-v0.1.jinja", .llama2: "llama-2-chat.jinja",
        ]
        for family in ChatTemplateFamily.allCases {
            guard let file = files[family] else {
                #expect(ChatTemplate.builtin(for: family) == nil)
                continue
            }
            let builtin = try #require(ChatTemplate.builtin(for: family))
            #expect(builtin.unicodeScalars.elementsEqual(try Fixtures.template(file).unicodeScalars), "\(family)")
            #expect(try ChatTemplate(source: builtin).family == family)
        }
    }

    /// Gemma 3 270M's GGUF has no template; the built-in one renders the documented Gemma 3 prompt.
    @Test func builtinGemmaRendersTheGemmaPrompt() throws {
        let template = try ChatTemplate(source: try #require(ChatTemplate.builtin(for: .gemma)))
        let prompt = try template.render(
            messages: [ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hi")],
            addGenerationPrompt: true, bosToken: "<bos>", eosToken: "<eos>")
        #expect(prompt == "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n")
    }
}
