import Foundation
import ShardEngine
import ShardTestSupport
import ShardTokenizers
import Testing

/// The prompts of llama.cpp's generation references (`Fixtures/reference/generation-*.json`: every SmolLM2
/// quantization, Gemma 3 and the synthetic Llama 3 / Qwen 2 models), including chat prompts rendered with special
/// tokens, tokenize to llama.cpp's ids with the vocabulary embedded in each model.
@Suite("Generation references: prompt tokenization and end-of-generation ids")
struct GenerationReferenceTokenizationTests {
    @Test(arguments: try GenerationReference.names())
    func promptsTokenizeAsLlamaCpp(_ name: String) throws {
        let reference = try GenerationReference.load(name)
        // Only the vocabulary matters here, so the file is not checked against the reference's SHA-256 (the engine
        // tests do that); a missing file still fails, naming the command that makes it.
        let tokenizer = try ModelBundle.embeddedTokenizer(of: GGUFFile(path: RealModels.path(reference.model)))
        #expect(tokenizer.vocabulary.addBOS == reference.addBos)
        #expect(tokenizer.bosTokenID == reference.bosTokenId)
        #expect(tokenizer.endOfGenerationIDs == Set(reference.eogTokenIds))
        // Plain prompts get BOS as the model says; rendered chat prompts carry their own (llama-cpp-python's chat
        // handler tokenizes them without adding BOS). Special-token text is parsed in both.
        var prompts = reference.cases.map { ($0.prompt, $0.promptTokenIds, $0.kind != .chat) }
        if let chat = reference.chatCompletion { prompts.append((chat.prompt, chat.promptTokenIds, false)) }
        for (prompt, ids, addBOS) in prompts {
            #expect(tokenizer.encode(prompt, addBOS: addBOS) == ids, "\(name): \(prompt.debugDescription)")
        }
    }
}
