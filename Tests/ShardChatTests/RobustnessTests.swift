import Foundation
import Testing
import ShardChat

/// Broken templates (every fixture cut short at many points, or with a character dropped) parse or fail with a
/// typed error; none crashes or hangs the renderer.
@Suite("Chat template robustness")
struct RobustnessTests {
    static let fixtureNames = [
        "qwen3-0.6b.jinja", "llama-3.2-instruct.jinja", "gemma-3-it.jinja", "mistral-nemo-instruct-2407.jinja",
        "llama-2-chat.jinja",
    ]

    let conversation = [
        ChatMessage(role: "system", content: "s"), ChatMessage(role: "user", content: "u"),
        ChatMessage(role: "assistant", content: "<think>r</think>a"), ChatMessage(role: "user", content: "v"),
    ]

    private func exercise(_ source: String) -> Bool {
        do {
            let template = try ChatTemplate(source: source)
            _ = try template.render(messages: conversation, addGenerationPrompt: true, bosToken: "<s>",
                extraContext: ["tools": [["type": "function", "function": ["name": "f"]]]])
            return true
        } catch {
            #expect(!error.message.isEmpty)
            return false
        }
    }

    @Test(arguments: fixtureNames)
    func truncatedTemplatesFailCleanly(_ name: String) throws {
        let scalars = Array(try Fixtures.template(name).unicodeScalars)
        var failures = 0
        for end in stride(from: 0, to: scalars.count, by: 5) {
            if !exercise(text(scalars[..<end])) { failures += 1 }
        }
        #expect(failures > 0)
    }

    @Test(arguments: fixtureNames)
    func templatesMissingOneCharacterFailCleanly(_ name: String) throws {
        let scalars = Array(try Fixtures.template(name).unicodeScalars)
        for index in stride(from: 0, to: scalars.count, by: 11) {
            var mutated = scalars
            mutated.remove(at: index)
            _ = exercise(text(mutated))
        }
    }
}

private func text(_ scalars: some Sequence<Unicode.Scalar>) -> String {
    var view = String.UnicodeScalarView()
    view.append(contentsOf: scalars)
    return String(view)
}
