import Foundation
import Testing
import ShardChat

/// Long conversations render in time linear in their length (no quadratic copying of the message list).
@Suite("Chat template performance")
struct PerformanceTests {
    @Test(arguments: ["qwen3-0.6b.jinja", "llama-3.2-instruct.jinja", "mistral-nemo-instruct-2407.jinja"])
    func longConversationsRenderQuickly(_ file: String) throws {
        let template = try ChatTemplate(source: try Fixtures.template(file))
        func conversation(_ turns: Int) -> [ChatMessage] {
            (0..<turns).map {
                ChatMessage(role: $0 % 2 == 0 ? "user" : "assistant",
                    content: "message \($0) " + String(repeating: "x", count: 200))
            }
        }
        let clock = ContinuousClock()
        let small = try clock.measure {
            _ = try template.render(messages: conversation(250), addGenerationPrompt: true)
        }
        var prompt = ""
        let large = try clock.measure {
            prompt = try template.render(messages: conversation(2000), addGenerationPrompt: true)
        }
        #expect(prompt.contains("message 1999 "))
        #expect(large < .seconds(10), "\(file): 2000 turns took \(large)")
        // 8x the turns should cost about 8x the time; allow generous noise before calling it quadratic.
        #expect(large < small * 30, "\(file): 250 turns \(small), 2000 turns \(large)")
    }
}
