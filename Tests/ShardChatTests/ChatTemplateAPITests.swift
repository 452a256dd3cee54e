import Foundation
import Testing
import ShardChat

@Suite("ChatTemplate API")
struct ChatTemplateAPITests {
    let conversation = [
        ChatMessage(role: "system", content: "Be brief."),
        ChatMessage(role: "user", content: "Hello"),
    ]

    @Test func nowIsWhatStrftimeNowFormats() throws {
        let template = try ChatTemplate(source: try #require(ChatTemplate.builtin(for: .llama3)))
        let prompt = try template.render(messages: conversation, addGenerationPrompt: true,
            bosToken: "<|begin_of_text|>", now: Fixtures.fixedDate)
        #expect(prompt.contains("Today Date: 14 Mar 2025\n"))
        let later = try template.render(messages: conversation, addGenerationPrompt: true,
            now: Date(timeIntervalSince1970: 0))
        #expect(later.contains("Today Date: 01 Jan 1970\n"))
    }

    @Test func extraContextOverridesDefaults() throws {
        let template = try ChatTemplate(source: try #require(ChatTemplate.builtin(for: .llama3)))
        let prompt = try template.render(messages: conversation, addGenerationPrompt: false,
            extraContext: ["date_string": "01 Jan 2030"], now: Fixtures.fixedDate)
        #expect(prompt.contains("Today Date: 01 Jan 2030\n"))
        let overridden = try ChatTemplate(source: "{{ bos_token }}|{{ add_generation_prompt }}")
            .render(messages: [], addGenerationPrompt: false, bosToken: "<s>", extraContext: ["bos_token": "[B]"])
        #expect(overridden == "[B]|False")
    }

    @Test func objectsKeepTheirKeyOrderInToJSON() throws {
        let tools: ChatTemplateValue = [["name": "z_tool", "arguments": ["b": 1, "a": [true, nil, 1.5, "é\n"]]]]
        let template = try ChatTemplate(source: "{{ tools | tojson }}")
        #expect(try template.render(messages: [], addGenerationPrompt: false, extraContext: ["tools": tools])
            == #"[{"name": "z_tool", "arguments": {"b": 1, "a": [true, null, 1.5, "é\n"]}}]"#)
    }

    @Test func qwenListsToolsWhenGivenSome() throws {
        let template = try ChatTemplate(source: try Fixtures.template("qwen2.5-instruct.jinja"))
        let tools: ChatTemplateValue = [["type": "function", "function": ["name": "now"]]]
        let prompt = try template.render(messages: conversation, addGenerationPrompt: true,
            extraContext: ["tools": tools])
        #expect(prompt.hasPrefix("<|im_start|>system\nBe brief.\n\n# Tools\n"))
        #expect(prompt.contains(#"{"type": "function", "function": {"name": "now"}}"#))
        #expect(prompt.hasSuffix("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n"))
    }

    @Test func smolLM2AddsItsDefaultSystemPrompt() throws {
        let template = try ChatTemplate(source: try Fixtures.template("smollm2-135m-instruct.jinja"))
        #expect(template.family == .chatml)
        let prompt = try template.render(messages: [ChatMessage(role: "user", content: "Hi")],
            addGenerationPrompt: true)
        #expect(prompt == "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
            + "<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    }

    @Test func oneTemplateRendersConcurrently() async throws {
        let template = try ChatTemplate(source: try #require(ChatTemplate.builtin(for: .gemma)))
        let expected = try template.render(messages: [ChatMessage(role: "user", content: "0")],
            addGenerationPrompt: true, bosToken: "<bos>")
        let results = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for i in 0..<32 {
                group.addTask {
                    (i, try template.render(messages: [ChatMessage(role: "user", content: "\(i)")],
                        addGenerationPrompt: true, bosToken: "<bos>"))
                }
            }
            var all: [Int: String] = [:]
            for try await (i, prompt) in group { all[i] = prompt }
            return all
        }
        #expect(results.count == 32)
        #expect(results[0] == expected)
        #expect(results[31] == "<bos><start_of_turn>user\n31<end_of_turn>\n<start_of_turn>model\n")
    }

    @Test(arguments: [
        ("{{ '<|im_start|>' }}", ChatTemplateFamily.chatml),
        ("<|start_header_id|>", .llama3),
        ("<start_of_turn>", .gemma),
        ("[INST] x [/INST]", .mistral),
        ("[INST] <<SYS>> [/INST]", .llama2),
        ("{{ messages }}", .other),
    ])
    func familyComesFromTheTemplatesMarkers(_ source: String, _ family: ChatTemplateFamily) {
        #expect(ChatTemplateFamily(templateSource: source) == family)
    }

    @Test func errorsDescribeThemselves() {
        let error = ChatTemplateError(.syntax, "unexpected '}}'", at: SourceLocation(line: 3, column: 7))
        #expect(error.description == "chat template syntax error: unexpected '}}' (line 3, column 7)")
        #expect(ChatTemplateError(.raised, "no").description == "chat template raised error: no")
    }
}
