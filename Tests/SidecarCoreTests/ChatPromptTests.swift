import Foundation
import ShardEngine
import ShardProtocol
@testable import ShardSidecarCore
import ShardTestSupport
import ShardTokenizers
import Testing

/// Chat requests become exactly the prompt llama-cpp-python's chat completion builds from the model's own template
/// (rendered by jinja2, tokenized with special tokens and no added BOS), on every real and generated model.
@Suite("Chat prompts of real models")
struct ChatPromptTests {
    static let names = (try? GenerationReference.names()) ?? []

    static func resolver(_ reference: GenerationReference) throws -> PromptResolver {
        let bundle = try ModelBundle(modelPath: try RealModels.path(for: reference))
        return ModelService(bundle: bundle, path: bundle.gguf.mapping.path).resolver
    }

    @Test(arguments: names)
    func messagesRenderAndTokenizeAsLlamaCppChatCompletion(_ name: String) throws {
        let reference = try GenerationReference.load(name)
        let resolver = try Self.resolver(reference)
        let chatCases = reference.cases.filter { $0.kind == .chat }
        #expect(!chatCases.isEmpty == (reference.chatTemplate != nil))
        guard case let .available(renderer) = resolver.chat else {
            Issue.record("\(name): no chat template")
            return
        }
        for item in chatCases {
            let messages = (item.messages ?? []).map { ChatMessage(role: $0.role, content: $0.content) }
            #expect(try renderer.render(messages) == item.prompt, "\(name) \(item.name)")
            let request = GenerationRequest(messages: messages)
            #expect(try resolver.resolve(request) == item.promptTokenIds, "\(name) \(item.name)")
        }
        if let completion = reference.chatCompletion {
            let messages = completion.messages.map { ChatMessage(role: $0.role, content: $0.content) }
            #expect(try resolver.resolve(GenerationRequest(messages: messages)) == completion.promptTokenIds)
        }
    }

    @Test func aConversationTheTemplateRejectsIsA400NamingMessages() throws {
        let resolver = try Self.resolver(try GenerationReference.load("gemma3-270m-q4_k_m"))
        // Gemma's template requires user and assistant turns to alternate.
        let request = GenerationRequest(messages: [.user("a"), .user("b")])
        do {
            _ = try resolver.resolve(request)
            Issue.record("two user turns in a row were accepted")
        } catch {
            #expect(error.status == 400)
            #expect(error.field == "messages")
            #expect(error.message.contains("alternate"), "\(error.message)")
        }
    }

    @Test func aModelWithoutATemplateSaysSo() throws {
        let resolver = PromptResolver(tokenizer: UTF8ByteTokenizer(), addsBOS: false, contextLength: 64)
        #expect(throws: ProtocolError.self) { try resolver.resolve(GenerationRequest(messages: [.user("hi")])) }
    }
}
